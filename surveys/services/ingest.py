"""Receiving submissions: store first, exactly once, then enqueue processing.

``submission_ingest`` is the one write every interface (OpenRosa multipart,
KoBo JSON) calls. Its answers, as ODK Central's:

- a new instanceID → stored, ``created`` (201);
- the same bytes again → nothing duplicated, new attachments merged (202);
- the same instanceID with other content → :class:`SubmissionConflict` (409);
- ``meta/deprecatedID`` → an edit: a new row replacing the current one,
  which stays in history;
- ``is_incomplete`` (split uploads) → stored, processing waits for the last part.

Everything is committed before the answer is sent; the processing task is
enqueued on commit, and if the broker is down the periodic sweep picks the
submission up later.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from enumerators.models import Device
from mtm.errors import Forbidden, NotFound
from surveys import selectors
from surveys.errors import SubmissionConflict
from surveys.models import Questionnaire, Submission, SubmissionAttachment
from surveys.services.instance import (
    expected_attachments,
    instance_header,
    json_submission,
    json_to_instance_xml,
    json_version,
    parse_instance,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestResult:
    submission: Submission
    created: bool
    attachments_added: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Sender:
    """Who sent it and how: the account (``None`` when anonymous), the
    account whose anonymous forms are posted to, device and client."""

    user: object | None
    anonymous_owner: object | None = None
    device_id: str = ""
    user_agent: str = ""


def submission_ingest_xml(*, xml: bytes, sender: Sender, attachments: Iterable[UploadedFile] = (),
                          is_incomplete: bool = False) -> IngestResult:
    root = parse_instance(xml)
    header = instance_header(root)
    questionnaire = _questionnaire(form_id=header.form_id, version=header.version, sender=sender)
    return _ingest(questionnaire=questionnaire, instance_id=header.instance_id, deprecated_id=header.deprecated_id,
                   raw=xml, raw_format=Submission.Format.XML, xml=xml, digest=_sha256(xml),
                   expected=len(expected_attachments(root, questionnaire)), sender=sender,
                   attachments=attachments, is_incomplete=is_incomplete)


def submission_ingest_json(*, body: bytes, sender: Sender) -> IngestResult:
    form_id, answers = json_submission(body)
    questionnaire = _questionnaire(form_id=form_id, version=json_version(answers), sender=sender)
    xml = json_to_instance_xml(answers, questionnaire)
    root = parse_instance(xml)
    header = instance_header(root)
    # The digest is of the instance, so a resend with its keys in another order is the same submission.
    return _ingest(questionnaire=questionnaire, instance_id=header.instance_id, deprecated_id=header.deprecated_id,
                   raw=body, raw_format=Submission.Format.JSON, xml=xml, digest=_sha256(xml),
                   expected=len(expected_attachments(root, questionnaire)), sender=sender, attachments=(),
                   is_incomplete=False)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _questionnaire(*, form_id: str, version: str | None, sender: Sender) -> Questionnaire:
    """The version the instance was made with, if the sender may submit to it:
    404 unknown form or version, 403 not assigned or round closed."""
    versions = Questionnaire.objects.filter(form_id=form_id).select_related("round")
    if not versions.exists():
        raise NotFound(f"No form '{form_id}' on this server.")
    questionnaire = versions.filter(version=version).first() if version else versions.first()
    if questionnaire is None:
        raise NotFound(f"Form '{form_id}' has no version '{version}' on this server.")
    if not questionnaire.round.is_open:
        raise Forbidden(f"Round {questionnaire.round.number} of '{form_id}' is closed to submissions.")
    if sender.anonymous_owner is not None:
        allowed = questionnaire.allow_anonymous and selectors.rounds_for_user(
            user=sender.anonymous_owner).filter(pk=questionnaire.round_id).exists()
        if not allowed:
            raise Forbidden(f"Form '{form_id}' does not accept anonymous submissions here.")
    elif not selectors.rounds_for_user(user=sender.user).filter(pk=questionnaire.round_id).exists():
        raise Forbidden(f"This account is not assigned to form '{form_id}'.")
    return questionnaire


@transaction.atomic
def _ingest(*, questionnaire: Questionnaire, instance_id: str, deprecated_id: str | None, raw: bytes,
            raw_format: str, xml: bytes, digest: str, expected: int, sender: Sender,
            attachments: Iterable[UploadedFile], is_incomplete: bool) -> IngestResult:
    previous = _edited_submission(questionnaire.form_id, deprecated_id, instance_id)
    defaults = {
        "questionnaire": questionnaire, "raw_body": raw, "raw_format": raw_format, "raw_sha256": digest,
        "xml": xml, "submitted_by": sender.user, "device": _device(sender),
        "user_agent": sender.user_agent[:255], "deprecated_id": deprecated_id or "", "previous": previous,
        "attachments_expected": expected, "complete": not is_incomplete,
        "processing": Submission.Processing.RECEIVING if is_incomplete else Submission.Processing.PENDING,
    }
    try:
        with transaction.atomic():
            submission, created = Submission.objects.get_or_create(
                form_id=questionnaire.form_id, instance_id=instance_id, defaults=defaults)
    except IntegrityError:
        # A concurrent post of the same instance won, or the edited row was edited concurrently.
        submission = Submission.objects.filter(form_id=questionnaire.form_id, instance_id=instance_id).first()
        if submission is None:
            raise SubmissionConflict(f"Submission '{deprecated_id}' was edited concurrently; send again.") from None
        created = False
    submission = Submission.objects.select_for_update().get(pk=submission.pk)
    if not created and submission.raw_sha256 != digest:
        raise SubmissionConflict(f"Submission '{instance_id}' exists already with different content.")
    if created and previous is not None:
        Submission.objects.filter(pk=previous.pk).update(is_current=False)
    added = _store_attachments(submission, attachments)
    if not created and not is_incomplete and not submission.complete:
        submission.complete = True
        submission.processing = Submission.Processing.PENDING
        submission.save(update_fields=["complete", "processing", "updated_at"])
    if submission.complete and (created or added) and submission.processing != Submission.Processing.RECEIVING:
        _enqueue_on_commit(submission.pk)
    return IngestResult(submission=submission, created=created, attachments_added=added)


def _edited_submission(form_id: str, deprecated_id: str | None, instance_id: str) -> Submission | None:
    if not deprecated_id or deprecated_id == instance_id:
        return None
    previous = Submission.objects.filter(form_id=form_id, instance_id=deprecated_id).first()
    if previous is None:
        log.info("edit of unknown submission %s of %s stored as new", deprecated_id, form_id)
        return None
    if not previous.is_current:
        already = Submission.objects.filter(previous=previous).exclude(instance_id=instance_id).exists()
        if already:
            raise SubmissionConflict(f"Submission '{deprecated_id}' has been edited already; edit its latest version.")
    return previous


def _device(sender: Sender) -> Device | None:
    if not sender.device_id:
        return None
    device, _ = Device.objects.get_or_create(device_id=sender.device_id[:128])
    enumerator = getattr(sender.user, "enumerator", None) if sender.user is not None else None
    device.last_seen = timezone.now()
    device.user_agent = sender.user_agent[:255]
    if enumerator is not None:
        device.enumerator = enumerator
    device.save()
    return device


def _store_attachments(submission: Submission, files: Iterable[UploadedFile]) -> list[str]:
    """Stream each file to storage with its SHA-256. A file name already
    stored is kept as it was (resends carry the same files)."""
    present = set(submission.attachments.values_list("filename", flat=True))
    added = []
    for upload in files:
        name = (upload.name or "").rsplit("/", 1)[-1]
        if not name or name in present:
            continue
        digest = hashlib.sha256()
        for chunk in upload.chunks():
            digest.update(chunk)
        upload.seek(0)
        attachment = SubmissionAttachment(submission=submission, filename=name, sha256=digest.hexdigest(),
                                          size=upload.size or 0,
                                          content_type=(upload.content_type or "application/octet-stream")[:100])
        attachment.file.save(name, upload, save=False)
        attachment.save()
        present.add(name)
        added.append(name)
    return added


def _enqueue_on_commit(submission_id: int) -> None:
    from surveys.tasks import submission_enqueue

    transaction.on_commit(lambda: submission_enqueue(submission_id), robust=True)

