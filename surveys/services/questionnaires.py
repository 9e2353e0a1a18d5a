"""Writes on surveys, rounds and questionnaire versions."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from mtm.errors import Conflict, InvalidInput
from surveys.errors import QuestionnaireVersionConflict
from surveys.models import Questionnaire, QuestionnaireMedia, Round, Survey
from surveys.services.form_keys import version_as_stored, version_key_applied
from surveys.services.form_media import ITEMSETS_CSV
from surveys.services.questionnaire_media import MediaUpload, questionnaire_media_add
from surveys.services.xlsform import ConvertedForm, xlsform_convert

if TYPE_CHECKING:
    from enumerators.models import User


@dataclass(frozen=True)
class ImportResult:
    """The version imported (``created``) or found already stored, pyxform's warnings, whether the import
    created the round (then still to be set up: ``Round.setup_missing``) and the media files it attached."""

    questionnaire: Questionnaire
    created: bool
    warnings: list[str]
    round_created: bool = False
    media_added: list[str] = field(default_factory=list)

    @property
    def media_missing(self) -> list[str]:
        return self.questionnaire.media_missing


def questionnaire_import(
    *,
    source: bytes,
    filename: str,
    survey_slug: str | None = None,
    round_number: int | None = None,
    created_by: User | None = None,
    allow_anonymous: bool = False,
    media: Sequence[MediaUpload] = (),
) -> ImportResult:
    """Convert an XLSForm and store it as a version of its form in a round, with ``media``.

    The survey and round are the ones named, else those of the form's earlier versions, else the only
    survey's latest round; a survey or round that does not exist yet is created. A form whose settings give
    a version: the same version re-imported with the same XForm is the stored one (``created=False``), with
    different content a conflict (submissions already made with it must keep meaning what they meant), and
    into another round a conflict too (an instance names only form and version: a version belongs to one
    round). A form without a version gets one from the server (:func:`version_next`): the same content
    re-imported into the round of its latest version there is that version; changed content, or another
    round, is a new version. A broken form raises :class:`~surveys.errors.XLSFormError` and stores nothing;
    so does a bad media file.
    """
    converted = xlsform_convert(source=source, filename=filename)
    if round_number is not None and round_number < 1:
        raise InvalidInput(_("The round number must be 1 or more."))
    return _store(converted, source=source, filename=filename, survey_slug=survey_slug,
                  round_number=round_number, created_by=created_by, allow_anonymous=allow_anonymous,
                  media=media)


def questionnaire_archive(*, questionnaire_ids: list[int], archived: bool) -> int:
    """Archive versions (no longer offered in ``/formList``; they still accept submissions and download by
    ``?version=``), or offer them again with ``archived=False``. Versions are never deleted. Returns how many
    changed; running it twice changes nothing (an archived version keeps the time it was first archived)."""
    qs = Questionnaire.objects.filter(pk__in=questionnaire_ids, archived_at__isnull=archived)
    return qs.update(archived_at=timezone.now() if archived else None)


def version_next(*, form_id: str) -> str:
    """The version the server gives a new version of ``form_id``: today as ``YYYYMMDDNN`` (NN from 01),
    or one more than the form's highest numeric version when that is higher — so it sorts after every
    version stored before, as a number and as text."""
    floor = int(timezone.now().strftime("%Y%m%d")) * 100 + 1
    stored = Questionnaire.objects.filter(form_id=form_id).values_list("version", flat=True)
    return str(max([floor, *(int(v) + 1 for v in stored if v.isdigit())]))


@transaction.atomic
def _store(converted: ConvertedForm, *, source: bytes, filename: str, survey_slug: str | None,
           round_number: int | None, created_by: User | None, allow_anonymous: bool,
           media: Sequence[MediaUpload]) -> ImportResult:
    if converted.version is not None:
        existing = Questionnaire.objects.filter(form_id=converted.form_id, version=converted.version).first()
        if existing is not None:
            return _stored_again(existing, version_as_stored(existing, converted), survey_slug=survey_slug,
                                 round_number=round_number, media=media)
        round_, round_created = _resolve_round(converted, survey_slug=survey_slug, round_number=round_number)
    else:
        round_, round_created = _resolve_round(converted, survey_slug=survey_slug, round_number=round_number)
        latest = Questionnaire.objects.filter(form_id=converted.form_id, round=round_).order_by(
            "-created_at", "-id").first()
        if latest is not None and latest.content_md5 == converted.content_md5:
            return ImportResult(questionnaire=latest, created=False, warnings=converted.warnings,
                                media_added=questionnaire_media_add(questionnaire=latest, files=media))
        converted = converted.with_version(version_next(form_id=converted.form_id))
    converted, encryption_key = version_key_applied(converted)  # its own public_key, or the form's managed key
    questionnaire = Questionnaire(
        round=round_,
        form_id=converted.form_id,
        version=str(converted.version),
        title=converted.title,
        xform_xml=converted.xform_xml,
        md5=converted.md5,
        schema=converted.schema,
        source_md5=converted.source_md5,
        allow_anonymous=allow_anonymous,
        created_by=created_by,
        version_assigned=not converted.pyxform_data.get("version"),
        content_md5=converted.content_md5,
        warnings=converted.warnings,
        media_needed=list(converted.media),
        encryption_key=encryption_key,
    )
    questionnaire.source_file.save(filename.rsplit("/", 1)[-1], ContentFile(source), save=False)
    try:
        with transaction.atomic():
            questionnaire.save()
    except IntegrityError:
        # A concurrent import of the same version won the race.
        existing = Questionnaire.objects.filter(form_id=converted.form_id, version=converted.version).first()
        if existing is None or existing.md5 != converted.md5:
            raise Conflict("Another import of this form was stored at the same time; import it again.") from None
        return ImportResult(questionnaire=existing, created=False, warnings=converted.warnings)
    if converted.itemsets is not None:
        QuestionnaireMedia.objects.create(
            questionnaire=questionnaire, filename=ITEMSETS_CSV, md5=hashlib.md5(converted.itemsets).hexdigest(),  # noqa: S324
            content_type="text/csv", file=ContentFile(converted.itemsets, name=ITEMSETS_CSV))
    added = questionnaire_media_add(questionnaire=questionnaire, files=media)
    return ImportResult(questionnaire=questionnaire, created=True, warnings=converted.warnings,
                        round_created=round_created, media_added=added)


def _stored_again(existing: Questionnaire, converted: ConvertedForm, *, survey_slug: str | None,
                  round_number: int | None, media: Sequence[MediaUpload]) -> ImportResult:
    """A version the settings name that is stored already: the same one (its media added), or a conflict."""
    if existing.md5 != converted.md5:
        raise QuestionnaireVersionConflict(
            _("Form '%(form_id)s' version '%(version)s' exists already with different content. Change 'version' "
              "on the 'settings' sheet to import the new version.")
            % {"form_id": converted.form_id, "version": converted.version}
        )
    stored_round = existing.round
    other_survey = survey_slug is not None and survey_slug != stored_round.survey.slug
    if other_survey or (round_number is not None and round_number != stored_round.number):
        raise QuestionnaireVersionConflict(
            f"Form '{converted.form_id}' version '{converted.version}' is already in round {stored_round.number} "
            f"of survey '{stored_round.survey.slug}'. A version belongs to one round (an interview names only "
            "its form and version): change 'version' on the 'settings' sheet, or leave it out for the server "
            "to assign one, to import this form into another round."
        )
    return ImportResult(questionnaire=existing, created=False, warnings=converted.warnings,
                        media_added=questionnaire_media_add(questionnaire=existing, files=media))


def _resolve_round(converted: ConvertedForm, *, survey_slug: str | None,
                   round_number: int | None) -> tuple[Round, bool]:
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
            return previous.round, False
        latest = survey.rounds.order_by("-number").first()
        if latest is not None:
            return latest, False
        round_number = 1
    return Round.objects.get_or_create(survey=survey, number=round_number)
