"""Processing in batches (issue 16, item 1): a batch of interviews is processed in one transaction, each in
its own savepoint; one that fails is marked failed and the rest go on; the counts move once for the batch
and equal a rebuild; a batch gives the same records, flags and review states as one by one."""

import pytest

from surveys.models import ReviewEvent, Round, Submission, SubmissionFlag
from surveys.services.processing import submission_process, submissions_process, submissions_process_pending
from tests.surveys.test_processing_faults import FAULT, counts, faulty_outlier_check, ingest, rebuilt_counts

pytestmark = pytest.mark.django_db

__all__ = ["faulty_outlier_check"]  # the fixture, imported for these tests


def outcome(sub, first=None):
    """What processing gave ``sub``; the instanceID of ``first`` named in a reason reads ``FIRST``."""
    sub = Submission.objects.get(pk=sub.pk)
    reasons = SubmissionFlag.objects.filter(submission=sub).values_list("check_name", "reason")
    return (sub.processing, sub.processing_error, sub.review_status, sub.validation, sub.respondent_sex,
            sub.location.code if sub.location else None, sub.tallied,
            sorted((check, reason.replace(first.instance_id, "FIRST") if first else reason)
                   for check, reason in reasons))


def test_a_batch_processes_every_waiting_interview_and_its_counts_equal_a_rebuild(form):
    subs = [ingest(age=str(20 + n)) for n in range(5)]
    assert {s.processing for s in subs} == {"pending"}

    outcomes = submissions_process_pending(limit=200)

    assert [(o.submission_id, o.state, o.changed) for o in outcomes] == [(s.pk, "processed", True) for s in subs]
    assert [outcome(s)[:7] for s in subs] == [("processed", "", None, "valid", "m", "KZ-75", True)] * 5
    after = counts(form.round_id)
    assert after[1] and after[0]
    assert rebuilt_counts(form.round_id) == after


def test_one_failing_interview_is_marked_failed_and_the_rest_of_the_batch_goes_on(form, faulty_outlier_check):
    subs = [ingest(age="30"), ingest(age="92"), ingest(age="31")]

    outcomes = submissions_process(submission_ids=[s.pk for s in subs])

    assert [o.state for o in outcomes] == ["processed", "failed", "processed"]
    failed = Submission.objects.get(pk=subs[1].pk)
    assert (failed.processing, failed.processing_error, failed.answers, failed.tallied) == ("failed", FAULT, None,
                                                                                             False)
    assert not SubmissionFlag.objects.filter(submission=failed).exists()
    assert not ReviewEvent.objects.filter(submission=failed).exists()
    assert [outcome(s)[0] for s in (subs[0], subs[2])] == ["processed", "processed"]
    assert rebuilt_counts(form.round_id) == counts(form.round_id)


def test_a_batch_gives_what_one_by_one_gives(form):
    """The same interviews (one a duplicate of another in the same batch, one outside collection hours) processed
    one by one and as a batch: the same records, flags, review states and counts."""
    def interviews():
        return [ingest(name="Aziz", age="30"), ingest(name="Aziz", age="30"),
                ingest(name="Dana", age="41", start="2024-05-02T03:00:00.000+05:00")]

    one_by_one = interviews()
    for sub in one_by_one:
        submission_process(submission_id=sub.pk)
    singly = [outcome(s, one_by_one[0]) for s in one_by_one]
    counted_singly = counts(form.round_id)
    Submission.objects.all().delete()
    rebuilt_counts(form.round_id)

    batch = interviews()
    submissions_process(submission_ids=[s.pk for s in batch])

    assert [outcome(s, batch[0]) for s in batch] == singly
    assert singly[1][7][0][0] == "duplicate_respondent"
    assert singly[1][7][0][1].startswith("The same respondent as FIRST (sent by enum01 on ")
    assert [o[2] for o in singly] == [None, "has_issues", "has_issues"]
    assert [(status, check, n) for _, status, check, n in counted_singly[2]] == [
        ("has_issues", "duplicate_respondent", 1), ("has_issues", "outside_hours", 1)]
    assert counts(form.round_id) == counted_singly == rebuilt_counts(form.round_id)


def test_running_a_batch_again_changes_nothing(form):
    subs = [ingest(age=str(30 + n)) for n in range(3)]
    submissions_process(submission_ids=[s.pk for s in subs])
    before = ([outcome(s) for s in subs], counts(form.round_id))

    again = submissions_process(submission_ids=[s.pk for s in subs])

    assert [o.changed for o in again] == [False, False, False]
    assert ([outcome(s) for s in subs], counts(form.round_id)) == before
    assert submissions_process_pending(limit=200) == []


def test_the_pending_batch_takes_the_oldest_up_to_its_limit(form):
    subs = [ingest(age=str(30 + n)) for n in range(3)]

    first = submissions_process_pending(limit=2)

    assert [o.submission_id for o in first] == [subs[0].pk, subs[1].pk]
    assert Submission.objects.get(pk=subs[2].pk).processing == "pending"
    assert [o.submission_id for o in submissions_process_pending(limit=2)] == [subs[2].pk]
    assert rebuilt_counts(form.round_id) == counts(form.round_id)


def test_an_unknown_id_in_a_batch_is_missing_and_the_others_are_processed(form):
    sub = ingest()

    outcomes = submissions_process(submission_ids=[sub.pk, sub.pk + 1000])

    assert [(o.submission_id, o.state) for o in outcomes] == [(sub.pk, "processed"), (sub.pk + 1000, "missing")]


def test_the_daily_count_in_a_batch_counts_as_one_by_one_and_forgets_a_failed_interview(form, faulty_outlier_check):
    """Three colleagues with one interview each are processed; then enum01's five in one batch, the third of
    which fails: the fourth is enum01's 3rd counted interview (under the minimum), the fifth the 4th (flagged),
    as one by one would find."""
    Round.objects.filter(pk=form.round_id).update(checks={"location_field": "place", "daily_minimum": 4,
                                                          "enabled": ["high_daily_count", "outlier"]})
    colleagues = [ingest(username=name, name=name) for name in ("enum02", "enum03", "enum04")]
    submissions_process(submission_ids=[s.pk for s in colleagues])
    busy = [ingest(name=f"r{n}", age="92" if n == 2 else "30") for n in range(5)]

    outcomes = submissions_process(submission_ids=[s.pk for s in busy])

    assert [o.state for o in outcomes] == ["processed", "processed", "failed", "processed", "processed"]
    assert [outcome(s)[7] for s in busy] == [[], [], [], [], [(
        "high_daily_count", "4 interviews on 2024-05-02, more than 3 times the team's median of 1.")]]
    assert rebuilt_counts(form.round_id) == counts(form.round_id)



def _statement_kinds(n, first_age):
    """The statements processing ``n`` waiting interviews sends, by kind (its first words, names dropped)."""
    import re
    from collections import Counter

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for k in range(n):
        ingest(age=str(first_age + k))  # no two the same respondent: no flag, no review state
    with CaptureQueriesContext(connection) as captured:
        assert len(submissions_process_pending(limit=200)) == n
    kinds = Counter()
    for query in captured.captured_queries:
        words = re.sub(r"^\d+ times: ", "", query["sql"]).replace('"', "").split()
        kinds[" ".join(w for w in words[:3] if not w.startswith("s1") and not w.startswith("s2"))] += 1
    return kinds


def test_each_interview_of_a_batch_costs_the_same_few_statements(form):
    """What grows with a batch is each interview's own writes (its savepoint, record and quality facts) and
    its duplicate look-up; the form, round, hooks, locations, the sender's assignment, its quality facts and
    back-check are read once per batch or with the interview, its scorecard share written with the batch's."""
    few, many = _statement_kinds(3, first_age=20), _statement_kinds(9, first_age=30)
    grown = {kind: many[kind] - few[kind] for kind in many if many[kind] - few[kind] > 1}
    assert grown == {"SAVEPOINT": 6, "RELEASE SAVEPOINT": 6, "UPDATE surveys_submission SET": 6,
                     "SELECT s.instance_id, s.received_at,": 6, "INSERT INTO surveys_interviewquality": 6}
