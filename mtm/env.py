"""The one place that reads the process environment.

Settings modules import :data:`ENV`; nothing else in the code base reads
``os.environ``. Reading is pure (no I/O beyond the environment itself).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _optional_bool(value: str | None) -> bool | None:
    return None if value is None or value.strip() == "" else _bool(value, default=False)


def _list(value: str | None, default: list[str]) -> list[str]:
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


#: What a submission's request may carry beyond MTM_MAX_SUBMISSION_BYTES (the multipart envelope and the
#: XML on top of the files Collect keeps within the advertised size): the server's limit and nginx's.
MULTIPART_ALLOWANCE = 1024 * 1024


@dataclass(frozen=True)
class Env:
    debug: bool
    secret_key: str
    allowed_hosts: list[str]
    database_url: str | None
    redis_url: str | None
    data_dir: Path
    celery_queue: str
    openrosa_realm: str
    #: MTM_OPENROSA_DIGEST; None when unset (on by default, off by default in production).
    openrosa_digest: bool | None
    max_submission_bytes: int
    raw_key: str
    pseudonym_key: str
    digest_key: str
    trusted_proxies: int
    #: MTM_CACHE_PREFIX: the cache's key prefix, so that instances sharing a Redis keep apart.
    cache_prefix: str
    #: MTM_SWEEP_SECONDS: how often the worker's beat looks for submissions left unprocessed.
    sweep_seconds: float
    #: MTM_SWEEP_GRACE_SECONDS: how old an unprocessed submission must be before the sweep sends it again.
    sweep_grace_seconds: int
    #: Django's ``STORAGES["default"]`` (attachments, form media, exports): the data folder, or with
    #: MTM_S3_BUCKET an S3-compatible bucket through django-storages (every web process and worker, on
    #: any host, reads the same files).
    default_storage: dict[str, Any]
    #: MTM_PROCESS_BATCH: how many waiting submissions a worker processes in one transaction (at most).
    process_batch: int
    #: MTM_HOOK_KEY: the Fernet key that seals REST services' passwords and signing secrets.
    hook_key: str
    #: MTM_HOOK_RETRY_DELAYS: seconds before each retry of a failed delivery (then it is failed).
    hook_retry_delays: tuple[int, ...]
    #: MTM_HOOK_TIMEOUT_SECONDS: how long one delivery waits for the receiver.
    hook_timeout_seconds: float
    #: MTM_HOOK_PRIVATE_ADDRESSES: whether endpoints may be private (LAN) or loopback addresses; None = default.
    hook_private_addresses: bool | None
    #: MTM_EMAIL_HOST (and _PORT, _USER, _PASSWORD, _TLS, _FROM): the mail server for the reports sent by
    #: e-mail (REST services' failures); None: messages are written to the log's console instead.
    email_host: str | None
    email_port: int
    email_user: str
    email_password: str
    email_tls: bool
    email_from: str
    #: The language of the shell a management command runs in (``ru`` from ``LANG=ru_RU.UTF-8``), "" if none.
    shell_language: str

    @property
    def max_request_bytes(self) -> int:
        """The largest submission request the server reads (and nginx passes on)."""
        return self.max_submission_bytes + MULTIPART_ALLOWANCE

    @property
    def uses_services(self) -> bool:
        """True when a real broker is configured (tasks go to Celery workers)."""
        return bool(self.redis_url)


def read_env(environ: Mapping[str, str] | None = None) -> Env:
    e = os.environ if environ is None else environ
    data_dir = Path(e.get("MTM_DATA_DIR") or BASE_DIR / "var")
    return Env(
        debug=_bool(e.get("DJANGO_DEBUG"), default=False),
        secret_key=e.get("DJANGO_SECRET_KEY", ""),
        allowed_hosts=_list(e.get("DJANGO_ALLOWED_HOSTS"), ["127.0.0.1", "localhost"]),
        database_url=e.get("DATABASE_URL") or None,
        redis_url=e.get("REDIS_URL") or None,
        data_dir=data_dir,
        celery_queue=e.get("MTM_CELERY_QUEUE") or "mtm",
        openrosa_realm=e.get("MTM_OPENROSA_REALM") or "MTM Collect",
        openrosa_digest=_optional_bool(e.get("MTM_OPENROSA_DIGEST")),
        max_submission_bytes=int(e.get("MTM_MAX_SUBMISSION_BYTES") or 10 * 1024 * 1024),
        raw_key=e.get("MTM_RAW_KEY", ""),
        pseudonym_key=e.get("MTM_PSEUDONYM_KEY", ""),
        digest_key=e.get("MTM_DIGEST_KEY", ""),
        trusted_proxies=int(e.get("MTM_TRUSTED_PROXIES") or 0),
        cache_prefix=e.get("MTM_CACHE_PREFIX") or "mtm",
        sweep_seconds=float(e.get("MTM_SWEEP_SECONDS") or 300),
        sweep_grace_seconds=int(e.get("MTM_SWEEP_GRACE_SECONDS") or 60),
        process_batch=max(1, int(e.get("MTM_PROCESS_BATCH") or 200)),
        default_storage=_default_storage(e),
        hook_key=e.get("MTM_HOOK_KEY", ""),
        hook_retry_delays=tuple(int(float(v)) for v in _list(e.get("MTM_HOOK_RETRY_DELAYS"), ["60", "600", "7200"])),
        hook_timeout_seconds=float(e.get("MTM_HOOK_TIMEOUT_SECONDS") or 10),
        hook_private_addresses=_optional_bool(e.get("MTM_HOOK_PRIVATE_ADDRESSES")),
        email_host=e.get("MTM_EMAIL_HOST") or None,
        email_port=int(e.get("MTM_EMAIL_PORT") or 25),
        email_user=e.get("MTM_EMAIL_USER", ""),
        email_password=e.get("MTM_EMAIL_PASSWORD", ""),
        email_tls=_bool(e.get("MTM_EMAIL_TLS"), default=False),
        email_from=e.get("MTM_EMAIL_FROM") or "MTM Collect <mtm-collect@localhost>",
        shell_language=_posix_language(e),
    )


def _default_storage(e: Mapping[str, str]) -> dict[str, Any]:
    """The files' storage: the data folder by default; an S3-compatible bucket (AWS S3, MinIO, Ceph, Yandex
    Object Storage…) with MTM_S3_BUCKET, through django-storages' ``S3Storage``: MTM_S3_ENDPOINT_URL,
    MTM_S3_REGION, MTM_S3_ACCESS_KEY_ID, MTM_S3_SECRET_ACCESS_KEY (or the host's AWS credentials),
    MTM_S3_PREFIX (a folder in the bucket), MTM_S3_ADDRESSING_STYLE (``path`` for most self-hosted
    servers). Files are private (no ACL) and never overwritten; links are signed."""
    bucket = e.get("MTM_S3_BUCKET", "")
    if not bucket:
        return {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    options: dict[str, Any] = {"bucket_name": bucket, "default_acl": None, "file_overwrite": False,
                               "querystring_auth": True, "signature_version": "s3v4",
                               "location": e.get("MTM_S3_PREFIX", "").strip("/")}
    for option, name in (("endpoint_url", "MTM_S3_ENDPOINT_URL"), ("region_name", "MTM_S3_REGION"),
                         ("access_key", "MTM_S3_ACCESS_KEY_ID"), ("secret_key", "MTM_S3_SECRET_ACCESS_KEY"),
                         ("addressing_style", "MTM_S3_ADDRESSING_STYLE")):
        if e.get(name):
            options[option] = e[name]
    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}


def _posix_language(e: Mapping[str, str]) -> str:
    """The language of the POSIX locale as gettext reads it (``LC_ALL``, then ``LC_MESSAGES``, then
    ``LANG``): ``ru_RU.UTF-8`` is ``ru``; ``C``, ``POSIX`` or nothing is ""."""
    value = next((e[name] for name in ("LC_ALL", "LC_MESSAGES", "LANG") if e.get(name)), "")
    code = value.split(".")[0].split("@")[0].split("_")[0].lower()
    return "" if code in ("", "c", "posix") else code


ENV = read_env()
