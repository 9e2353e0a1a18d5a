"""Processing a stored submission (:func:`submission_process`, the Celery
task's work), under the submission's row lock:

1. open the raw instance (:mod:`surveys.services.raw_store`) and validate it
   against *its* questionnaire version (:mod:`surveys.services.validation`);
   an unreadable one is marked failed with a reason;
2. derive what monitoring needs: interview times and day, location,
   respondent's sex, respondent fingerprint (:func:`checks.interview_facts`);
3. anonymise it into the stored record (:mod:`surveys.services.anonymise`)
   and link its pseudonymous respondent;
4. run the round's quality checks (flags) and let the review workflow note
   any issues (:func:`surveys.services.review.review_after_checks`);
5. keep the round's tallies and dashboard counts in step
   (:func:`surveys.services.counts.counts_kept` around steps 3–4).

Running it again on the same submission changes nothing."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.db import transaction
from django.utils import timezone

from mtm.errors import MtmError
from surveys.models import Submission, SubmissionFlag
from surveys.round_settings import round_check_settings, round_privacy_settings
from surveys.selectors.questionnaires import questionnaire_schema
from surveys.services.anonymise import submission_anonymise
from surveys.services.checks import Flag, assigned_locations, interview_facts, submission_checks
from surveys.services.counts import counts_kept
from surveys.services.raw_store import raw_open
from surveys.services.respondents import respondent_link
from surveys.services.review import review_after_checks
from surveys.services.validation import FormRules, submission_validate

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProcessOutcome:
    submission_id: int
    state: str
    changed: bool


@lru_cache(maxsize=64)
def form_rules(pk: int, md5: str) -> FormRules:
    return FormRules(questionnaire_schema(pk=pk, md5=md5))


@transaction.atomic
def submission_process(*, submission_id: int) -> ProcessOutcome:
    submission = (Submission.objects.select_for_update(of=("self",))
                  .select_related("questionnaire", "round")
                  .defer("questionnaire__schema", "questionnaire__xform_xml")  # the schema comes from its cache
                  .filter(pk=submission_id).first())
    if submission is None:
        return ProcessOutcome(submission_id, "missing", changed=False)
    if not submission.complete or submission.raw_purged_at is not None:
        # Still arriving, or its raw data are purged: the anonymised record stands as it is.
        return ProcessOutcome(submission_id, submission.processing, changed=False)
    questionnaire = submission.questionnaire
    rules = form_rules(questionnaire.pk, questionnaire.md5)
    try:
        # "Now" is when it was received, so today() means the same on every run.
        result = submission_validate(xml=instance_xml(submission), rules=rules, now=submission.received_at)
    except MtmError as err:
        return _finish(submission, {"processing": Submission.Processing.FAILED, "processing_error": err.message})
    except Exception as err:  # noqa: BLE001 - one unreadable interview must not stop the queue
        log.error("submission %s: validation failed with %s", submission.pk, type(err).__name__)
        return _finish(submission, {"processing": Submission.Processing.FAILED,
                                    "processing_error": f"Validation failed ({type(err).__name__}); see the log."})
    config = round_check_settings(submission.round)
    facts = interview_facts(answers=result.answers, schema=rules.schema, config=config)
    privacy = round_privacy_settings(submission.round)
    areas = [facts.location] if facts.location else assigned_locations(submission)
    record = submission_anonymise(answers=result.answers, schema=rules.schema, config=privacy, areas=areas,
                                  instance_id=_first_version(submission))
    respondent = respondent_link(survey_id=submission.round.survey_id, key=record.respondent_key,
                                 consent=record.consent, round_id=submission.round_id)
    with counts_kept(submission) as counts:
        changed = _finish(submission, {
            "answers": record.answers, "consent": record.consent, "respondent": respondent,
            "validation": result.status, "unanswered": [] if record.consent is False else result.unanswered,
            "problems": [p.as_dict() for p in result.problems], "started_at": facts.started_at,
            "ended_at": facts.ended_at, "interview_date": facts.interview_date, "location": facts.location,
            "fingerprint": "" if record.consent is False else facts.fingerprint,
            "respondent_sex": "" if record.consent is False else facts.respondent_sex,
            "processing": Submission.Processing.PROCESSED, "processing_error": "",
        }).changed
        # Checks read the answers in memory (raw); a refusal is not an interview to check.
        flags = [] if record.consent is False else submission_checks(
            submission=submission, answers=result.answers, schema=rules.schema, facts=facts, config=config)
        changed |= _sync_flags(submission, flags)
        issues = [p.message for p in result.problems[:5]] + [f.reason for f in flags]
        changed |= review_after_checks(submission=submission, issues=issues)
    changed |= counts.changed
    return ProcessOutcome(submission.pk, submission.processing, changed)


def _first_version(submission: Submission) -> str:
    """The instanceID an edit chain started with: every version of an
    interview gets the same GPS displacement, so versions cannot be averaged."""
    root = submission
    while root.previous_id is not None:
        root = Submission.objects.only("instance_id", "previous_id").get(pk=root.previous_id)
    return root.instance_id


def instance_xml(submission: Submission) -> bytes:
    """The XForm instance, opened from the raw store (built from the JSON body for KoBo-style posts)."""
    return raw_open(submission.xml if submission.xml is not None else submission.raw_body)


def _finish(submission: Submission, values: dict[str, Any]) -> ProcessOutcome:
    changed = [name for name, value in values.items() if getattr(submission, name) != value]
    if changed:
        for name in changed:
            setattr(submission, name, values[name])
        submission.processed_at = timezone.now()
        submission.save(update_fields=[*changed, "processed_at", "updated_at"])
    if submission.processing == Submission.Processing.FAILED:
        log.warning("submission %s could not be processed", submission.pk)
    return ProcessOutcome(submission.pk, submission.processing, bool(changed))


def _sync_flags(submission: Submission, flags: list[Flag]) -> bool:
    wanted = {f.check: f.reason for f in flags}
    stored = {f.check_name: f for f in submission.flags.all()}
    gone = [name for name in stored if name not in wanted]
    if gone:
        submission.flags.filter(check_name__in=gone).delete()
    changed = bool(gone)
    for name, reason in wanted.items():
        if name not in stored:
            SubmissionFlag.objects.create(submission=submission, check_name=name, reason=reason)
            changed = True
        elif stored[name].reason != reason:
            SubmissionFlag.objects.filter(pk=stored[name].pk).update(reason=reason)
            changed = True
    return changed
