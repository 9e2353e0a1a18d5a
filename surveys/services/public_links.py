"""Public links to fill a form in the browser without logging in (ADR 0020), as KoboToolbox's Enketo
links: ``/f/<token>/`` for a form that allows anonymous submission, revocable.

A link's interviews are the anonymous submissions of its owner — the account that made it — exactly as
Collect's ``/<username>/submission``: the owner must be able to receive them (a superuser, or assigned to
the form's round), the form must allow anonymous submission, its round must be open. A revoked link is
refused; the link row stays (who revoked it, when)."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import TYPE_CHECKING, TypeGuard

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mtm.errors import Forbidden, InvalidInput, NotFound
from surveys.models import PublicLink, Questionnaire
from surveys.selectors.questionnaires import submission_target
from surveys.services.ingest import IngestResult, Sender, submission_ingest_xml
from surveys.services.instance import instance_header, parse_instance

if TYPE_CHECKING:
    from enumerators.models import AnyUser, User


def _may_manage(user: AnyUser | None) -> TypeGuard[User]:
    return bool(user is not None and user.is_active
                and (user.is_superuser or user.has_perm("surveys.add_publiclink")))


def public_link_create(*, form_id: str, by: AnyUser | None) -> PublicLink:
    """A new link to the current version of ``form_id``, its interviews received in ``by``'s name."""
    if not _may_manage(by):
        raise Forbidden(_("This account may not make public links."))
    latest = Questionnaire.objects.filter(form_id=form_id).order_by("-created_at", "-id").first()
    if latest is None:
        raise NotFound(_("No form '%(form_id)s' on this server.") % {"form_id": form_id})
    if not latest.allow_anonymous:
        raise InvalidInput(_("Form '%(form_id)s' does not allow anonymous submissions: allow them on its current "
                             "version first.") % {"form_id": form_id}, field="form_id")
    if not submission_target(form_id=form_id, version=None, submitter=by).assigned:
        raise InvalidInput(_("A public link's interviews are received in the name of the account that makes it: "
                             "assign your account to the form's round first."), field="form_id")
    return PublicLink.objects.create(token=secrets.token_urlsafe(16), form_id=form_id, owner=by, created_by=by)


@transaction.atomic
def public_link_revoke(*, link_id: int, by: AnyUser | None) -> PublicLink:
    """Revoke a link (revoking it again changes nothing)."""
    if not _may_manage(by):
        raise Forbidden(_("This account may not revoke public links."))
    link = PublicLink.objects.select_for_update().filter(pk=link_id).first()
    if link is None:
        raise NotFound(_("No public link %(id)s.") % {"id": link_id})
    if link.revoked_at is None:
        link.revoked_at, link.revoked_by = timezone.now(), by
        link.save(update_fields=["revoked_at", "revoked_by"])
    return link


def public_link_open(*, token: str) -> tuple[PublicLink, Questionnaire]:
    """A link that still works and its form's current version: 404 unknown, 403 revoked or closed."""
    link = PublicLink.objects.select_related("owner").filter(token=token).first()
    if link is None:
        raise NotFound(_("This link does not exist."))
    if link.revoked_at is not None:
        raise Forbidden(_("This link has been revoked."))
    questionnaire = (Questionnaire.objects.select_related("round").filter(form_id=link.form_id, allow_anonymous=True,
                                                                         archived_at__isnull=True)
                     .order_by("-created_at", "-id").first())
    if questionnaire is None or questionnaire.round.status != questionnaire.round.Status.OPEN:
        raise Forbidden(_("This form is no longer open."))
    return link, questionnaire


def public_link_submit(*, token: str, xml: bytes, attachments: Iterable[UploadedFile[bytes]] = (),
                       user_agent: str = "") -> IngestResult:
    """An interview filled through a link: the link's own form only, as an anonymous submission of its
    owner (the ingest's 201 / 202 / 409 rules)."""
    link, _questionnaire = public_link_open(token=token)
    if instance_header(parse_instance(xml)).form_id != link.form_id:
        raise InvalidInput(_("This link accepts interviews of form '%(form_id)s' only.") % {"form_id": link.form_id})
    owner: User = link.owner
    return submission_ingest_xml(xml=xml, attachments=attachments,
                                 sender=Sender(user=None, anonymous_owner=owner, user_agent=user_agent))
