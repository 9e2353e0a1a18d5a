"""Receiving submissions: store first, exactly once, then enqueue processing.

:func:`submission_ingest_xml` (OpenRosa multipart: the instance XML and its
attachments) and :func:`submission_ingest_json` (KoBo JSON, converted to the
same instance XML) are the writes every interface calls; both go through
one transaction, ``_ingest``. Its answers, as ODK Central's:

- a new instanceID → stored, ``created`` (201);
- the same bytes again → nothing duplicated, new attachments merged (202);
- the same instanceID with other content → :class:`SubmissionConflict` (409);
- ``meta/deprecatedID`` → an edit: a new row replacing the current one,
  which stays in history; only from the interview's submitter, a superuser,
  or — where the round's ``checks["team_edits"]`` is on — an enumerator with
  the same supervisor; anyone else :class:`Forbidden` (403), nothing stored.
  An unknown deprecatedID is stored as a new submission (never lose an
  interview);
- ``is_incomplete`` (split uploads) → stored, processing waits for the last part.

The raw body is sealed (:mod:`surveys.services.raw_store`), the row is one
``INSERT … ON CONFLICT DO NOTHING`` (ADR 0002), a new row enters the
dashboard's counts (:func:`surveys.services.counts.counts_received`) and the
version an edit replaces leaves its round's counts (``counts_kept``).
Everything is committed before the answer is sent; the processing task is
enqueued on commit, and if the broker is down the periodic sweep picks the
submission up later.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import wraps
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec

from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from lxml import etree

from enumerators.models import Enumerator
from enumerators.services.devices import device_seen
from mtm.errors import STORAGE_FULL_MESSAGE, Forbidden, Unavailable, storage_full
from surveys.errors import SubmissionConflict
from surveys.models import Submission, SubmissionAttachment
from surveys.round_settings import round_check_settings
from surveys.selectors.questionnaires import SubmissionTarget, submission_target
from surveys.services.counts import counts_kept, counts_received
from surveys.services.instance import (
    expected_attachments,
    instance_header,
    json_canonical,
    json_submission,
    json_to_instance_xml,
    json_version,
    parse_instance,
)
from surveys.services.odk_encryption import is_encrypted_manifest, manifest_read
from surveys.services.raw_store import raw_seal, seal_chunks

if TYPE_CHECKING:
    from hashlib import _Hash

    from enumerators.models import User

log = logging.getLogger(__name__)
P = ParamSpec("P")


@dataclass(frozen=True)
class IngestResult:
    submission: Submission
    created: bool
    attachments_added: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Sender:
    """Who sent it and how: the account (``None`` when anonymous), the
    account whose anonymous forms are posted to, device and client."""

    user: User | None
    anonymous_owner: User | None = None
    device_id: str = ""
    user_agent: str = ""


def submission_ingest_xml(*, xml: bytes, sender: Sender, attachments: Iterable[UploadedFile[bytes]] = (),
                          is_incomplete: bool = False, received_at: dt.datetime | None = None) -> IngestResult:
    """Store an instance as received (``received_at``: now; an earlier moment only for interviews that
    reached another server or the demo's first)."""
    root = parse_instance(xml)
    header = instance_header(root)
    encrypted = is_encrypted_manifest(root)
    # An encrypted interview's XML part is its manifest (ODK's encrypted forms): it names the .enc files to
    # wait for; the instance itself is one of them, opened only by processing.
    files = manifest_files(root) if encrypted else None
    target = _target(form_id=header.form_id, version=header.version, sender=sender)
    return _ingest(target=target, instance_id=header.instance_id,
                   deprecated_id=header.deprecated_id,
                   raw=xml, raw_format=Submission.Format.XML, xml=None, digest=_sha256(xml),
                   expected=len(files) if files is not None else len(expected_attachments(root, target.schema)),
                   sender=sender, attachments=attachments, is_incomplete=is_incomplete, encrypted=encrypted,
                   received_at=received_at)


def submission_ingest_json(*, body: bytes, sender: Sender) -> IngestResult:
    form_id, answers = json_submission(body)
    target = _target(form_id=form_id, version=json_version(answers), sender=sender)
    xml = json_to_instance_xml(answers, schema=target.schema, form_id=target.form_id, version=target.version)
    root = parse_instance(xml)
    header = instance_header(root)
    # The digest is of the canonical JSON: a resend with its keys in another order, or after a new
    # version of the form was imported, is the same submission.
    canonical = json_canonical(form_id, answers)
    return _ingest(target=target, instance_id=header.instance_id,
                   deprecated_id=header.deprecated_id,
                   raw=body, raw_format=Submission.Format.JSON, xml=xml, digest=_sha256(canonical),
                   expected=len(expected_attachments(root, target.schema)), sender=sender, attachments=(),
                   is_incomplete=False, encrypted=False)


def submission_ingest_correction(*, xml: bytes, previous: Submission, user_agent: str = "") -> IngestResult:
    """A supervisor's correction (:mod:`surveys.services.corrections`, which checks who may and carries the
    withheld fields over): the instance stored as an edit of ``previous`` — its ``deprecatedID`` — in the
    name of the interview's submitter, so that it stays in their counts and their team. The round must
    still be open; nothing else of ``_target``'s rule applies (a supervisor is not assigned to the form)."""
    root = parse_instance(xml)
    header = instance_header(root)
    target = submission_target(form_id=header.form_id, version=header.version, submitter=None)
    if not target.round_open:
        raise Forbidden(_("Round %(round)s of '%(form_id)s' is closed to submissions.")
                        % {"round": target.round_number, "form_id": header.form_id})
    return _ingest(target=target, instance_id=header.instance_id, deprecated_id=header.deprecated_id,
                   raw=xml, raw_format=Submission.Format.XML, xml=None, digest=_sha256(xml),
                   expected=len(expected_attachments(root, target.schema)),
                   sender=Sender(user=previous.submitted_by, user_agent=user_agent), attachments=(),
                   is_incomplete=False, encrypted=False)


def manifest_files(root: etree._Element) -> tuple[str, ...]:
    return manifest_read(root).files


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _target(*, form_id: str, version: str | None, sender: Sender) -> SubmissionTarget:
    """The version the instance was made with, if the sender may submit to it:
    404 unknown form or version, 403 round closed or not assigned."""
    anonymous = sender.anonymous_owner is not None
    target = submission_target(form_id=form_id, version=version,
                                         submitter=sender.anonymous_owner if anonymous else sender.user)
    if not target.round_open:
        raise Forbidden(_("Round %(round)s of '%(form_id)s' is closed to submissions.")
                        % {"round": target.round_number, "form_id": form_id})
    if anonymous and not (target.allow_anonymous and target.assigned):
        raise Forbidden(_("Form '%(form_id)s' does not accept anonymous submissions here.") % {"form_id": form_id})
    if not target.assigned:
        raise Forbidden(_("This account is not assigned to form '%(form_id)s'.") % {"form_id": form_id})
    return target


def _device_pk(sender: Sender) -> int | None:
    if not sender.device_id:
        return None
    return device_seen(device_id=sender.device_id, user_id=sender.user.pk if sender.user is not None else None,
                       user_agent=sender.user_agent)


def _files_deleted_on_rollback(
        ingest: Callable[Concatenate[list[str], P], IngestResult]) -> Callable[P, IngestResult]:
    """Storage is not transactional: the files an ingest saved (their names
    noted in the list it is given, before each is written) are deleted again
    when its transaction rolls back — a conflict, a full disk, any error — so
    a refused post leaves no orphan file, partial ones included."""
    @wraps(ingest)
    def run(*args: P.args, **kwargs: P.kwargs) -> IngestResult:
        saved: list[str] = []
        try:
            return ingest(saved, *args, **kwargs)
        except BaseException:
            _files_delete(saved)
            raise

    return run


@_files_deleted_on_rollback
@transaction.atomic
def _ingest(saved: list[str], /, *, target: SubmissionTarget, instance_id: str, deprecated_id: str | None,
            raw: bytes, raw_format: str, xml: bytes | None, digest: str, expected: int, sender: Sender,
            attachments: Iterable[UploadedFile[bytes]], is_incomplete: bool, encrypted: bool,
            received_at: dt.datetime | None = None) -> IngestResult:
    attachments = list(attachments)
    previous = _edited_submission(target.form_id, deprecated_id, instance_id, editor=sender.user)
    # Inside the transaction, so that a refused post (409) leaves no trace; one statement.
    device = _device_pk(sender)
    now = timezone.now()
    values = {
        "questionnaire": target.pk, "round": target.round_id, "form_id": target.form_id,
        "instance_id": instance_id, "raw_body": raw_seal(raw),
        "raw_format": raw_format, "raw_sha256": digest, "xml": raw_seal(xml) if xml is not None else None,
        "submitted_by": sender.user.pk if sender.user is not None else None,
        "device": device, "user_agent": sender.user_agent[:255],
        "received_at": received_at or now, "updated_at": now, "complete": not is_incomplete,
        "deprecated_id": deprecated_id or "", "previous": previous.pk if previous is not None else None,
        "is_current": True, "encrypted": encrypted,
        "attachments_expected": expected, "processing_error": "",
        "processing": Submission.Processing.RECEIVING if is_incomplete else Submission.Processing.PENDING,
    }
    submission, created = _insert_or_existing(values)
    if not created and (attachments or (not is_incomplete and not submission.complete)):
        # Something may change (attachments merged, the last part of a split upload): lock it. A plain
        # resend only reads it, so it never waits for a processing batch holding the row.
        submission = Submission.objects.select_for_update().get(pk=submission.pk)
    if not created and submission.raw_sha256 != digest:
        raise SubmissionConflict(_("Submission '%(instance_id)s' exists already with different content.")
                                 % {"instance_id": instance_id})
    if created and previous is not None:
        _retire(previous.pk)
    added = _store_attachments(submission, attachments, saved)
    if created:
        # Its sender's progress cell (a row every post of the day adds to) last: held until the commit that
        # follows, and taken after the counts an edit moves, in the order every writer takes them.
        counts_received(submission)
    completed = not created and not is_incomplete and not submission.complete
    if completed:
        submission.complete = True
        submission.processing = Submission.Processing.PENDING
        submission.save(update_fields=["complete", "processing", "updated_at"])
    if submission.complete and (created or completed):
        _enqueue_on_commit(submission.pk)
    elif submission.complete and added:  # files merged into a stored interview: processed again, on its own
        _enqueue_on_commit(submission.pk, alone=True)
    return IngestResult(submission=submission, created=created, attachments_added=added)


def _retire(pk: int) -> None:
    """The version an edit replaces is no longer current: it leaves its round's counts."""
    old = Submission.objects.select_for_update(of=("self",)).select_related("questionnaire", "round").get(pk=pk)
    with counts_kept(old):
        old.is_current = False
        old.save(update_fields=["is_current", "updated_at"])


def _insert_or_existing(values: dict[str, Any]) -> tuple[Submission, bool]:
    """Insert first, in one statement that yields to the unique constraint
    (``ON CONFLICT DO NOTHING``): new instances, the common case, cost one
    round trip. When the instance is stored already (a resend, or a
    concurrent post of it that won), return the stored row (not locked). Any
    other constraint breaking (an edited row edited concurrently) ends the
    whole ingest as a conflict, storing nothing."""
    meta = Submission._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    values = {f.name: values[f.name] if f.name in values else f.get_default() for f in fields}
    qn = connection.ops.quote_name
    # Identifiers come from the model; every value is a bound parameter.
    columns = [f.column or f.attname for f in fields]  # a concrete field's column is always set
    sql = (f"INSERT INTO {qn(meta.db_table)} ({', '.join(qn(column) for column in columns)}) "  # noqa: S608
           f"VALUES ({', '.join(['%s'] * len(fields))}) "
           f"ON CONFLICT ({qn('form_id')}, {qn('instance_id')}) DO NOTHING RETURNING {qn('id')}")
    params = [f.get_db_prep_save(values[f.name], connection) for f in fields]
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
    except IntegrityError:
        if values["previous"] is None:
            raise
        raise SubmissionConflict(
            _("Submission '%(instance_id)s' was edited concurrently; send again.")
            % {"instance_id": values["deprecated_id"]}) from None
    if row is not None:
        attnames = {f.name: f.attname for f in fields}
        created = Submission(pk=row[0], **{attnames[name]: value for name, value in values.items()})
        created._state.adding, created._state.db = False, connection.alias
        return created, True
    existing = Submission.objects.get(form_id=values["form_id"], instance_id=values["instance_id"])
    return existing, False


def _edited_submission(form_id: str, deprecated_id: str | None, instance_id: str,
                       editor: User | None) -> Submission | None:
    """The version an edit replaces (None: not an edit, or an unknown deprecatedID, stored as new);
    :class:`Forbidden` when ``editor`` may not edit it (:func:`_may_edit`).

    Its row is locked here, before the ingest writes anything: concurrent edits of one submission queue
    on it, the first is stored and the others then see it edited (409). Without the lock each edit's
    insert took a share lock on the row its ``previous`` names, then ``_retire`` asked for the update
    lock: a deadlock."""
    if not deprecated_id or deprecated_id == instance_id:
        return None
    previous = (Submission.objects.select_for_update(of=("self",)).select_related("round")
                .filter(form_id=form_id, instance_id=deprecated_id).first())
    if previous is None:
        log.info("edit of unknown submission %s of %s stored as new", deprecated_id, form_id)
        return None
    if not _may_edit(previous, editor):
        if round_check_settings(previous.round).team_edits:
            message = _("Submission '%(instance_id)s' was sent by another enumerator; only they, their team or a "
                        "superuser may edit it.")
        else:
            message = _("Submission '%(instance_id)s' was sent by another enumerator; only they or a superuser "
                        "may edit it.")
        raise Forbidden(message % {"instance_id": deprecated_id})
    if not previous.is_current:
        already = Submission.objects.filter(previous=previous).exclude(instance_id=instance_id).exists()
        if already:
            raise SubmissionConflict(_("Submission '%(instance_id)s' has been edited already; edit its latest "
                                       "version.") % {"instance_id": deprecated_id})
    return previous


def _may_edit(previous: Submission, editor: User | None) -> bool:
    """The editing rule: the interview's submitter (an anonymous form's interviews: anonymous senders), a
    superuser, or, where the round allows team edits, an enumerator with the submitter's supervisor."""
    editor_id = editor.pk if editor is not None else None
    if editor_id == previous.submitted_by_id or (editor is not None and editor.is_superuser):
        return True
    if editor_id is None or previous.submitted_by_id is None or not round_check_settings(previous.round).team_edits:
        return False
    supervisors = dict(Enumerator.objects.filter(user_id__in=[editor_id, previous.submitted_by_id])
                       .values_list("user_id", "supervisor_id"))
    supervisor = supervisors.get(editor_id)
    return supervisor is not None and supervisor == supervisors.get(previous.submitted_by_id)


def _store_attachments(submission: Submission, files: list[UploadedFile[bytes]], saved: list[str]) -> list[str]:
    """Stream each file to storage with its SHA-256. A file name already
    stored is kept as it was (resends carry the same files). Each name is
    added to ``saved`` before its file is written, so that the caller can
    delete what a failed ingest left behind, partial files included; a full
    disk is :class:`~mtm.errors.Unavailable` (503: the client sends again)."""
    if not files:
        return []
    present = set(submission.attachments.values_list("filename", flat=True))
    added = []
    for upload in files:
        name = (upload.name or "").rsplit("/", 1)[-1]
        if not name or name in present:
            continue
        digest = hashlib.sha256()
        try:
            with seal_chunks(_hashed(upload.chunks(), digest)) as sealed:  # encrypted as it streams
                attachment = SubmissionAttachment(
                    submission=submission, filename=name, sha256=digest.hexdigest(), size=upload.size or 0,
                    content_type=(upload.content_type or "application/octet-stream")[:100])
                attachment.file = _file_save(attachment, name, File(sealed), saved)
        except OSError as err:
            if storage_full(err):
                raise Unavailable(STORAGE_FULL_MESSAGE) from None
            raise
        attachment.save()
        present.add(name)
        added.append(name)
    return added


def _file_save(attachment: SubmissionAttachment, name: str, content: File[bytes], saved: list[str]) -> str:
    """Save as ``FieldFile.save`` does, noting the name first (a write that fails part-way leaves a file)."""
    field = attachment.file.field
    target = field.storage.get_available_name(field.generate_filename(attachment, name), max_length=field.max_length)
    saved.append(target)
    stored: str = field.storage.save(target, content, max_length=field.max_length)
    if stored != target:
        saved.append(stored)
    return stored


def _files_delete(names: list[str]) -> None:
    storage = SubmissionAttachment._meta.get_field("file").storage
    for name in names:
        try:
            storage.delete(name)
        except Exception:  # the ingest's own error is the one to answer
            log.warning("could not delete %s after a failed ingest", name, exc_info=True)


def _hashed(chunks: Iterable[bytes], digest: _Hash) -> Iterator[bytes]:
    for chunk in chunks:
        digest.update(chunk)
        yield chunk


def _enqueue_on_commit(submission_id: int, *, alone: bool = False) -> None:
    from surveys.tasks import submission_enqueue

    transaction.on_commit(lambda: submission_enqueue(submission_id, alone=alone), robust=True)

