"""Writes on surveys, rounds and questionnaire versions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from mtm.errors import InvalidInput
from surveys.errors import QuestionnaireVersionConflict
from surveys.models import Questionnaire, Round, Survey
from surveys.services.xlsform import ConvertedForm, xlsform_convert

if TYPE_CHECKING:
    from enumerators.models import User


@dataclass(frozen=True)
class ImportResult:
    questionnaire: Questionnaire
    created: bool
    warnings: list[str]


def questionnaire_import(
    *,
    source: bytes,
    filename: str,
    survey_slug: str | None = None,
    round_number: int | None = None,
    created_by: User | None = None,
    allow_anonymous: bool = False,
) -> ImportResult:
    """Convert an XLSForm and store it as a version of its form.

    The survey and round are the ones named, else those of the form's earlier
    versions, else the only survey's latest round; a survey or round that does
    not exist yet is created. Re-importing the same version with the same
    XForm returns the stored one unchanged (``created=False``); the same
    version with different content is refused, since submissions already made
    against it must keep meaning what they meant. A broken form raises
    :class:`~surveys.errors.XLSFormError` and stores nothing.
    """
    converted = xlsform_convert(source=source, filename=filename)
    if round_number is not None and round_number < 1:
        raise InvalidInput(_("The round number must be 1 or more."))
    return _store(converted, source=source, filename=filename, survey_slug=survey_slug,
                  round_number=round_number, created_by=created_by, allow_anonymous=allow_anonymous)


def questionnaire_archive(*, questionnaire_ids: list[int], archived: bool) -> int:
    """Archive versions (no longer offered in ``/formList``; they still accept submissions and download by
    ``?version=``), or offer them again with ``archived=False``. Versions are never deleted. Returns how many
    changed; running it twice changes nothing (an archived version keeps the time it was first archived)."""
    qs = Questionnaire.objects.filter(pk__in=questionnaire_ids, archived_at__isnull=archived)
    return qs.update(archived_at=timezone.now() if archived else None)


@transaction.atomic
def _store(converted: ConvertedForm, *, source: bytes, filename: str, survey_slug: str | None,
           round_number: int | None, created_by: User | None, allow_anonymous: bool) -> ImportResult:
    existing = Questionnaire.objects.filter(form_id=converted.form_id, version=converted.version).first()
    if existing is not None:
        return _same_version(existing, converted)
    round_ = _resolve_round(converted, survey_slug=survey_slug, round_number=round_number)
    questionnaire = Questionnaire(
        round=round_,
        form_id=converted.form_id,
        version=converted.version,
        title=converted.title,
        xform_xml=converted.xform_xml,
        md5=converted.md5,
        schema=converted.schema,
        source_md5=converted.source_md5,
        allow_anonymous=allow_anonymous,
        created_by=created_by,
    )
    questionnaire.source_file.save(filename.rsplit("/", 1)[-1], ContentFile(source), save=False)
    try:
        with transaction.atomic():
            questionnaire.save()
    except IntegrityError:
        # A concurrent import of the same version won the race.
        existing = Questionnaire.objects.get(form_id=converted.form_id, version=converted.version)
        return _same_version(existing, converted)
    return ImportResult(questionnaire=questionnaire, created=True, warnings=converted.warnings)


def _same_version(existing: Questionnaire, converted: ConvertedForm) -> ImportResult:
    if existing.md5 != converted.md5:
        raise QuestionnaireVersionConflict(
            _("Form '%(form_id)s' version '%(version)s' exists already with different content. Change 'version' "
              "on the 'settings' sheet to import the new version.")
            % {"form_id": converted.form_id, "version": converted.version}
        )
    return ImportResult(questionnaire=existing, created=False, warnings=converted.warnings)


def _resolve_round(converted: ConvertedForm, *, survey_slug: str | None, round_number: int | None) -> Round:
    previous = Questionnaire.objects.filter(form_id=converted.form_id).select_related("round__survey").first()
    if survey_slug:
        survey, _created = Survey.objects.get_or_create(slug=survey_slug, defaults={"name": converted.title})
    elif previous is not None:
        survey = previous.round.survey
    elif Survey.objects.count() == 1:
        survey = Survey.objects.get()
    else:
        slug = slugify(converted.form_id)[:64] or "survey"
        survey, _created = Survey.objects.get_or_create(slug=slug, defaults={"name": converted.title})
    if round_number is None:
        if previous is not None and previous.round.survey_id == survey.pk:
            return previous.round
        latest = survey.rounds.order_by("-number").first()
        if latest is not None:
            return latest
        round_number = 1
    round_, _created = Round.objects.get_or_create(survey=survey, number=round_number)
    return round_
