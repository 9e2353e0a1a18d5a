"""Reads on surveys, rounds and questionnaires: querysets and read models."""

from __future__ import annotations

from django.db.models import QuerySet

from mtm.errors import Forbidden, NotFound
from surveys.models import Questionnaire, QuestionnaireMedia, Round


def rounds_for_user(*, user) -> QuerySet[Round]:
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


def questionnaires_for_user(*, user, anonymous_only: bool = False) -> list[Questionnaire]:
    """The current (latest imported) version of every form ``user`` may
    collect, one per form_id, ordered by form_id."""
    qs = Questionnaire.objects.filter(round__in=rounds_for_user(user=user))
    if anonymous_only:
        qs = qs.filter(allow_anonymous=True)
    current: dict[str, Questionnaire] = {}
    for questionnaire in qs.order_by("form_id", "-created_at", "-id").prefetch_related("media"):
        current.setdefault(questionnaire.form_id, questionnaire)
    return list(current.values())


def questionnaire_for_user(*, user, form_id: str, version: str | None = None,
                           anonymous_only: bool = False) -> Questionnaire:
    """One form for ``user``: its current version, or ``version`` when given
    (older versions stay downloadable for devices that still hold them)."""
    if version is None:
        for questionnaire in questionnaires_for_user(user=user, anonymous_only=anonymous_only):
            if questionnaire.form_id == form_id:
                return questionnaire
        raise NotFound(f"No form '{form_id}' is available to this account.")
    qs = Questionnaire.objects.filter(round__in=rounds_for_user(user=user), form_id=form_id, version=version)
    if anonymous_only:
        qs = qs.filter(allow_anonymous=True)
    questionnaire = qs.first()
    if questionnaire is None:
        raise NotFound(f"No form '{form_id}' version '{version}' is available to this account.")
    return questionnaire


def questionnaire_media_file(*, questionnaire: Questionnaire, filename: str) -> QuestionnaireMedia:
    media = questionnaire.media.filter(filename=filename).first()
    if media is None:
        raise NotFound(f"Form '{questionnaire.form_id}' has no media file '{filename}'.")
    return media


def submission_attachment_for_user(*, user, form_id: str, instance_id: str, filename: str):
    """An attachment, for accounts allowed to see submissions (row-level
    rules by team come with the monitoring issue)."""
    from surveys.models import SubmissionAttachment

    if not (user.is_active and (user.is_superuser or user.has_perm("surveys.view_submission"))):
        raise Forbidden("This account may not see submissions.")
    attachment = SubmissionAttachment.objects.filter(
        submission__form_id=form_id, submission__instance_id=instance_id, filename=filename
    ).first()
    if attachment is None:
        raise NotFound("No such attachment.")
    return attachment
