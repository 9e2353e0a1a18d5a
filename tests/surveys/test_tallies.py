"""Running tallies: processing, reviews and edits keep them equal to a rebuild from the records."""

from decimal import Decimal

import pytest

from enumerators.models import User
from surveys.models import Round, RoundNumberTally, RoundTally, Submission
from surveys.selectors.reports import round_tabulate
from surveys.selectors.tallies import records_tallies, round_tallies
from surveys.services.processing import submission_process
from surveys.services.review import submission_review
from surveys.services.tallies import round_tally_rebuild
from tests.reports import ROUND4, send_report_row

pytestmark = pytest.mark.django_db


def snapshot(round_: Round) -> dict:
    return {(t.form_id, t.dimension, t.group, t.path, t.value): t.count
            for t in RoundTally.objects.filter(round=round_)}


def sums(round_: Round) -> dict:
    return {(t.form_id, t.dimension, t.group, t.path): (t.n, Decimal(t.total), Decimal(t.squares))
            for t in RoundNumberTally.objects.filter(round=round_)}


def assert_equals_rebuild(round_: Round) -> dict:
    incremental, incremental_sums = snapshot(round_), sums(round_)
    round_tally_rebuild(round_id=round_.pk)
    assert (snapshot(round_), sums(round_)) == (incremental, incremental_sums)
    assert incremental_sums[("report", "", "", "age")][0] == incremental[("report", "", "", "age", "@base")]
    return incremental


def send(row, *, deprecated=None):
    return send_report_row("report", row, deprecated=deprecated)


def cell(round_, path, value, dimension="", group=""):
    return snapshot(round_).get(("report", dimension, group, path, value), 0)


def test_processing_fills_the_tallies_cell_by_cell(rounds):
    tallies = assert_equals_rebuild(rounds)

    assert tallies[("report", "", "", "", "@n")] == 7
    assert tallies[("report", "", "", "sex", "male")] == 5
    assert tallies[("report", "", "", "pregnant", "@asked")] == 2  # women only
    assert tallies[("report", "", "", "reasons", "@chosen")] == 8
    assert tallies[("report", "", "", "age", "36")] == 2
    assert tallies[("report", "sex", "female", "age", "20")] == 1
    assert tallies[("report", "sex", "female", "", "@n")] == 2
    assert ("report", "sex", "female", "sex", "male") not in tallies
    assert Submission.objects.filter(round=rounds, tallied=True).count() == 7


def test_reject_approve_again_and_clear_correct_the_tallies(rounds):
    reviewer = User.objects.get(username="sup1")
    first = Submission.objects.filter(round=rounds).order_by("id").first()  # male, 30, married

    submission_review(submission_id=first.pk, status="not_approved", by=reviewer)
    assert (cell(rounds, "", "@n"), cell(rounds, "age", "30"), cell(rounds, "sex", "male")) == (6, 0, 4)
    assert ("report", "", "", "age", "30") not in assert_equals_rebuild(rounds)

    submission_review(submission_id=first.pk, status="approved", by=reviewer)
    assert (cell(rounds, "", "@n"), cell(rounds, "age", "30"), cell(rounds, "sex", "male")) == (7, 1, 5)
    assert_equals_rebuild(rounds)

    rejected = Submission.objects.get(round=rounds, review_status="not_approved")
    submission_review(submission_id=rejected.pk, status=None, by=reviewer)
    assert (cell(rounds, "", "@n"), cell(rounds, "sex", "female")) == (8, 3)
    assert_equals_rebuild(rounds)


def test_an_edit_replaces_the_earlier_version(rounds):
    original = send(("male", 45, "single", "work", "", "no", ""))
    assert (cell(rounds, "", "@n"), cell(rounds, "age", "45")) == (8, 1)

    edited = send(("female", 46, "single", "work", "no", "no", ""), deprecated=original.instance_id)

    original.refresh_from_db()
    assert (original.is_current, original.tallied, edited.tallied) == (False, False, True)
    assert (cell(rounds, "", "@n"), cell(rounds, "age", "45"), cell(rounds, "age", "46")) == (8, 0, 1)
    assert cell(rounds, "sex", "female") == 3
    assert_equals_rebuild(rounds)


def test_an_invalid_interview_counts_only_once_approved(rounds):
    reviewer = User.objects.get(username="sup1")
    invalid = send(("male", 41, "widowed", "work", "", "no", ""))  # no such marital status
    assert (invalid.validation, invalid.review_status, invalid.tallied) == ("invalid", "has_issues", False)
    assert cell(rounds, "", "@n") == 7

    submission_review(submission_id=invalid.pk, status="approved", by=reviewer)

    assert (cell(rounds, "", "@n"), cell(rounds, "age", "41"), cell(rounds, "marital", "widowed")) == (8, 1, 0)
    assert cell(rounds, "marital", "@base") == 7  # answered, but not with a choice of the list
    assert_equals_rebuild(rounds)


def test_processing_again_changes_nothing(rounds):
    before = snapshot(rounds)
    for sub in Submission.objects.filter(round=rounds):
        assert submission_process(submission_id=sub.pk).changed is False
    assert snapshot(rounds) == before


def test_rebuild_twice_is_the_same(rounds):
    assert round_tally_rebuild(round_id=rounds.pk) == 7
    first = snapshot(rounds)
    RoundTally.objects.filter(round=rounds, value="@n").delete()  # damaged tallies are repaired
    assert round_tally_rebuild(round_id=rounds.pk) == 7
    assert snapshot(rounds) == first


def test_tallies_equal_the_same_cells_counted_from_the_records(rounds):
    from surveys.selectors.submissions import counted_submissions

    schema = rounds.questionnaires.get().schema
    records = [(s.answers, s.unanswered, s.location.code if s.location else None)
               for s in counted_submissions(round_id=rounds.pk)]
    in_memory = records_tallies(records, schema=schema, by="sex")

    stored = round_tallies(round_id=rounds.pk, form_ids=["report"], dimensions=["", "location", "sex"],
                           numeric_paths=["age"])
    assert stored == in_memory
    assert stored.numbers[("sex", "female")]["age"] == {"mean": 28.0, "median": 28, "min": 20, "max": 36, "sd": 11.31}
    assert stored.numbers[("", "")]["age"] == {"mean": 34.29, "median": 36, "min": 20, "max": 50, "sd": 9.55}


def test_a_breakdown_not_kept_current_is_counted_from_the_records(rounds):
    kept = round_tabulate(form_id="report", by="remit")  # not kept in the tallies: read from the records
    assert {k: v["base"] for k, v in next(q for q in kept["questions"] if q["name"] == "age")["by"].items()} == \
        {"yes": 4, "no": 3}

    rounds.report_by = ["remit"]
    rounds.save()
    round_tally_rebuild(round_id=rounds.pk)

    assert cell(rounds, "age", "@base", "remit", "yes") == 4
    assert round_tabulate(form_id="report", by="remit") == kept


def test_the_report_stays_equal_to_a_rebuild_after_reviews(rounds):
    reviewer = User.objects.get(username="sup1")
    for sub in Submission.objects.filter(round=rounds).order_by("id")[:3]:
        submission_review(submission_id=sub.pk, status="not_approved", by=reviewer)
    live = round_tabulate(form_id="report", by="sex", compare=3)
    round_tally_rebuild(round_id=rounds.pk)
    assert round_tabulate(form_id="report", by="sex", compare=3) == live
    assert live["submissions"] == len(ROUND4) - 1 - 3


def test_the_counting_rule_is_the_same_in_sql_and_in_python(rounds):
    import itertools

    from surveys.selectors.submissions import COUNTED, submission_counts

    questionnaire = rounds.questionnaires.get()
    combos = list(itertools.product([True, False], [None, {"sex": "male"}],
                                    [None, "approved", "not_approved", "on_hold", "has_issues"],
                                    [None, True, False], ["valid", "invalid", "pending"]))
    Submission.objects.bulk_create([
        Submission(questionnaire=questionnaire, round=rounds, form_id="rule", instance_id=f"uuid:{n}",
                   raw_body=b"", raw_sha256="0" * 64, is_current=current, answers=answers, review_status=review,
                   consent=consent, validation=validation)
        for n, (current, answers, review, consent, validation) in enumerate(combos)])
    rows = Submission.objects.filter(form_id="rule")

    expected = {s.pk for s in rows if submission_counts(s)}
    assert {s.pk for s in rows.filter(COUNTED)} == expected
    assert {s.pk for s in rows.exclude(COUNTED)} == {s.pk for s in rows} - expected
    assert len(expected) == 1 * 1 * 4 * 2 * 1 + 1 * 1 * 1 * 2 * 2  # valid and not rejected, or approved
    Submission.objects.filter(form_id="rule").update(tallied=True)
    Submission.objects.filter(form_id="rule", pk__in=list(expected)[:3]).update(tallied=False)

    round_tally_rebuild(round_id=rounds.pk)

    assert set(rows.filter(tallied=True).values_list("pk", flat=True)) == expected
