"""Processing a stored submission: read its instance into answers keyed by
field path. Later steps (validation, anonymisation, aggregation) hang off
``submission_process``. Running it again on the same submission changes nothing."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from lxml import etree

from mtm.errors import MtmError
from surveys.models import Submission
from surveys.services.instance import parse_instance

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProcessOutcome:
    submission_id: int
    state: str
    changed: bool


@transaction.atomic
def submission_process(*, submission_id: int) -> ProcessOutcome:
    submission = Submission.objects.select_for_update().select_related("questionnaire").filter(pk=submission_id).first()
    if submission is None:
        return ProcessOutcome(submission_id, "missing", changed=False)
    if not submission.complete:
        return ProcessOutcome(submission_id, submission.processing, changed=False)
    try:
        answers = instance_answers(submission.instance_xml, submission.questionnaire.schema)
    except MtmError as err:
        return _finish(submission, Submission.Processing.FAILED, None, err.message)
    return _finish(submission, Submission.Processing.PROCESSED, answers, "")


def _finish(submission: Submission, state: str, answers: dict[str, Any] | None, error: str) -> ProcessOutcome:
    changed = (submission.processing, submission.answers, submission.processing_error) != (state, answers, error)
    if changed:
        submission.processing, submission.answers, submission.processing_error = state, answers, error
        submission.processed_at = timezone.now()
        submission.save(update_fields=["processing", "answers", "processing_error", "processed_at", "updated_at"])
    if state == Submission.Processing.FAILED:
        log.warning("submission %s could not be processed", submission.pk)
    return ProcessOutcome(submission.pk, state, changed)


def instance_answers(xml: bytes, schema: dict[str, Any]) -> dict[str, Any]:
    """Answers keyed by group path (``demographics/age``); a repeat is a list
    of records keyed the same way relative to the form (``member/member_age``).
    Empty answers are left out; values are the strings the device sent."""
    root = parse_instance(xml)
    repeats = {f["path"] for f in schema.get("fields", []) if f["type"] == "repeat"}
    return _collect(root, prefix="", repeats=repeats)


def _collect(element: etree._Element, *, prefix: str, repeats: set[str]) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for child in element:
        if not isinstance(child.tag, str):
            continue
        path = f"{prefix}{etree.QName(child).localname}"
        if path in repeats:
            answers.setdefault(path, []).append(_collect(child, prefix=f"{path}/", repeats=repeats))
        elif len(child):
            answers.update(_collect(child, prefix=f"{path}/", repeats=repeats))
        elif child.text is not None and child.text.strip() != "":
            answers[path] = child.text.strip()
    return answers


def submissions_unprocessed(*, older_than: timedelta = timedelta(0), form_id: str | None = None) -> list[int]:
    """Ids of complete submissions still waiting, oldest first."""
    qs = Submission.objects.filter(processing=Submission.Processing.PENDING, complete=True,
                                   received_at__lte=timezone.now() - older_than)
    if form_id:
        qs = qs.filter(form_id=form_id)
    return list(qs.order_by("received_at", "id").values_list("id", flat=True))
