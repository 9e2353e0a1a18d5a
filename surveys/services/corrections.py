"""Corrections by supervisors in the browser (ADR 0020), as SurveyCTO's review and correct: the interview
opened in ODK Web Forms' edit mode, a wrong answer changed, saved with a reason as a new version.

- Who: the interview's supervisor (its submitter's ``Enumerator.supervisor``), the data-protection role or
  a superuser (:func:`may_correct`); anyone else :class:`~mtm.errors.Forbidden`, nothing stored.
- What the page gets (:func:`correction_instance`): the instance with every field tagged ``identifier``,
  ``pseudonym`` or ``location``, every GPS answer and every photo / audio / file answer emptied: a
  supervisor sees none of them raw anywhere else either (released answers drop identifiers, keep
  pseudonyms as keyed hashes and GPS displaced).
- What is saved (:func:`submission_correct`): the edited instance (``meta/deprecatedID`` = the version it
  corrects, a new ``instanceID``) with those fields put back from the raw version on the server, stored
  through the ingest service as an edit (:func:`~surveys.services.ingest.submission_ingest_correction`:
  the ``deprecatedID`` chain, the counts kept), the kept files carried to it, its audit a
  :class:`~surveys.models.SubmissionCorrection` (who, when, why) and a comment; processing then runs on
  commit and the tallies follow. The replaced version stays, unchanged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from django.db import transaction
from django.utils.translation import gettext as _
from lxml import etree

from enumerators.models import Enumerator
from enumerators.roles import DATA_PROTECTION
from mtm.errors import Forbidden, InvalidInput, NotFound
from surveys.form_schema import FormSchema
from surveys.models import Submission, SubmissionAttachment, SubmissionComment, SubmissionCorrection
from surveys.release import withheld_paths
from surveys.selectors.questionnaires import questionnaire_schema
from surveys.services.anonymise import GEO_TYPES
from surveys.services.encrypted_submissions import submission_instance
from surveys.services.ingest import IngestResult, submission_ingest_correction
from surveys.services.instance import BINARY_TYPES, instance_header, parse_instance

if TYPE_CHECKING:
    from enumerators.models import AnyUser, User

#: How long a reason may be (the audit keeps it whole).
REASON_MAX = 2000
#: Privacy tags whose raw answers a correction page never gets (they are carried over on the server).
WITHHELD_TAGS = {"identifier", "pseudonym", "location"}


def may_correct(user: AnyUser | None, submission: Submission) -> bool:
    """The interview's supervisor, the data-protection role, or a superuser."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser or user.groups.filter(name=DATA_PROTECTION).exists():
        return True
    if submission.submitted_by_id is None:
        return False
    return Enumerator.objects.filter(user_id=submission.submitted_by_id, supervisor_id=user.pk).exists()


def submission_for_correction(*, user: AnyUser | None, submission_id: int) -> Submission:
    """The current version of an interview ``user`` may correct: 404 unknown, 403 not theirs, 400 one that
    cannot be corrected in the browser (replaced already, encrypted, a part still missing)."""
    submission = (Submission.objects.select_related("questionnaire", "round").filter(pk=submission_id).first())
    if submission is None:
        raise NotFound(_("No submission %(id)s.") % {"id": submission_id})
    if not may_correct(user, submission):
        raise Forbidden(_("Only the interview's supervisor or the data-protection role may correct it."))
    if not submission.is_current:
        raise InvalidInput(_("This version has been replaced; correct its latest version."))
    if submission.encrypted:
        raise InvalidInput(_("An encrypted interview cannot be corrected in the browser."))
    if not submission.complete:
        raise InvalidInput(_("This interview is still being received."))
    return submission


def correction_instance(*, user: AnyUser | None, submission_id: int) -> bytes:
    """The instance a correction page opens: the current answers, identifier fields and files emptied."""
    submission = submission_for_correction(user=user, submission_id=submission_id)
    root = parse_instance(submission_instance(submission))
    for nodes in _withheld_nodes(root, _schema(submission)).values():
        for node in nodes:
            node.text = None
            for child in list(node):
                node.remove(child)
    return etree.tostring(root, encoding="utf-8", xml_declaration=False)


@transaction.atomic
def submission_correct(*, submission_id: int, by: AnyUser | None, xml: bytes, reason: str,
                       user_agent: str = "") -> IngestResult:
    """Store a correction of an interview (see the module). Running it twice with the same instance stores
    it once (the second is the ingest's resend, 202)."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput(_("A correction needs a reason."), field="reason")
    if len(reason) > REASON_MAX:
        raise InvalidInput(_("The reason is longer than %(n)s characters.") % {"n": REASON_MAX}, field="reason")
    root = parse_instance(xml)
    header = instance_header(root)
    existing = Submission.objects.filter(form_id=header.form_id, instance_id=header.instance_id).first()
    if existing is not None and hasattr(existing, "correction") and existing.previous_id == submission_id:
        return IngestResult(submission=existing, created=False)  # a resend of this correction
    previous = submission_for_correction(user=by, submission_id=submission_id)
    if header.form_id != previous.form_id or header.deprecated_id != previous.instance_id:
        raise InvalidInput(_("The corrected instance is not an edit of interview '%(instance_id)s'.")
                           % {"instance_id": previous.instance_id})
    if header.instance_id == previous.instance_id:
        raise InvalidInput(_("A correction needs an instanceID of its own."))
    if header.version != previous.questionnaire.version:
        raise InvalidInput(_("A correction is made with the interview's own form version."))
    old_root = parse_instance(submission_instance(previous))
    kept = _carry_over(old_root, root, _schema(previous))
    result = submission_ingest_correction(xml=etree.tostring(root, encoding="utf-8", xml_declaration=True),
                                          previous=previous, user_agent=user_agent)
    new = result.submission
    for attachment in previous.attachments.filter(filename__in=kept):
        SubmissionAttachment.objects.get_or_create(
            submission=new, filename=attachment.filename,
            defaults={"sha256": attachment.sha256, "size": attachment.size,
                      "content_type": attachment.content_type, "file": attachment.file.name})
    actor = cast("User", by)  # may_correct let only an active account through
    SubmissionCorrection.objects.create(submission=new, replaced=previous, actor=actor, reason=reason)
    SubmissionComment.objects.create(submission=new, author=actor,
                                     text=_("Corrected in the browser: %(reason)s") % {"reason": reason})
    return result


def _schema(submission: Submission) -> FormSchema:
    return questionnaire_schema(pk=submission.questionnaire_id, key=submission.questionnaire.schema_key)


def _withheld_nodes(root: etree._Element, schema: FormSchema) -> dict[str, list[etree._Element]]:
    """The elements of the fields a correction page never gets, by path, in document order (a repeat's
    instances one after the other)."""
    withheld = withheld_paths(schema)
    root_name = schema.get("root", "data")
    found = {}
    for field in schema.get("fields", []):
        if (field["path"] in withheld or field.get("privacy") in WITHHELD_TAGS or field["type"] in BINARY_TYPES
                or field["type"] in GEO_TYPES):
            relative = field["xpath"].removeprefix(f"/{root_name}/")
            found[field["path"]] = list(root.iterfind("/".join(f"{{*}}{part}" for part in relative.split("/"))))
    return found


def _carry_over(old_root: etree._Element, new_root: etree._Element, schema: FormSchema) -> list[str]:
    """Put the withheld answers of the raw version back into the corrected instance (the n-th element of a
    path gets the n-th old one); returns the file names kept."""
    old, new = _withheld_nodes(old_root, schema), _withheld_nodes(new_root, schema)
    binary = {f["path"] for f in schema.get("fields", []) if f["type"] in BINARY_TYPES}
    kept = []
    for path, old_nodes in old.items():
        for old_node, new_node in zip(old_nodes, new.get(path, []), strict=False):
            new_node.text = old_node.text
            if path in binary and old_node.text and old_node.text.strip():
                kept.append(old_node.text.strip())
    return kept
