"""Number questions in the round tables (issue 16, item 3): their running sums
(`RoundNumberTally`) and bucket cells are kept by processing and reviews equal
to a rebuild, and the report by location reads exact figures from them (the
median from the buckets that hold it)."""

from decimal import Decimal

import pytest

from enumerators.models import User
from surveys.models import Round, RoundNumberTally, RoundTally, Submission
from surveys.selectors.reports import round_records, round_tabulate
from surveys.selectors.tallies import bucket_bounds, number_bucket, records_tallies, round_tallies
from surveys.services.ingest import Sender, submission_ingest_xml
from surveys.services.processing import submissions_process
from surveys.services.questionnaires import questionnaire_import
from surveys.services.review import submission_review
from surveys.services.tallies import round_tally_rebuild
from tests.factories import AssignmentFactory, EnumeratorFactory, RoundFactory, UserFactory
from tests.submissions import new_instance_id

pytestmark = pytest.mark.django_db

FORM = """| survey |
| | type | name | label |
| | select_one place | place | Place |
| | select_one sex | sex | Sex |
| | integer | age | Age |
| | decimal | income | Income |
| choices |
| | list_name | name | label |
| | place | kz_75 | Almaty |
| | place | kz_71 | Astana |
| | sex | male | Male |
| | sex | female | Female |
| settings |
| | form_id | version |
| | nums | 1 |
"""

INTERVIEWS = [  # place, sex, age, income
    ("kz_75", "male", "30", "10.5"),
    ("kz_75", "female", "40", "250"),
    ("kz_75", "male", "50", "253.7"),
    ("kz_75", "female", "20", "-3.25"),
    ("kz_71", "male", "36", "0"),
    ("kz_71", "male", "28", "99.9"),
    ("kz_71", "female", "36", "100"),
]


@pytest.fixture
def numbers_round(db):
    """The seven interviews above, ingested and processed in one batch; locations from `place`."""
    round_ = RoundFactory()
    round_.checks = {"location_field": "place"}
    round_.save()
    questionnaire_import(source=FORM.encode(), filename="nums.md", survey_slug="mtm-kz", round_number=round_.number)
    AssignmentFactory(enumerator=EnumeratorFactory(user=UserFactory(username="enum01")), round=round_)
    UserFactory(username="sup1", is_superuser=True)
    subs = [send(*row) for row in INTERVIEWS]
    submissions_process(submission_ids=[s.pk for s in subs])
    return round_


def send(place, sex, age, income, *, deprecated=None):
    meta = f"<instanceID>{new_instance_id()}</instanceID>"
    if deprecated:
        meta += f"<deprecatedID>{deprecated}</deprecatedID>"
    xml = (f'<data id="nums" version="1"><place>{place}</place><sex>{sex}</sex><age>{age}</age>'
           f"<income>{income}</income><meta>{meta}</meta></data>").encode()
    return submission_ingest_xml(xml=xml, sender=Sender(user=User.objects.get(username="enum01"))).submission


def snapshot(round_: Round) -> tuple[dict, dict]:
    """Every tally cell (with its ``number``) and every running sum of the round."""
    cells = {(t.form_id, t.dimension, t.group, t.path, t.value): (t.count, t.number)
             for t in RoundTally.objects.filter(round=round_)}
    sums = {(t.form_id, t.dimension, t.group, t.path): (t.n, Decimal(t.total), Decimal(t.squares))
            for t in RoundNumberTally.objects.filter(round=round_)}
    return cells, sums


def assert_equals_rebuild(round_: Round) -> tuple[dict, dict]:
    incremental = snapshot(round_)
    round_tally_rebuild(round_id=round_.pk)
    assert snapshot(round_) == incremental
    return incremental


def figures(table):
    return table["base"], table["mean"], table["median"], table["min"], table["max"], table["sd"]


def test_processing_keeps_running_sums_bucket_cells_and_numbers_equal_to_a_rebuild(numbers_round):
    cells, sums = assert_equals_rebuild(numbers_round)

    assert sums[("nums", "location", "KZ-75", "income")] == (4, Decimal("510.95"), Decimal("126984.5025"))
    assert sums[("nums", "", "", "age")] == (7, Decimal(240), Decimal(8776))
    assert ("nums", "", "", "place") not in sums  # choices have no sums
    assert cells[("nums", "", "", "income", "253.7")] == (1, 253.7)
    assert cells[("nums", "", "", "income", "@b:2e2")] == (2, None)  # 250 and 253.7
    assert cells[("nums", "", "", "income", "@b:9e1")] == (1, None)  # 99.9
    assert cells[("nums", "location", "KZ-75", "income", "@b:-3e0")] == (1, None)
    assert cells[("nums", "sex", "male", "age", "@b:3e1")] == (2, None)  # 30 and 36
    assert cells[("nums", "", "", "place", "kz_75")] == (4, None)


def test_the_report_by_location_gives_exact_figures(numbers_round):
    report = round_tabulate(form_id="nums", by="location")

    income = next(q for q in report["questions"] if q["name"] == "income")
    assert figures(income) == (7, 101.55, 99.9, -3.25, 253.7, 111.64)
    assert {name: figures(group) for name, group in income["by"].items()} == {
        "KZ-71": (3, 66.63, 99.9, 0, 100, 57.71),
        "KZ-75": (4, 127.74, 130.25, -3.25, 253.7, 143.43)}
    age = next(q for q in report["questions"] if q["name"] == "age")
    assert figures(age) == (7, 34.29, 36, 20, 50, 9.55)
    assert {name: figures(group) for name, group in age["by"].items()} == {
        "KZ-71": (3, 33.33, 36, 28, 36, 4.62), "KZ-75": (4, 35.0, 35, 20, 50, 12.91)}


def test_stored_figures_equal_the_records_counted_in_memory(numbers_round):
    schema = numbers_round.questionnaires.get().schema
    for by, dimension in ((None, ""), ("sex", "sex"), ("location", "location")):
        in_memory = records_tallies(round_records(numbers_round, "nums"), schema=schema, by=by)
        stored = round_tallies(round_id=numbers_round.pk, form_ids=["nums"], dimensions=["", dimension],
                               numeric_paths=["age", "income"])
        assert stored.numbers == {group: numbers for group, numbers in in_memory.numbers.items()
                                  if group[0] in ("", dimension)}
        assert len(stored.numbers) == {"": 1, "sex": 3, "location": 3}[dimension]


def test_rejecting_approving_and_editing_keep_the_sums_equal_to_a_rebuild(numbers_round):
    reviewer = User.objects.get(username="sup1")
    rows = list(Submission.objects.filter(round=numbers_round).order_by("id"))

    submission_review(submission_id=rows[2].pk, status="not_approved", by=reviewer)  # 253.7 goes
    cells, sums = assert_equals_rebuild(numbers_round)
    assert sums[("nums", "location", "KZ-75", "income")] == (3, Decimal("257.25"), Decimal("62620.8125"))
    assert ("nums", "", "", "income", "253.7") not in cells
    income = next(q for q in round_tabulate(form_id="nums", by="location")["questions"] if q["name"] == "income")
    assert figures(income["by"]["KZ-75"]) == (3, 85.75, 10.5, -3.25, 250, 142.41)

    submission_review(submission_id=rows[2].pk, status="approved", by=reviewer)
    edit = send("kz_71", "female", "19", "0.5", deprecated=rows[3].instance_id)  # -3.25 in Almaty → 0.5 in Astana
    submissions_process(submission_ids=[edit.pk])
    cells, sums = assert_equals_rebuild(numbers_round)
    assert sums[("nums", "location", "KZ-71", "income")] == (4, Decimal("200.4"), Decimal("19980.26"))
    assert ("nums", "location", "KZ-75", "income", "@b:-3e0") not in cells
    income = next(q for q in round_tabulate(form_id="nums", by="location")["questions"] if q["name"] == "income")
    assert figures(income["by"]["KZ-71"]) == (4, 50.1, 50.2, 0, 100, 57.56)
    assert figures(income) == (7, 102.09, 99.9, 0, 253.7, 111.06)


def test_every_group_losing_its_last_number_leaves_no_sums(numbers_round):
    reviewer = User.objects.get(username="sup1")
    for sub in Submission.objects.filter(round=numbers_round, location__code="KZ-71"):
        submission_review(submission_id=sub.pk, status="not_approved", by=reviewer)

    cells, sums = assert_equals_rebuild(numbers_round)

    assert not any(key[2] == "KZ-71" for key in sums)
    assert not any(key[2] == "KZ-71" for key in cells)
    report = round_tabulate(form_id="nums", by="location")
    assert list(next(q for q in report["questions"] if q["name"] == "income")["by"]) == ["KZ-75"]


@pytest.mark.parametrize("value, bucket", [
    ("0", "@b:0"), ("5", "@b:5e0"), ("5.95", "@b:5e0"), ("99.9", "@b:9e1"), ("100", "@b:1e2"),
    ("253.7", "@b:2e2"), ("-253.7", "@b:-2e2"), ("-200", "@b:-2e2"), ("-0.5", "@b:-5e-1"),
    ("1e-05", "@b:1e-5"), ("123456789012345678", "@b:1e17")])
def test_a_number_falls_in_the_bucket_of_its_leading_digit(value, bucket):
    assert number_bucket(value) == bucket
    low, high = bucket_bounds(bucket)
    assert low <= Decimal(value) <= high


def test_buckets_are_ordered_like_their_numbers_and_do_not_overlap():
    numbers = sorted(Decimal(v) for v in ("-1000", "-260", "-259.9", "-250", "-249.9", "-100", "-99.9", "-1",
                                          "-0.01", "0", "0.01", "0.999", "1", "9.9", "10", "99", "99.99", "100",
                                          "109.9", "110", "250", "259.99", "260", "1e+20"))
    buckets = [number_bucket(str(n)) for n in numbers]
    lows = [bucket_bounds(b)[0] for b in buckets]
    assert lows == sorted(lows)
    # a bucket's numbers are consecutive: no number of another bucket lies between two of them
    assert all(buckets.index(b) + buckets.count(b) - 1 == len(buckets) - 1 - buckets[::-1].index(b) for b in buckets)


def test_a_round_whose_number_questions_nobody_answered_reports_no_figures(db):
    """No number answered anywhere (a round just opened, or every age left blank): nothing to look up, on
    either database; the figures are empty, not an error."""
    round_ = RoundFactory()
    round_.checks = {"location_field": "place"}
    round_.save()
    questionnaire_import(source=FORM.encode(), filename="nums.md", survey_slug="mtm-kz", round_number=round_.number)
    AssignmentFactory(enumerator=EnumeratorFactory(user=UserFactory(username="enum01")), round=round_)
    sub = send("kz_75", "male", "", "")
    submissions_process(submission_ids=[sub.pk])

    report = round_tabulate(form_id="nums", by="location")

    age = next(q for q in report["questions"] if q["name"] == "age")
    assert figures(age) == (0, None, None, None, None, None)
    assert figures(age["by"]["KZ-75"]) == (0, None, None, None, None, None)
