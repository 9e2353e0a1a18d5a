"""Processing stored submissions in batches (:func:`submissions_process_pending`, the Celery task's work:
whatever waits, a few hundred at a time; :func:`submissions_process` for given ones, and
:func:`submission_process` — a batch of one — for an edit, a retry or a form key given), under the rows'
locks, each interview through these steps:

1. open the raw instance (:mod:`surveys.services.raw_store`; an encrypted one
   decrypted and its signature checked, :mod:`surveys.services.encrypted_submissions`
   — without its private key it waits as ``awaiting_key``, not failed) and
   validate it against *its* questionnaire version (:mod:`surveys.services.validation`);
2. derive what monitoring needs: interview times and day, location,
   respondent's sex, respondent fingerprint (:func:`checks.interview_facts`);
3. anonymise it into the stored record (:mod:`surveys.services.anonymise`)
   and link its pseudonymous respondent;
4. run the round's quality checks (flags) and let the review workflow note
   any issues (:func:`surveys.services.review.review_after_checks`);
5. keep the round's tallies and dashboard counts in step
   (:func:`surveys.services.counts.counts_kept` around steps 3–4);
6. plan one delivery per active REST service of the form
   (:func:`surveys.services.hooks.delivery.deliveries_plan`), sent on the
   hooks' own queue once the transaction commits.

The steps of each interview run in a savepoint. When any of them raises (an unreadable
instance, a fault in a check), everything they wrote is rolled back and the
submission is marked ``failed`` with a reason naming the step, never an
answer; the queue goes on with the next one (:func:`submission_retry` sends
it round again). A database that is gone is not the submission's fault:
that error is raised, for the task to retry. The counts' differences are
summed over the batch and written once at its end (``counts_batched``).

Running it again on the same submission changes nothing."""

from __future__ import annotations

import datetime as dt
import logging
import traceback
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, models, transaction
from django.db import OperationalError as DatabaseOperationalError
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from mtm.errors import Forbidden, MtmError
from surveys.models import Location, ReviewEvent, Submission, SubmissionComment, SubmissionFlag
from surveys.round_settings import round_check_settings, round_privacy_settings
from surveys.selectors.hooks import active_hook_ids
from surveys.selectors.questionnaires import questionnaire_schema
from surveys.selectors.scope import within_scope
from surveys.services.anonymise import submission_anonymise
from surveys.services.checks import (
    DailyCounts,
    Flag,
    assigned_locations,
    interview_facts,
    submission_checks,
)
from surveys.services.counts import CountsBatch, counts_batched, counts_kept
from surveys.services.encrypted_submissions import AwaitingKey, submission_instance
from surveys.services.hooks.delivery import deliveries_plan
from surveys.services.pending import submissions_pending_again
from surveys.services.quality.facts import quality_record, submission_audit
from surveys.services.respondents import respondent_link
from surveys.services.review import review_after_checks_planned
from surveys.services.validation import FormRules, submission_validate

if TYPE_CHECKING:
    from enumerators.models import AnyUser

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProcessOutcome:
    submission_id: int
    state: str
    changed: bool


@lru_cache(maxsize=64)
def form_rules(pk: int, key: str) -> FormRules:
    return FormRules(questionnaire_schema(pk=pk, key=key))


@dataclass
class _Step:
    """The step processing is at, named in a failed submission's reason."""

    name: str = "validation"


@transaction.atomic
def submission_process(*, submission_id: int) -> ProcessOutcome:
    """Process one submission: a batch of one (an edit, a key given, a retry, the eager mode)."""
    return submissions_process(submission_ids=[submission_id])[0]


@transaction.atomic
def submissions_process(*, submission_ids: Sequence[int]) -> list[ProcessOutcome]:
    """Process the given submissions in one transaction (rows locked in id order), one outcome each in
    id order. Each interview runs in its own savepoint: one that fails is marked failed and the rest
    go on; the counts move once for the whole batch (:func:`surveys.services.counts.counts_batched`)."""
    ids = sorted(set(submission_ids))
    locked = {s.pk: s for s in _locked(Submission.objects.filter(pk__in=ids).order_by("pk"))}
    return _process_batch([locked.get(pk) or pk for pk in ids])


def submissions_process_pending(*, limit: int) -> list[ProcessOutcome]:
    """Process up to ``limit`` of the submissions waiting (complete, pending, raw data kept), oldest first,
    in one batch; rows another worker holds are skipped (``SKIP LOCKED``), so workers on several hosts
    share the queue without waiting on each other. Returns their outcomes (none: nothing waits).

    A batch whose bulk writes break a constraint (two of its interviews writing the same row, which each
    alone would not: the whole batch is rolled back) is processed again one interview per transaction, so
    that no combination of interviews can hold the queue."""
    waiting = (Submission.objects.filter(processing=Submission.Processing.PENDING, complete=True,
                                         raw_purged_at__isnull=True).order_by("received_at", "id"))
    taken: list[int] = []
    try:
        with transaction.atomic():
            batch = sorted(_locked(waiting, skip_locked=True)[:limit], key=lambda s: s.pk)
            taken = [s.pk for s in batch]
            return _process_batch(batch)
    except IntegrityError:
        if len(taken) < 2:
            raise
        log.warning("a batch of %d submissions broke a constraint; processing them one by one", len(taken))
    outcomes = []
    for pk in taken:
        with transaction.atomic():
            outcomes += _process_batch(list(_locked(waiting.filter(pk=pk), skip_locked=True)))
    return outcomes


def _locked(submissions: QuerySet[Submission], *, skip_locked: bool = False) -> QuerySet[Submission]:
    return (submissions.select_for_update(of=("self",), skip_locked=skip_locked)
            # Its quality facts and back-check read with it (one-to-one; processing reads both).
            .select_related("questionnaire", "round", "quality", "backcheck")
            .defer("questionnaire__schema", "questionnaire__xform_xml")  # the schema comes from its cache
            .prefetch_related("flags"))


class BatchWrites:
    """What a batch writes in bulk when it ends: flags added, changed and cleared, the system's review
    entries and review states. Each interview's writes are staged and kept only when its savepoint is
    released (:meth:`staged`)."""

    def __init__(self) -> None:
        self.flags_new: list[SubmissionFlag] = []
        self.flags_changed: list[SubmissionFlag] = []
        self.flags_gone: list[int] = []
        self.events: list[ReviewEvent] = []
        self.reviewed: list[Submission] = []
        self.hooks: dict[str, list[int]] = {}
        self.locations: dict[str, Location | None] = {}
        self.areas: dict[tuple[int, int], list[Location]] = {}
        self.daily = DailyCounts()

    @contextmanager
    def staged(self) -> Iterator[BatchWrites]:
        stage = BatchWrites()
        stage.hooks, stage.locations, stage.areas, stage.daily = self.hooks, self.locations, self.areas, self.daily
        mark = self.daily.mark()
        try:
            yield stage
        except BaseException:
            self.daily.rollback(mark)
            raise
        self.flags_new += stage.flags_new
        self.flags_changed += stage.flags_changed
        self.flags_gone += stage.flags_gone
        self.events += stage.events
        self.reviewed += stage.reviewed

    def hook_ids(self, form_id: str) -> list[int]:
        if form_id not in self.hooks:
            self.hooks[form_id] = active_hook_ids(form_id=form_id)
        return self.hooks[form_id]

    def assigned(self, submission: Submission) -> list[Location]:
        """The sender's assigned locations in the round, looked up once per sender and round in a batch."""
        if submission.submitted_by_id is None:
            return []
        key = (submission.submitted_by_id, submission.round_id)
        if key not in self.areas:
            self.areas[key] = assigned_locations(submission)
        return self.areas[key]

    def write(self) -> None:
        if self.flags_gone:
            SubmissionFlag.objects.filter(pk__in=self.flags_gone).delete()
        SubmissionFlag.objects.bulk_create(self.flags_new, batch_size=500)
        SubmissionFlag.objects.bulk_update(self.flags_changed, ["reason"], batch_size=500)
        ReviewEvent.objects.bulk_create(self.events, batch_size=500)
        # The system's review states: one update per state (not a CASE per row), stamped with the batch's time.
        by_state: dict[str | None, list[int]] = {}
        for submission in self.reviewed:
            by_state.setdefault(submission.review_status, []).append(submission.pk)
        now = timezone.now()
        for state, pks in by_state.items():
            Submission.objects.filter(pk__in=pks).update(review_status=state, reviewed_by=None, reviewed_at=now,
                                                         updated_at=now)


def _process_batch(batch: Sequence[Submission | int]) -> list[ProcessOutcome]:
    outcomes = []
    writes = BatchWrites()
    with counts_batched() as counts:
        for submission in batch:
            if isinstance(submission, int):
                outcomes.append(ProcessOutcome(submission, "missing", changed=False))
            else:
                outcomes.append(_process_one(submission, counts, writes))
        writes.write()
    return outcomes


def _process_one(submission: Submission, counts: CountsBatch, writes: BatchWrites) -> ProcessOutcome:
    if not submission.complete or submission.raw_purged_at is not None:
        # Still arriving, or its raw data are purged: the anonymised record stands as it is.
        return ProcessOutcome(submission.pk, submission.processing, changed=False)
    step = _Step()
    try:
        # A savepoint: a step that fails leaves nothing of the others behind (nor its counts' difference).
        with counts.staged(), writes.staged() as staged, transaction.atomic():
            outcome = _process(submission, step, staged)
    except DatabaseOperationalError:
        raise  # the database itself (gone, deadlock): transient, the task retries
    except AwaitingKey as waiting:
        return _awaiting_key(submission, waiting.message)
    except Exception as err:  # noqa: BLE001 - one poison interview must not stop the queue
        return _failed(submission, step.name, err)
    # The form's REST services: a pending delivery each, sent on their own queue once this commits.
    deliveries_plan(submission=submission, hook_ids=writes.hook_ids(submission.form_id))
    return outcome


def _process(submission: Submission, step: _Step, writes: BatchWrites) -> ProcessOutcome:
    questionnaire = submission.questionnaire
    rules = form_rules(questionnaire.pk, questionnaire.schema_key)
    # "Now" is when it was received, so today() means the same on every run.
    step.name = "decryption" if submission.encrypted else "validation"
    xml = instance_xml(submission)
    step.name = "validation"
    result = submission_validate(xml=xml, rules=rules, now=submission.received_at)
    step.name = "interview facts"
    config = round_check_settings(submission.round)
    facts = interview_facts(answers=result.answers, schema=rules.schema, config=config, locations=writes.locations)
    areas = [facts.location] if facts.location else writes.assigned(submission)
    facts = replace(facts, audit=submission_audit(submission=submission, schema=rules.schema),  # issue 17
                    areas=tuple(areas))
    step.name = "anonymisation"
    privacy = round_privacy_settings(submission.round)
    record = submission_anonymise(answers=result.answers, schema=rules.schema, config=privacy, areas=areas,
                                  instance_id=_first_version(submission))
    step.name = "respondent link"
    respondent = respondent_link(survey_id=submission.round.survey_id, key=record.respondent_key,
                                 consent=record.consent, round_id=submission.round_id)
    step.name = "saving"
    counted_on = _daily_counted(submission)
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
        writes.daily.moved(round_id=submission.round_id, user_id=submission.submitted_by_id, before=counted_on,
                           after=_daily_counted(submission))
        step.name = "checks"
        # Checks read the answers in memory (raw); a refusal is not an interview to check.
        flags = [] if record.consent is False else submission_checks(
            submission=submission, answers=result.answers, schema=rules.schema, facts=facts, config=config,
            daily=writes.daily)
        changed |= _sync_flags(submission, flags, writes)
        counts.flags_now(f.check for f in flags)  # the dashboard's flag counts (the flags written with the batch)
        step.name = "quality facts"  # issue 17: audit log, answer patterns, scorecard cells, back-checks
        quality_record(submission=submission, answers=result.answers, unanswered=result.unanswered,
                       schema=rules.schema, facts=facts, flags=flags, consent=record.consent, areas=areas)
        step.name = "review"
        issues = [p.message for p in result.problems[:5]] + [f.reason for f in flags]
        event = review_after_checks_planned(submission=submission, issues=issues)  # written with the batch
        if event is not None:
            writes.events.append(event)
            writes.reviewed.append(submission)
            changed = True
        step.name = "counts"
    changed |= counts.changed
    return ProcessOutcome(submission.pk, submission.processing, changed)


def _daily_counted(submission: Submission) -> dt.date | None:
    """The day the daily-count check counts ``submission`` on (None: not counted)."""
    if not submission.is_current or submission.submitted_by_id is None:
        return None
    return submission.interview_date


def _failed(submission: Submission, step: str, err: Exception) -> ProcessOutcome:
    """Mark the submission failed after a step raised (its savepoint rolled back): a reason naming the
    step and the error's type, never its text (which may quote an answer); the traceback (code, no
    values) in the log. The failed state moves the counts as any other change does."""
    kind = type(err).__name__
    if isinstance(err, MtmError):
        reason = err.message  # the services' own messages never quote answers
        log.warning("submission %s: %s failed: %s", submission.pk, step, kind)
    else:
        reason = f"Processing stopped at the {step} step ({kind}); the server log has the details."
        log.error("submission %s: %s failed with %s\n%s", submission.pk, step, kind,
                  "".join(traceback.format_tb(err.__traceback__)).rstrip())
    submission.refresh_from_db()
    with counts_kept(submission) as counts:
        outcome = _finish(submission, {"processing": Submission.Processing.FAILED, "processing_error": reason})
    return ProcessOutcome(submission.pk, submission.processing, outcome.changed or counts.changed)


def _awaiting_key(submission: Submission, reason: str) -> ProcessOutcome:
    """An encrypted submission whose private key is not given yet: it waits (not failed, not invalid) until
    :func:`surveys.services.form_keys.form_private_key_set` sends it round again."""
    submission.refresh_from_db()
    with counts_kept(submission) as counts:
        outcome = _finish(submission, {"processing": Submission.Processing.AWAITING_KEY, "processing_error": reason})
    return ProcessOutcome(submission.pk, submission.processing, outcome.changed or counts.changed)


@transaction.atomic
def submissions_retry(*, submission_ids: Iterable[int], by: AnyUser | None) -> int:
    """Send failed submissions round again (after the fault is fixed): each goes back to ``pending``, with
    a comment by ``by`` as its audit entry, and is enqueued once the transaction commits. Those not failed
    (or whose raw data are purged) are left alone. Needs the review permission and the submissions in
    ``by``'s scope (a supervisor's team); otherwise nothing changes. Returns how many were sent again;
    running it twice sends none."""
    if not (by is not None and by.is_active and (by.is_superuser or by.has_perm("surveys.review_submission"))):
        raise Forbidden(_("This account may not process submissions again."))
    ids = sorted(set(submission_ids))
    if within_scope(Submission.objects.filter(pk__in=ids), user=by).count() != len(ids):  # one query
        raise Forbidden(_("This submission is not of your team."))
    failed = list(Submission.objects.select_for_update(of=("self",)).select_related("round")
                  .filter(pk__in=ids, processing=Submission.Processing.FAILED, complete=True,
                          raw_purged_at__isnull=True)  # nothing left to process again: it would wait for ever
                  .order_by("pk"))
    for submission in failed:
        SubmissionComment.objects.create(submission=submission, author=by,
                                         text=f"Processing again (it had failed: {submission.processing_error})")
    return submissions_pending_again(failed)


def _first_version(submission: Submission) -> str:
    """The instanceID an edit chain started with: every version of an
    interview gets the same GPS displacement, so versions cannot be averaged."""
    root = submission
    while root.previous_id is not None:
        root = Submission.objects.only("instance_id", "previous_id").get(pk=root.previous_id)
    return root.instance_id


def instance_xml(submission: Submission) -> bytes:
    """The XForm instance, opened from the raw store (built from the JSON body for KoBo-style posts, decrypted
    for an encrypted one: :mod:`surveys.services.encrypted_submissions`)."""
    return submission_instance(submission)


def _finish(submission: Submission, values: dict[str, Any]) -> ProcessOutcome:
    changed = [name for name, value in values.items() if _stored(submission, name) != _stored_as(value)]
    if changed:
        for name in changed:
            setattr(submission, name, values[name])
        submission.processed_at = timezone.now()
        submission.save(update_fields=[*changed, "processed_at", "updated_at"])
    return ProcessOutcome(submission.pk, submission.processing, bool(changed))


def _stored(submission: Submission, name: str) -> Any:
    """What ``submission`` holds at ``name``: a foreign key's id, not its row (no query to compare it)."""
    return getattr(submission, _attname(name))


@lru_cache(maxsize=64)
def _attname(name: str) -> str:
    field = Submission._meta.get_field(name)
    return field.attname if isinstance(field, models.Field) else name


def _stored_as(value: Any) -> Any:
    return value.pk if isinstance(value, models.Model) else value


def _sync_flags(submission: Submission, flags: list[Flag], writes: BatchWrites) -> bool:
    """The submission's flags made ``flags`` (written with the batch: :class:`BatchWrites`)."""
    wanted = {f.check: f.reason for f in flags}
    stored = {f.check_name: f for f in submission.flags.all()}
    gone = [flag.pk for name, flag in stored.items() if name not in wanted]
    writes.flags_gone += gone
    changed = bool(gone)
    for name, reason in wanted.items():
        if name not in stored:
            writes.flags_new.append(SubmissionFlag(submission=submission, check_name=name, reason=reason))
            changed = True
        elif stored[name].reason != reason:
            stored[name].reason = reason
            writes.flags_changed.append(stored[name])
            changed = True
    return changed
