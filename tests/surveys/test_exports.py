"""Record exports: anonymised records as CSV and XLSX, in the admin, the API and the background task."""

import csv
import io

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from openpyxl import load_workbook
from rest_framework.test import APIClient

from enumerators.models import User
from surveys.models import RecordExport, Round, Submission
from surveys.services.exports import record_export_create, record_export_run, records_write
from surveys.services.questionnaires import questionnaire_import
from surveys.services.review import submission_review
from tests.factories import AssignmentFactory, EnumeratorFactory, RoundFactory, UserFactory
from tests.forms import form_bytes
from tests.submissions import ingest_processed, new_instance_id

pytestmark = pytest.mark.django_db

MAIN = ["_id", "_uuid", "_submission_time", "_version", "_round", "_location", "_submitted_by", "_validation",
        "_review", "start", "end", "resp/passport", "resp/sex", "resp/age", "resp/gps", "country", "region",
        "dependants", "reasons", "reasons/work", "reasons/family", "income", "income_kzt"]


def send(*, sex, age, country, region, members=(), reasons="", income=""):
    member_xml = "".join(f"<member><member_age>{a}</member_age></member>" for a in members)
    xml = (f'<data id="household" version="2024050101"><start>2024-05-02T10:00:00.000+05:00</start>'
           f"<end>2024-05-02T10:30:00.000+05:00</end><deviceid>collect:ABC123</deviceid>"
           f"<resp><name>Aziz Karimov</name><passport>N1234567</passport><sex>{sex}</sex><age>{age}</age>"
           f"<gps/></resp><country>{country}</country><region>{region}</region>"
           f"<dependants>{len(members)}</dependants>{member_xml}<reasons>{reasons}</reasons><income>{income}</income>"
           f"<income_kzt/><meta><instanceID>{new_instance_id()}</instanceID></meta></data>").encode()
    return ingest_processed(xml)


@pytest.fixture
def household(db):
    round_ = RoundFactory(number=4)
    round_.privacy = {"k": 1}
    round_.save()
    questionnaire_import(source=form_bytes("household.md"), filename="household.md", survey_slug="mtm-kz",
                         round_number=4)
    AssignmentFactory(enumerator=EnumeratorFactory(user=UserFactory(username="enum01")), round=round_)
    first = send(sex="male", age=33, country="uz", region="tashkent", members=(5, 7), income="100.5")
    second = send(sex="female", age=41, country="tj", region="sughd", reasons="work family")
    rejected = send(sex="male", age=50, country="uz", region="tashkent")
    UserFactory(username="boss", is_superuser=True, is_staff=True)
    submission_review(submission_id=rejected.pk, status="not_approved", by=User.objects.get(username="boss"))
    return round_, first, second


def csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def write(round_, fmt, **options) -> bytes:
    out = io.BytesIO()
    records_write(round_id=round_.pk, form_id="household", fmt=fmt, out=out, **options)
    return out.getvalue()


def test_csv_has_group_paths_multi_answer_columns_and_no_identifiers(household):
    round_, first, _second = household
    rows = csv_rows(write(round_, "csv"))

    assert rows[0] == MAIN
    assert len(rows) == 3  # the rejected interview is left out
    one, two = (dict(zip(rows[0], row, strict=True)) for row in rows[1:])
    assert (one["_id"], one["_uuid"], one["_round"], one["_submitted_by"]) == (
        str(first.pk), first.instance_id, "4", "enum01")
    assert (one["resp/sex"], one["resp/age"], one["country"], one["region"], one["dependants"]) == (
        "male", "33", "uz", "tashkent", "2")
    assert (one["reasons"], one["reasons/work"], one["reasons/family"], one["income"]) == ("", "", "", "100.5")
    assert (two["reasons"], two["reasons/work"], two["reasons/family"], two["income"]) == ("work family", "1", "1", "")
    assert one["resp/passport"] == first.answers["resp/passport"] != "N1234567"  # the pseudonym
    text = write(round_, "csv").decode("utf-8-sig")
    for secret in ("Aziz", "Karimov", "N1234567", "ABC123"):
        assert secret not in text


def test_csv_with_labels_in_a_language(household):
    round_, _, _ = household
    rows = csv_rows(write(round_, "csv", labels=True, lang="ru"))
    two = dict(zip(rows[0], rows[2], strict=True))
    assert (two["resp/sex"], two["country"], two["reasons"], two["reasons/work"]) == (
        "Женский", "Таджикистан", "Работа; Семья", "1")


def test_a_repeat_is_a_sheet_of_its_own(household):
    round_, first, _ = household
    assert csv_rows(write(round_, "csv", sheet="member")) == [
        ["_submission_id", "_index", "member/member_age"], [str(first.pk), "1", "5"], [str(first.pk), "2", "7"]]

    book = load_workbook(io.BytesIO(write(round_, "xlsx")), read_only=True)
    assert book.sheetnames == ["records", "member"]
    records = [list(r) for r in book["records"].iter_rows(values_only=True)]
    assert records[0] == MAIN
    assert (records[1][MAIN.index("resp/age")], records[1][MAIN.index("income")]) == (33, 100.5)
    assert [list(r) for r in book["member"].iter_rows(values_only=True)] == [
        ["_submission_id", "_index", "member/member_age"], [first.pk, "1", 5], [first.pk, "2", 7]]


def test_quasi_identifiers_are_released_as_the_round_release_says(household):
    round_, _, _ = household
    round_.privacy = {"k": 3}
    round_.save()
    rows = csv_rows(write(round_, "csv"))
    # Two records cannot reach k=3: sex and age are suppressed, the rest stays.
    assert [(r[MAIN.index("resp/sex")], r[MAIN.index("resp/age")], r[MAIN.index("country")]) for r in rows[1:]] == [
        ("", "", "uz"), ("", "", "tj")]


def test_bad_requests_are_refused_and_store_nothing(household):
    round_, _, _ = household
    boss = User.objects.get(username="boss")
    from mtm.errors import InvalidInput, NotFound

    with pytest.raises(InvalidInput, match="no repeat 'nope'"):
        write(round_, "csv", sheet="nope")
    with pytest.raises(InvalidInput, match="no language 'fr'"):
        record_export_create(user=boss, form_id="household", fmt="csv", lang="fr")
    with pytest.raises(NotFound):
        record_export_create(user=boss, form_id="nope", fmt="csv")
    with pytest.raises(InvalidInput):
        record_export_create(user=boss, form_id="household", fmt="pdf")
    assert RecordExport.objects.count() == 0


def test_the_background_export_over_the_api(household, django_capture_on_commit_callbacks):
    _round, _first, _second = household
    api = APIClient()
    api.force_authenticate(User.objects.get(username="boss"))

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/exports/", {"form_id": "household", "format": "csv"}, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["rows"], body["round"], body["format"], body["result"]) == (
        "pending", 0, 4, "csv", None)
    polled = api.get(f"/api/v1/exports/{body['uid']}/").json()
    assert (polled["status"], polled["rows"]) == ("complete", 2)
    download = api.get(polled["result"].replace("http://testserver", ""), HTTP_ACCEPT="application/json")
    assert download.status_code == 200
    assert csv_rows(b"".join(download.streaming_content))[0] == MAIN

    other = UserFactory(username="analyst2", is_staff=True)
    other.user_permissions.add(*Permission.objects.filter(codename="view_submission"))
    api.force_authenticate(other)
    assert api.get(f"/api/v1/exports/{body['uid']}/").status_code == 403
    assert api.post("/api/v1/exports/", {"form_id": "household", "format": "pdf"}, format="json").status_code == 400


def test_running_an_export_again_changes_nothing(household, django_capture_on_commit_callbacks):
    _round, _, _ = household
    with django_capture_on_commit_callbacks(execute=True):
        export = record_export_create(user=User.objects.get(username="boss"), form_id="household", fmt="xlsx")
    export.refresh_from_db()
    name, finished = export.file.name, export.finished_at
    again = record_export_run(export_id=export.pk)
    assert (again.status, again.file.name, again.finished_at, again.rows) == ("complete", name, finished, 2)


def test_the_admin_exports_the_picked_submissions(household, client):
    _round, first, second = household
    client.force_login(User.objects.get(username="boss"))
    page = client.post("/admin/surveys/submission/", {
        "action": "export_admin_action", "_selected_action": [first.pk, second.pk]})
    assert page.status_code == 200
    assert b"Anonymised records (labels)" in page.content

    response = client.post("/admin/surveys/submission/export/", {
        "format": "0", "resource": "1", "export_items": [first.pk, second.pk]})

    assert response.status_code == 200
    rows = csv_rows(response.content)
    assert rows[0] == MAIN
    assert [(r[0], r[MAIN.index("resp/sex")]) for r in rows[1:]] == [
        (str(first.pk), "Male"), (str(second.pk), "Female")]
    assert b"Aziz" not in response.content


def test_the_admin_export_refuses_two_forms_at_once(household, client):
    _round, first, _ = household
    other = RoundFactory(number=5)
    questionnaire_import(source=form_bytes("report.md"), filename="report.md", survey_slug="mtm-kz", round_number=5)
    AssignmentFactory(enumerator=User.objects.get(username="enum01").enumerator, round=other)
    from tests.reports import send_report_row

    report = send_report_row("report", ("male", 30, "married", "work", "", "yes", "low"))
    client.force_login(User.objects.get(username="boss"))
    response = client.post("/admin/surveys/submission/export/", {
        "format": "0", "resource": "0", "export_items": [first.pk, report.pk]})
    assert csv_rows(response.content) == [
        ["error"], ["Pick submissions of one form in one round (filter the list by form and round)."]]


def test_the_export_command(household, tmp_path):
    _round, first, _ = household
    out = tmp_path / "records.csv"
    call_command("export_records", "household", "--out", str(out))
    assert csv_rows(out.read_bytes())[1][0] == str(first.pk)


def test_round_admin_action_starts_exports(household, client, django_capture_on_commit_callbacks):
    round_, _, _ = household
    client.force_login(User.objects.get(username="boss"))
    with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/admin/surveys/round/", {"action": "export_xlsx", "_selected_action": [round_.pk]},
                               follow=True)
    assert response.status_code == 200
    export = RecordExport.objects.get()
    assert (export.status, export.fmt, export.rows, export.round_id) == ("complete", "xlsx", 2, round_.pk)
    assert Round.objects.count() == 1


def test_the_sweep_sends_exports_the_broker_missed(household):
    import datetime as dt

    from surveys.tasks import submissions_sweep_task

    round_, _, _ = household
    waiting = RecordExport.objects.create(requested_by=User.objects.get(username="boss"), form_id="household",
                                          round=round_, fmt="csv")
    RecordExport.objects.filter(pk=waiting.pk).update(created_at=waiting.created_at - dt.timedelta(hours=1))
    fresh = RecordExport.objects.create(requested_by=User.objects.get(username="boss"), form_id="household",
                                        round=round_, fmt="csv")

    submissions_sweep_task.delay(grace_seconds=600).get()

    waiting.refresh_from_db()
    fresh.refresh_from_db()
    assert (waiting.status, waiting.rows, fresh.status) == ("complete", 2, "pending")


def test_control_characters_do_not_break_a_workbook(household):
    round_, first, _ = household
    Submission.objects.filter(pk=first.pk).update(answers={**first.answers, "income_kzt": "line\x0bbreak"})
    book = load_workbook(io.BytesIO(write(round_, "xlsx")), read_only=True)
    records = [list(r) for r in book["records"].iter_rows(values_only=True)]
    assert records[1][MAIN.index("income_kzt")] == "linebreak"
    assert csv_rows(write(round_, "csv"))[1][MAIN.index("income_kzt")] == "line\x0bbreak"
