"""Server-assigned versions, ``--round N`` and the settings cells as Excel shows them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from surveys.errors import QuestionnaireVersionConflict
from surveys.models import Questionnaire, Round, Submission
from surveys.services.questionnaires import questionnaire_import
from surveys.services.xlsform_cells import excel_shown
from tests.factories import AssignmentFactory, EnumeratorFactory, UserFactory
from tests.submissions import auth, multipart, new_instance_id

NO_VERSION = b"""
| survey |
| | type | name | label |
| | text | q1 | Question one |
%s
| settings |
| | form_id | form_title |
| | unversioned | Unversioned |
"""


def unversioned(extra: bytes = b"") -> bytes:
    return NO_VERSION % extra


def today_version(nn: int) -> str:
    return f"{timezone.now():%Y%m%d}{nn:02d}"


def stored() -> list[tuple[str, str, int]]:
    return list(Questionnaire.objects.order_by("created_at", "id").values_list("form_id", "version", "round__number"))


@pytest.mark.django_db
class TestServerVersions:
    def test_identical_content_is_the_same_version_and_changed_content_a_later_one(self):
        first = questionnaire_import(source=unversioned(), filename="u.md", survey_slug="s", round_number=1)
        again = questionnaire_import(source=unversioned(), filename="u.md")
        changed = questionnaire_import(source=unversioned(b"| | integer | q2 | Q2 |"), filename="u.md")

        assert (first.created, again.created, changed.created) == (True, False, True)
        assert again.questionnaire.pk == first.questionnaire.pk
        assert stored() == [("unversioned", today_version(1), 1), ("unversioned", today_version(2), 1)]
        q = changed.questionnaire
        assert q.version_assigned is True
        assert f'<data id="unversioned" version="{today_version(2)}">' in q.xform_xml
        assert q.schema["version"] == today_version(2)

    def test_the_assigned_version_sorts_after_every_stored_one(self):
        questionnaire_import(source=unversioned(b"| | integer | q2 | Q2 |").replace(
            b"| | form_id | form_title |\n| | unversioned | Unversioned |",
            b"| | form_id | version |\n| | unversioned | 20991231000007 |"), filename="u.md")
        later = questionnaire_import(source=unversioned(), filename="u.md").questionnaire
        assert later.version == "20991231000008"

    def test_going_back_to_earlier_content_is_a_new_version(self):
        questionnaire_import(source=unversioned(), filename="u.md")
        questionnaire_import(source=unversioned(b"| | integer | q2 | Q2 |"), filename="u.md")
        back = questionnaire_import(source=unversioned(), filename="u.md")
        assert (back.created, back.questionnaire.version) == (True, today_version(3))

    def test_an_interview_carrying_the_assigned_version_is_matched_to_it(self, client):
        q = questionnaire_import(source=unversioned(), filename="u.md").questionnaire
        AssignmentFactory(enumerator=EnumeratorFactory(user=UserFactory(username="enum01")), round=q.round)
        newer = questionnaire_import(source=unversioned(b"| | integer | q2 | Q2 |"), filename="u.md").questionnaire
        xml = (f'<data id="unversioned" version="{q.version}"><q1>hi</q1>'
               f"<meta><instanceID>{new_instance_id()}</instanceID></meta></data>").encode()

        response = client.post("/submission", multipart(xml), **auth())

        assert response.status_code == 201
        assert Submission.objects.get().questionnaire_id == q.pk != newer.pk


@pytest.mark.django_db
class TestRound:
    def test_a_stored_version_into_another_round_is_refused_saying_why(self, tmp_path):
        path = tmp_path / "mtm_kz_r4.md"
        path.write_bytes(b"| survey |\n| | type | name | label |\n| | text | q | Q |\n| settings |\n"
                         b"| | form_id | version |\n| | mtm_kz_r4 | 2024040101 |\n")
        call_command("import_xlsform", str(path), "--survey", "mtm", "--round", "4")

        with pytest.raises(CommandError) as refused:
            call_command("import_xlsform", str(path), "--round", "5")

        assert refused.value.returncode == 2
        assert str(refused.value) == (
            "mtm_kz_r4.md: Form 'mtm_kz_r4' version '2024040101' is already in round 4 of survey 'mtm'. A version "
            "belongs to one round (an interview names only its form and version): change 'version' on the "
            "'settings' sheet, or leave it out for the server to assign one, to import this form into another "
            "round.")
        assert stored() == [("mtm_kz_r4", "2024040101", 4)]
        assert list(Round.objects.values_list("number", flat=True)) == [4]

    def test_a_form_without_version_gets_a_version_in_the_round_named(self, tmp_path, capsys):
        path = tmp_path / "u.md"
        path.write_bytes(unversioned())
        call_command("import_xlsform", str(path), "--survey", "mtm", "--round", "4")
        call_command("import_xlsform", str(path), "--round", "5")
        call_command("import_xlsform", str(path), "--round", "5")

        out = capsys.readouterr()
        assert out.out == (f"unversioned {today_version(1)}\nunversioned {today_version(2)}\n"
                           f"unversioned {today_version(2)}\n")
        assert stored() == [("unversioned", today_version(1), 4), ("unversioned", today_version(2), 5)]
        assert out.err.count("was created by this import: set its dates and target in the admin.") == 2

    def test_a_round_the_import_creates_is_incomplete_until_set_up(self):
        q = questionnaire_import(source=unversioned(), filename="u.md", survey_slug="mtm", round_number=6)
        round_ = q.questionnaire.round
        assert q.round_created is True
        assert round_.setup_missing == ["dates", "target"]
        round_.start_date, round_.end_date, round_.target_sample = dt.date(2024, 5, 1), dt.date(2024, 6, 30), 900
        assert round_.setup_missing == []

    def test_the_same_version_into_its_own_round_is_a_no_op(self):
        source = unversioned().replace(b"| | form_id | form_title |\n| | unversioned | Unversioned |",
                                       b"| | form_id | version |\n| | f | 3 |")
        first = questionnaire_import(source=source, filename="f.md", survey_slug="mtm", round_number=4)
        again = questionnaire_import(source=source, filename="f.md", survey_slug="mtm", round_number=4)
        assert (again.created, again.questionnaire.pk) == (False, first.questionnaire.pk)
        with pytest.raises(QuestionnaireVersionConflict, match="is already in round 4 of survey 'mtm'"):
            questionnaire_import(source=source, filename="f.md", survey_slug="other")
        assert stored() == [("f", "3", 4)]


@pytest.mark.parametrize(("value", "fmt", "shown"), [
    (2024050101.0, "General", "2024050101"),
    (42, "0000", "0042"),
    (1234567.5, "#,##0.00", "1,234,567.50"),
    (1.25, "General", "1.25"),
    (dt.datetime(2022, 4, 11, 16, 26, 28, 971000), "yyyy\\-mm\\-dd\\Thh:mm:ss", "2022-04-11T16:26:29"),
    (dt.datetime(2024, 5, 1, 13, 5, 9), "dd/mm/yyyy h:mm AM/PM", "01/05/2024 1:05 PM"),
    (dt.datetime(2024, 5, 1), "yyyymmdd", "20240501"),
    (45413.5, "yyyy-mm-dd hh:mm", "2024-05-01 12:00"),
    (True, "General", "TRUE"),
], ids=["integral-float", "zero-padded", "thousands", "decimal", "formula-now", "12-hour", "date", "serial", "bool"])
def test_a_cell_as_excel_shows_it(value, fmt, shown):
    assert excel_shown(value, fmt) == shown


@pytest.mark.django_db
def test_a_version_formula_saved_without_its_value_is_left_to_the_server(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "survey"
    book.active.append(["type", "name", "label"])
    book.active.append(["text", "q", "Q"])
    settings = book.create_sheet("settings")
    settings.append(["form_id", "version"])
    settings.append(["xl", '=TEXT(NOW(),"yyyymmddhhmm")'])
    path = tmp_path / "xl.xlsx"
    book.save(path)

    result = questionnaire_import(source=path.read_bytes(), filename="xl.xlsx")

    assert (result.questionnaire.version, result.questionnaire.version_assigned) == (today_version(1), True)
    assert result.warnings == [
        "On the 'settings' sheet, the 'version' cell holds a formula saved without its value (open and save the "
        "file in a spreadsheet program to keep it); the server assigns the version."]
