"""The daily report of a REST service's failed deliveries, by e-mail (KoboToolbox's ``email_notification``:
the people responsible for a form learn that a receiver has been refusing interviews, rather than finding
out from the system downstream).

Each hook with ``email_notification`` on gets one message for the deliveries that have failed (every retry
spent) since its last report, in each recipient's own interface language: the hook's name, the receiver's
host (never its path or query, which may hold a token), and for each failure the submission's instanceID,
the receiver's status code and the first part of its answer — nothing from the interview itself. The
recipients are the hook's creator and whoever uploaded the form's newest version, if they have an
address and are active. ``failures_reported_at`` moves on once every recipient's message was handed to the
mail server (or there is no one to tell); when the server refuses, the next report lists them again."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from enumerators.models import User
from surveys.models import HookDelivery, Questionnaire, RestHook

log = logging.getLogger(__name__)

#: The failures listed in one message (the count says how many there were in all).
LISTED = 20
#: How much of the receiver's answer a listed failure shows.
ANSWER_CHARS = 120


@dataclass(frozen=True)
class FailuresReport:
    hooks: int
    messages: int


def hook_failures_report(*, now: dt.datetime | None = None) -> FailuresReport:
    """Send each hook's report of the deliveries failed since its last one; the hooks reported on and the
    messages sent."""
    now = now or timezone.now()
    hooks = reported = 0
    for hook in RestHook.objects.filter(email_notification=True).select_related("created_by").order_by("pk"):
        since = hook.failures_reported_at or hook.date_created
        failed = HookDelivery.objects.filter(hook=hook, status=HookDelivery.Status.FAILED, date_modified__gt=since,
                                             date_modified__lte=now)
        count = failed.count()
        delivered = True
        if count:
            rows = list(failed.order_by("date_modified", "pk")
                        .values_list("submission__instance_id", "status_code", "message", "date_modified")[:LISTED])
            hooks += 1
            for user in _recipients(hook):
                sent = _send(hook, user, count, rows)
                reported += sent
                delivered = delivered and sent == 1
        if delivered:
            RestHook.objects.filter(pk=hook.pk).update(failures_reported_at=now)
    return FailuresReport(hooks=hooks, messages=reported)


def _recipients(hook: RestHook) -> list[User]:
    uploader = (Questionnaire.objects.filter(form_id=hook.form_id).order_by("-created_at", "-pk")
                .values_list("created_by", flat=True).first())
    ids = [pk for pk in (hook.created_by_id, uploader) if pk is not None]
    users = User.objects.filter(pk__in=ids, is_active=True).exclude(email="").order_by("pk")
    return list(users)


def _send(hook: RestHook, user: User, count: int, rows: list[tuple[str, int | None, str, dt.datetime]]) -> int:
    with translation.override(user.language or settings.LANGUAGE_CODE):
        subject = ngettext("REST service “%(name)s”: %(count)d delivery failed",
                           "REST service “%(name)s”: %(count)d deliveries failed", count) % {
            "name": hook.name, "count": count}
        lines = [
            _("The REST service “%(name)s” of form %(form)s could not deliver these interviews to %(host)s, "
              "after every retry:") % {"name": hook.name, "form": hook.form_id, "host": urlsplit(hook.endpoint).netloc},
            "",
        ]
        for instance_id, status_code, message, when in rows:
            answer = " ".join(message.split())[:ANSWER_CHARS]
            lines.append(f"- {instance_id}  {timezone.localtime(when):%Y-%m-%d %H:%M}  "
                         f"{status_code if status_code is not None else _('no answer')}  {answer}")
        if count > len(rows):
            lines.append(_("… and %(more)d more.") % {"more": count - len(rows)})
        lines += ["", _("Open REST services in the admin to see every attempt and send the failed deliveries "
                        "again.")]
    try:
        return send_mail(subject, "\n".join(lines), None, [user.email])
    except OSError as err:  # the mail server is down or refuses: the next report lists these again
        log.warning("REST service failures report for hook %s not sent to user %s: %s", hook.pk, user.pk, err)
        return 0
