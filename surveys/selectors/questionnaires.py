"""Reads on questionnaires: the forms an enumerator may collect (OpenRosa),
the version a submission names (ingest), a version's field schema, and the
forms visible to analysts."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from django.db import connection
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from mtm.errors import NotFound
from surveys.form_schema import FormSchema
from surveys.models import Questionnaire, QuestionnaireMedia, Round
from surveys.models.surveys import schema_key

if TYPE_CHECKING:
    from enumerators.models import AnyUser


def rounds_for_user(*, user: AnyUser | None) -> QuerySet[Round]:
    """Open rounds whose forms ``user`` may download and submit to: all open
    rounds for a superuser, otherwise those of an active enumerator's
    assignments."""
    rounds = Round.objects.filter(status=Round.Status.OPEN)
    if user is None or not user.is_active:
        return rounds.none()
    if user.is_superuser:
        return rounds
    return rounds.filter(
        assignments__enumerator__user=user, assignments__enumerator__active=True
    ).distinct()


def questionnaires_for_user(*, user: AnyUser | None, anonymous_only: bool = False) -> list[Questionnaire]:
    """The current (latest imported, not archived) version of every form ``user`` may
    collect, one per form_id, ordered by form_id (what ``/formList`` offers)."""
    qs = Questionnaire.objects.filter(round__in=rounds_for_user(user=user), archived_at__isnull=True)
    if anonymous_only:
        qs = qs.filter(allow_anonymous=True)
    current: dict[str, Questionnaire] = {}
    for questionnaire in qs.order_by("form_id", "-created_at", "-id").prefetch_related("media"):
        current.setdefault(questionnaire.form_id, questionnaire)
    return list(current.values())


def questionnaire_for_user(*, user: AnyUser | None, form_id: str, version: str | None = None,
                           anonymous_only: bool = False) -> Questionnaire:
    """One form for ``user``: its current version, or ``version`` when given
    (older and archived versions stay downloadable for devices that still hold them)."""
    if version is None:
        for questionnaire in questionnaires_for_user(user=user, anonymous_only=anonymous_only):
            if questionnaire.form_id == form_id:
                return questionnaire
        raise NotFound(_("No form '%(form_id)s' is available to this account.") % {"form_id": form_id})
    qs = Questionnaire.objects.filter(round__in=rounds_for_user(user=user), form_id=form_id, version=version)
    if anonymous_only:
        qs = qs.filter(allow_anonymous=True)
    found = qs.first()
    if found is None:
        raise NotFound(_("No form '%(form_id)s' version '%(version)s' is available to this account.")
                       % {"form_id": form_id, "version": version})
    return found


def questionnaire_version(*, form_id: str, version: str | None = None) -> Questionnaire:
    """A version of ``form_id`` (its latest imported when ``version`` is None), for the people who manage
    forms (the media upload). :class:`NotFound` for an unknown form or version."""
    qs = Questionnaire.objects.filter(form_id=form_id)
    found = (qs.filter(version=version) if version is not None else qs.order_by("-created_at", "-id")).first()
    if found is None:
        raise NotFound(f"No form '{form_id}'" + (f" version '{version}'" if version else "") + " on this server.")
    return found


def questionnaire_media_file(*, questionnaire: Questionnaire, filename: str) -> QuestionnaireMedia:
    media = questionnaire.media.filter(filename=filename).first()
    if media is None:
        raise NotFound(_("Form '%(form_id)s' has no media file '%(filename)s'.")
                       % {"form_id": questionnaire.form_id, "filename": filename})
    return media


@dataclass(frozen=True)
class SubmissionTarget:
    """What ingest needs of a questionnaire version, read in one query."""

    pk: int
    form_id: str
    version: str
    md5: str
    #: The schema's cache key (:attr:`surveys.models.Questionnaire.schema_key`).
    schema_key: str
    round_id: int
    round_number: int
    round_open: bool
    allow_anonymous: bool
    assigned: bool

    @property
    def schema(self) -> FormSchema:
        return questionnaire_schema(pk=self.pk, key=self.schema_key)


_TARGET_SQL = """
SELECT q.id, q.form_id, q.version, q.md5, q.schema_rev, q.round_id, r.number, r.status, q.allow_anonymous,
       EXISTS (SELECT 1 FROM enumerators_assignment a
               JOIN enumerators_enumerator e ON e.id = a.enumerator_id
               WHERE a.round_id = q.round_id AND e.user_id = %(user)s AND e.active) AS assigned
FROM surveys_questionnaire q JOIN surveys_round r ON r.id = q.round_id
WHERE q.form_id = %(form_id)s AND (%(version)s = '' OR q.version = %(version)s)
ORDER BY q.created_at DESC, q.id DESC
LIMIT 1
"""


def submission_target(*, form_id: str, version: str | None, submitter: AnyUser | None) -> SubmissionTarget:
    """The version an instance names (the latest when it names none), and
    whether ``submitter`` may submit to its round (an active enumerator
    assigned to it, or a superuser) — archived versions included, since
    tablets may still hold them — in one query: this runs on every
    submission, and the ORM's compiling of it cost four times its execution.
    :class:`NotFound` for an unknown form or version."""
    active = submitter if submitter is not None and submitter.is_active else None
    with connection.cursor() as cursor:
        cursor.execute(_TARGET_SQL, {"form_id": form_id, "version": version or "",
                                     "user": active.pk if active is not None else -1})
        row = cursor.fetchone()
    if row is None:
        if version and Questionnaire.objects.filter(form_id=form_id).exists():
            raise NotFound(_("Form '%(form_id)s' has no version '%(version)s' on this server.")
                           % {"form_id": form_id, "version": version})
        raise NotFound(_("No form '%(form_id)s' on this server.") % {"form_id": form_id})
    pk, form_id, version, md5, schema_rev, round_id, number, status, allow_anonymous, assigned = row
    return SubmissionTarget(pk=pk, form_id=form_id, version=version, md5=md5,
                            schema_key=schema_key(md5, schema_rev), round_id=round_id,
                            round_number=number, round_open=status == Round.Status.OPEN,
                            allow_anonymous=bool(allow_anonymous),
                            assigned=active is not None and (active.is_superuser or bool(assigned)))


@lru_cache(maxsize=256)
def questionnaire_schema(*, pk: int, key: str) -> FormSchema:
    """A version's field schema, by its :attr:`~surveys.models.Questionnaire.schema_key`. A version's XForm
    never changes once stored and an attached choice file bumps ``schema_rev`` (the key holds both
    in the key makes that certain), so it is read once per process."""
    md5, _, rev = key.partition(".")
    return Questionnaire.objects.values_list("schema", flat=True).get(pk=pk, md5=md5, schema_rev=int(rev or 0))


def questionnaires_visible_to(user: AnyUser | None) -> QuerySet[Questionnaire]:
    """Every questionnaire version ``user`` may see with its (anonymised)
    records: all of them for a superuser and for the roles that see
    submissions (supervisors, analysts, data protection); none for anyone
    else, enumerators included. Which *records* of them a user sees is
    :func:`submissions_for_user`'s decision."""
    qs = Questionnaire.objects.select_related("round__survey")
    if user is None or not user.is_active:
        return qs.none()
    if user.is_superuser or user.has_perm("surveys.view_submission"):
        return qs
    return qs.none()
