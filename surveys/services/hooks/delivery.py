"""Delivering processed interviews to a form's REST services.

- :func:`deliveries_plan`, in processing's transaction: one pending :class:`HookDelivery` per active hook
  and submission version (a database constraint: never two), enqueued once the transaction commits on the
  hooks' own queue, so that processing never waits for a receiver.
- :func:`delivery_run`, the task's work: claim the delivery (a lease keeps a second worker off), read the
  released record (:func:`surveys.selectors.kobo.records.record_released`: never an identifier, never a raw
  answer), have the interface render it (JSON or XML, the field subset, the template), POST it outside any
  transaction with a timeout, and log the attempt. A failure is tried again after each of
  ``MTM_HOOK_RETRY_DELAYS``, then the delivery is failed (a manual retry starts the schedule again).

Delivery is at least once: a receiver that answered after the timeout, or a worker that died after the
POST, may see the same record twice; ``X-MTM-Delivery`` (the delivery's uid) lets it drop the second."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from surveys.models import HookDelivery, HookLog, RestHook, Submission
from surveys.selectors.hooks import active_hook_ids, deliveries_due
from surveys.selectors.kobo.assets import Asset, asset_of_form
from surveys.selectors.kobo.records import RecordPage, record_released
from surveys.services.hooks.addresses import endpoint_refusal
from surveys.services.hooks.sealing import secrets_open

log = logging.getLogger(__name__)

#: How much of the receiver's answer (or of the error) a log keeps.
MESSAGE_CHARS = 500
#: Receivers' refusals that sending the same body again cannot change: failed at once.
FINAL_CODES = frozenset(range(400, 500)) - {408, 409, 423, 425, 429}
USER_AGENT = "MTM Collect REST service"


@dataclass(frozen=True)
class Payload:
    body: bytes
    content_type: str


#: The interface's rendering of a released record for a hook (JSON or XML, subset, template);
#: None when the record has nothing to send.
Render = Callable[[RestHook, Asset, RecordPage], Payload | None]


@dataclass(frozen=True)
class Attempt:
    ok: bool
    status_code: int | None
    message: str
    final: bool = False


@dataclass(frozen=True)
class DeliveryOutcome:
    delivery_id: int
    status: str
    attempted: bool


def deliveries_plan(*, submission: Submission, hook_ids: list[int] | None = None) -> list[int]:
    """One pending delivery of ``submission`` per active hook of its form that has none yet, enqueued on
    commit; the ids planned now. Only a processed record is sent. Running it twice plans nothing more.
    ``hook_ids``: the form's active hooks when the caller (a batch) has read them already."""
    if submission.processing != Submission.Processing.PROCESSED or submission.answers is None:
        return []
    if hook_ids is None:
        hook_ids = active_hook_ids(form_id=submission.form_id)
    if not hook_ids:
        return []
    known = set(HookDelivery.objects.filter(submission=submission).values_list("hook_id", flat=True))
    wanted = [pk for pk in hook_ids if pk not in known]
    if not wanted:
        return []
    now = timezone.now()
    HookDelivery.objects.bulk_create([HookDelivery(hook_id=pk, submission=submission, next_attempt_at=now)
                                      for pk in wanted], ignore_conflicts=True)  # the constraint: once
    ids = list(HookDelivery.objects.filter(submission=submission, hook_id__in=wanted, tries=0)
               .values_list("id", flat=True))
    enqueue_on_commit(ids)
    return ids


def enqueue_on_commit(delivery_ids: list[int], countdown: float = 0) -> None:
    from surveys.tasks import hook_delivery_enqueue

    def send() -> None:
        for pk in delivery_ids:
            hook_delivery_enqueue(pk, countdown=countdown)

    transaction.on_commit(send, robust=True)


@transaction.atomic
def deliveries_resend_due(*, overdue: timedelta, limit: int = 10_000) -> list[int]:
    """Pending deliveries overdue by ``overdue`` that no worker holds (their message was lost: the broker was
    down, a worker died), due again now: the sweep enqueues them. Their due time moves to now, so that a
    long backlog still waiting in the queue is sent again at most once per ``overdue``."""
    now = timezone.now()
    ids = deliveries_due(before=now - overdue, limit=limit)
    HookDelivery.objects.filter(pk__in=ids).update(next_attempt_at=now)
    return ids


def delivery_run(*, delivery_id: int, render: Render) -> DeliveryOutcome:
    """One attempt of a pending delivery (see the module). Idempotent: a delivery that succeeded or
    failed, that another worker holds, or whose retry is not yet due, is left alone."""
    claimed = _claim(delivery_id)
    if claimed is None:
        status = HookDelivery.objects.filter(pk=delivery_id).values_list("status", flat=True).first()
        return DeliveryOutcome(delivery_id, "missing" if status is None else HookDelivery.Status(status).name.lower(),
                               attempted=False)
    delivery, hook = claimed
    if not hook.active:
        attempt = Attempt(False, None, "The REST service is not active.", final=True)
    else:
        attempt = _attempt(delivery, hook, render)
    status = _record(delivery.pk, attempt)
    return DeliveryOutcome(delivery_id, HookDelivery.Status(status).name.lower(), attempted=True)


def _claim(delivery_id: int) -> tuple[HookDelivery, RestHook] | None:
    now = timezone.now()
    lease = now + timedelta(seconds=settings.MTM_HOOK_TIMEOUT_SECONDS + 60)
    with transaction.atomic():
        delivery = (HookDelivery.objects.select_for_update(of=("self",)).select_related("hook")
                    .filter(pk=delivery_id, status=HookDelivery.Status.PENDING).first())
        if delivery is None or (delivery.lease_until and delivery.lease_until > now):
            return None
        if delivery.next_attempt_at and delivery.next_attempt_at > now + timedelta(seconds=1):
            return None  # not due yet (the sweep or a duplicate message): its own task comes later
        delivery.lease_until = lease
        delivery.save(update_fields=["lease_until"])
    return delivery, delivery.hook


def _attempt(delivery: HookDelivery, hook: RestHook, render: Render) -> Attempt:
    asset = asset_of_form(form_id=hook.form_id)
    page = record_released(asset=asset, submission_id=delivery.submission_id) if asset else None
    payload = render(hook, asset, page) if asset and page else None
    if payload is None:
        return Attempt(False, None, "The interview has no released record to send.", final=True)
    return post(hook=hook, payload=payload, delivery_uid=delivery.uid, attempt=delivery.tries + 1)


def signature(secret: str, body: bytes) -> str:
    """The ``X-MTM-Signature-256`` header: ``sha256=`` and the hex HMAC-SHA256 of the body with the secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # a 3xx is the receiver's answer, not a new address to post to


_OPENER = urllib.request.build_opener(_NoRedirect)


def post(*, hook: RestHook, payload: Payload, delivery_uid: str, attempt: int) -> Attempt:
    """POST ``payload`` to the hook's endpoint; its answer as an :class:`Attempt` (never raises)."""
    parts = urlsplit(hook.endpoint)
    if parts.scheme not in ("http", "https"):
        return Attempt(False, None, "The endpoint must be an http:// or https:// URL.", final=True)
    refusal = endpoint_refusal(parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))
    if refusal:
        return Attempt(False, None, refusal)
    secrets = secrets_open(hook.sealed)
    headers = {**(hook.settings or {}).get("custom_headers", {}), "Content-Type": payload.content_type,
               "User-Agent": USER_AGENT, "X-MTM-Delivery": delivery_uid, "X-MTM-Attempt": str(attempt)}
    if secrets.get("secret"):
        headers["X-MTM-Signature-256"] = signature(secrets["secret"], payload.body)
    if hook.auth_level == RestHook.AuthLevel.BASIC_AUTH:
        pair = f"{(hook.settings or {}).get('username', '')}:{secrets.get('password', '')}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
    request = urllib.request.Request(hook.endpoint, data=payload.body, headers=headers,  # noqa: S310 - http(s) only
                                     method="POST")
    try:
        with _OPENER.open(request, timeout=settings.MTM_HOOK_TIMEOUT_SECONDS) as response:
            code, text = response.status, response.read(MESSAGE_CHARS * 4)
    except urllib.error.HTTPError as err:
        code, text = err.code, _read(err)
    except (OSError, ValueError) as err:  # refused, reset, timed out, TLS, a bad URL
        reason = getattr(err, "reason", None) or err
        return Attempt(False, None, f"{type(err).__name__}: {reason}"[:MESSAGE_CHARS])
    message = text.decode("utf-8", "replace")[:MESSAGE_CHARS]
    if 200 <= code < 300:
        return Attempt(True, code, message)
    return Attempt(False, code, message, final=code in FINAL_CODES)


def _read(err: urllib.error.HTTPError) -> bytes:
    try:
        return err.read(MESSAGE_CHARS * 4)
    except OSError:
        return b""


def _record(delivery_id: int, attempt: Attempt) -> int:
    """Log the attempt and move the delivery on: success, a retry after the next delay, or failed."""
    delays = tuple(settings.MTM_HOOK_RETRY_DELAYS)
    with transaction.atomic():
        delivery = HookDelivery.objects.select_for_update().get(pk=delivery_id)
        delivery.tries += 1
        delivery.round_tries += 1
        now = timezone.now()
        countdown: float | None = None
        if attempt.ok:
            delivery.status = HookDelivery.Status.SUCCESS
        elif not attempt.final and delivery.round_tries <= len(delays):
            countdown = float(delays[delivery.round_tries - 1])
            delivery.status = HookDelivery.Status.PENDING
        else:
            delivery.status = HookDelivery.Status.FAILED
        delivery.next_attempt_at = now + timedelta(seconds=countdown) if countdown is not None else None
        delivery.lease_until = None
        delivery.status_code, delivery.message = attempt.status_code, attempt.message
        delivery.save()
        HookLog.objects.create(delivery=delivery, hook_id=delivery.hook_id, submission_id=delivery.submission_id,
                               attempt=delivery.tries, status=delivery.status, status_code=attempt.status_code,
                               message=attempt.message)
        if countdown is not None:
            enqueue_on_commit([delivery.pk], countdown=countdown)
    if delivery.status == HookDelivery.Status.FAILED:
        log.warning("REST service %s: delivery %s failed after %s attempts", delivery.hook_id, delivery.pk,
                    delivery.tries)
    return delivery.status
