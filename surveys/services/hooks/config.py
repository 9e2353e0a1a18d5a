"""A form's REST services: create, change, delete (the asset's owner or a data manager; see
:mod:`surveys.selectors.hooks`), and sending a failed delivery again. Bad input is an
:class:`~mtm.errors.InvalidInput` naming its field and changes nothing."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson
from django.db import IntegrityError, transaction
from django.utils import timezone

from mtm.errors import InvalidInput
from surveys.models import HookDelivery, HookLog, RestHook
from surveys.selectors.hooks import ensure_hook_manager, hook_of
from surveys.selectors.kobo.assets import Asset
from surveys.services.hooks.addresses import endpoint_checked
from surveys.services.hooks.sealing import HookSecrets, secrets_open, secrets_seal

if TYPE_CHECKING:
    from enumerators.models import AnyUser

#: What stands for the record in a payload template.
SUBMISSION_PLACEHOLDER = "%SUBMISSION%"
#: Headers the server writes itself: a custom header may not replace them.
RESERVED_HEADERS = frozenset({"host", "content-type", "content-length", "authorization", "x-mtm-signature-256",
                              "x-mtm-delivery", "x-mtm-attempt", "transfer-encoding", "connection", "user-agent"})
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$")
MIN_SECRET = 16


@dataclass(frozen=True)
class HookInput:
    """What a request sets; ``None`` leaves a field as it is (a PATCH)."""

    name: str | None = None
    endpoint: str | None = None
    active: bool | None = None
    export_type: str | None = None
    auth_level: str | None = None
    username: str | None = None
    password: str | None = None
    custom_headers: dict[str, str] | None = None
    secret: str | None = None
    subset_fields: list[str] | None = None
    email_notification: bool | None = None
    payload_template: str | None = None
    given: frozenset[str] = field(default_factory=frozenset)


@transaction.atomic
def hook_create(*, user: AnyUser, asset: Asset, data: HookInput) -> RestHook:
    ensure_hook_manager(user=user, asset=asset)
    if data.name is None:
        raise InvalidInput("This field is required.", field="name")
    if data.endpoint is None:
        raise InvalidInput("This field is required.", field="endpoint")
    hook = RestHook(form_id=asset.form_id, created_by=user if user.is_authenticated else None)
    return _saved(hook, data, {})


@transaction.atomic
def hook_update(*, user: AnyUser, asset: Asset, uid: str, data: HookInput) -> RestHook:
    found = hook_of(user=user, asset=asset, uid=uid)
    hook = RestHook.objects.select_for_update().get(pk=found.pk)
    return _saved(hook, data, secrets_open(hook.sealed))


def hook_delete(*, user: AnyUser, asset: Asset, uid: str) -> None:
    """Delete the hook with its deliveries and logs."""
    hook_of(user=user, asset=asset, uid=uid).delete()


def _saved(hook: RestHook, data: HookInput, kept: HookSecrets) -> RestHook:
    if data.name is not None:
        name = data.name.strip()
        if not name:
            raise InvalidInput("This field may not be blank.", field="name")
        if len(name) > 255:
            raise InvalidInput("At most 255 characters.", field="name")
        hook.name = name
    if data.endpoint is not None:
        hook.endpoint = endpoint_checked(data.endpoint)
    if data.active is not None:
        hook.active = data.active
    if data.export_type is not None:
        if data.export_type not in RestHook.ExportType.values:
            raise InvalidInput(f'"{data.export_type}" is not a valid choice (json, xml).', field="export_type")
        hook.export_type = data.export_type
    if data.auth_level is not None:
        if data.auth_level not in RestHook.AuthLevel.values:
            raise InvalidInput(f'"{data.auth_level}" is not a valid choice (no_auth, basic_auth).',
                               field="auth_level")
        hook.auth_level = data.auth_level
    if data.email_notification is not None:
        hook.email_notification = data.email_notification
    if data.subset_fields is not None:
        hook.subset_fields = _subset(data.subset_fields)
    if data.payload_template is not None:
        hook.payload_template = _template(data.payload_template)
    if hook.payload_template and hook.export_type != RestHook.ExportType.JSON:
        raise InvalidInput("A payload template applies to JSON only.", field="payload_template")
    settings = dict(hook.settings or {})
    secrets: HookSecrets = {**kept}
    if data.username is not None:
        settings["username"] = data.username.strip()
    if data.custom_headers is not None:
        settings["custom_headers"] = _headers(data.custom_headers)
    if data.password is not None:
        secrets["password"] = data.password
    if data.secret is not None:
        if data.secret and len(data.secret) < MIN_SECRET:
            raise InvalidInput(f"At least {MIN_SECRET} characters (or empty: no signature).", field="secret")
        secrets["secret"] = data.secret
    if hook.auth_level == RestHook.AuthLevel.BASIC_AUTH:
        if not settings.get("username"):
            raise InvalidInput("Basic authorization needs a username.", field="settings")
    else:
        settings.pop("username", None)
        secrets.pop("password", None)
    settings.setdefault("custom_headers", {})
    hook.settings = settings
    hook.sealed = secrets_seal(secrets)
    try:
        with transaction.atomic():
            hook.save()
    except IntegrityError:
        raise InvalidInput(f"A REST service named '{hook.name}' already exists for this asset.",
                           field="name") from None
    return hook


def _subset(values: list[str]) -> list[str]:
    out: list[str] = []
    for value in values:
        value = value.strip().strip("/")
        if not value or len(value) > 255:
            raise InvalidInput("Each field is a question's name or group path (1 to 255 characters).",
                               field="subset_fields")
        if value not in out:
            out.append(value)
    return out


def _template(text: str) -> str:
    if not text.strip():
        return ""
    if SUBMISSION_PLACEHOLDER not in text:
        raise InvalidInput(f"The template must contain {SUBMISSION_PLACEHOLDER}.", field="payload_template")
    try:
        orjson.loads(text.replace(SUBMISSION_PLACEHOLDER, "{}"))
    except orjson.JSONDecodeError:
        raise InvalidInput(f"The template must be JSON once {SUBMISSION_PLACEHOLDER} is replaced by the record.",
                           field="payload_template") from None
    return text


def _headers(headers: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in headers.items():
        if not _TOKEN.match(name):
            raise InvalidInput(f"'{name[:100]}' is not a header name.", field="settings")
        if name.lower() in RESERVED_HEADERS:
            raise InvalidInput(f"The server sets '{name}' itself.", field="settings")
        if not isinstance(value, str) or len(value) > 2000 or any(c in value for c in "\r\n\x00"):
            raise InvalidInput(f"The value of '{name}' must be one line of text.", field="settings")
        out[name] = value
    return out


@transaction.atomic
def hook_log_retry(*, user: AnyUser, asset: Asset, hook_uid: str, log_uid: str) -> HookDelivery:
    """Send the delivery of a failed log again (KoboToolbox's ``…/logs/<uid>/retry/``): back to pending
    with the retry schedule started again, enqueued on commit. A delivery not failed is refused (400)."""
    from surveys.selectors.hooks import hook_log

    hook = hook_of(user=user, asset=asset, uid=hook_uid)
    log: HookLog = hook_log(hook=hook, uid=log_uid)
    if not hook.active:
        raise InvalidInput("This REST service is not active: activate it first.")
    sent = deliveries_retry(delivery_ids=[log.delivery_id])
    if not sent:
        raise InvalidInput("Only a failed delivery can be sent again.")
    return HookDelivery.objects.get(pk=log.delivery_id)


@transaction.atomic
def deliveries_retry(*, delivery_ids: list[int]) -> int:
    """Failed deliveries of active hooks back to pending, each enqueued once the transaction commits;
    the others are left alone. How many; running it twice sends none again."""
    failed = list(HookDelivery.objects.select_for_update(of=("self",))
                  .filter(pk__in=sorted(set(delivery_ids)), status=HookDelivery.Status.FAILED, hook__active=True)
                  .order_by("pk").values_list("pk", flat=True))
    if failed:
        HookDelivery.objects.filter(pk__in=failed).update(
            status=HookDelivery.Status.PENDING, round_tries=0, next_attempt_at=timezone.now(), lease_until=None,
            date_modified=timezone.now())
        from surveys.services.hooks.delivery import enqueue_on_commit

        enqueue_on_commit(failed)
    return len(failed)
