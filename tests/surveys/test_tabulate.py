"""The round report on a hand-computed fixture, cell by cell."""

import json

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command

from surveys.selectors.reports import round_tabulate, wilson
from tests.factories import UserFactory


def question(report, name):
    return next(q for q in report["questions"] if q["name"] == name)


def cells(q):
    return [(r["value"], r["count"], r["percent"]) for r in q["rows"]]


def test_wilson_interval():
    assert wilson(5, 7) == [35.9, 91.8]
    assert wilson(0, 10) == [0.0, 27.8]
    assert wilson(3, 0) is None


@pytest.mark.django_db
class TestRoundReport:
    def test_counts_bases_and_percentages(self, rounds):
        report = round_tabulate(form_id="report")

        assert (report["form_id"], report["round"], report["submissions"]) == ("report", 4, 7)
        sex = question(report, "sex")
        assert (sex["asked"], sex["base"], cells(sex)) == (7, 7, [("male", 5, 71.4), ("female", 2, 28.6)])
        assert sex["rows"][0]["ci"] == [35.9, 91.8]
        marital = question(report, "marital")
        assert cells(marital) == [("married", 4, 57.1), ("single", 2, 28.6), ("divorced", 1, 14.3)]
        assert [r.get("small", False) for r in marital["rows"]] == [False, False, True]

    def test_multi_answer_question(self, rounds):
        reasons = question(round_tabulate(form_id="report"), "reasons")
        assert (reasons["asked"], reasons["base"], reasons["mean_selected"]) == (7, 6, 1.33)
        assert cells(reasons) == [("work", 4, 66.7), ("family", 2, 33.3), ("study", 2, 33.3)]

    def test_numbers(self, rounds):
        age = question(round_tabulate(form_id="report"), "age")
        assert {k: age[k] for k in ("asked", "base", "mean", "median", "min", "max", "sd")} == {
            "asked": 7, "base": 7, "mean": 34.29, "median": 36, "min": 20, "max": 50, "sd": 9.55}

    def test_follow_up_bases_and_a_question_asked_of_women_only(self, rounds):
        report = round_tabulate(form_id="report")
        pregnant, share = question(report, "pregnant"), question(report, "share")
        assert (pregnant["asked"], pregnant["base"], cells(pregnant)) == (2, 2, [("yes", 1, 50.0), ("no", 1, 50.0)])
        assert (share["asked"], share["base"], cells(share)) == (4, 3, [("low", 1, 33.3), ("high", 2, 66.7)])

    def test_disaggregation_by_sex(self, rounds):
        marital = question(round_tabulate(form_id="report", by="sex"), "marital")
        assert marital["by"]["male"]["base"] == 5
        assert cells(marital["by"]["male"]) == [("married", 3, 60.0), ("single", 1, 20.0), ("divorced", 1, 20.0)]
        assert cells(marital["by"]["female"]) == [("married", 1, 50.0), ("single", 1, 50.0), ("divorced", 0, 0.0)]
        age = question(round_tabulate(form_id="report", by="sex"), "age")
        assert (age["by"]["female"]["mean"], age["by"]["male"]["max"]) == (28.0, 50)

    def test_round_over_round(self, rounds):
        report = round_tabulate(form_id="report", compare=3)
        sex, age = question(report, "sex"), question(report, "age")
        assert sex["compare"] == {"round": 3, "base": 4, "rows": [
            {"value": "male", "count": 3, "percent": 75.0, "change_pp": -3.6},
            {"value": "female", "count": 1, "percent": 25.0, "change_pp": 3.6}]}
        assert age["compare"] == {"round": 3, "base": 4, "mean": 35.0, "change": -0.71}

    def test_round_over_round_inside_each_group(self, rounds):
        """The seed's "average age of female respondents from 36 to 38": ``by.female.compare``."""
        report = round_tabulate(form_id="report", by="sex", compare=3)
        age, marital = question(report, "age"), question(report, "marital")

        assert age["by"]["female"]["compare"] == {"round": 3, "base": 1, "mean": 20.0, "change": 8.0}
        assert age["by"]["male"]["compare"] == {"round": 3, "base": 3, "mean": 40.0, "change": -3.2}
        assert marital["by"]["female"]["compare"] == {"round": 3, "base": 1, "rows": [
            {"value": "married", "count": 0, "percent": 0.0, "change_pp": 50.0},
            {"value": "single", "count": 1, "percent": 100.0, "change_pp": -50.0},
            {"value": "divorced", "count": 0, "percent": 0.0, "change_pp": 0.0}]}
        assert age["compare"] == {"round": 3, "base": 4, "mean": 35.0, "change": -0.71}  # the whole round, as before

    def test_labels_in_the_chosen_language(self, rounds):
        report = round_tabulate(form_id="report", lang="ru")
        assert question(report, "sex")["label"] == "Пол"
        assert question(report, "sex")["rows"][1]["label"] == "Женский"

    def test_bad_options_are_clear_errors(self, rounds):
        from mtm.errors import InvalidInput, NotFound

        with pytest.raises(InvalidInput, match="'age' is not a select_one question"):
            round_tabulate(form_id="report", by="age")
        with pytest.raises(NotFound, match="has no round 9"):
            round_tabulate(form_id="report", compare=9)
        with pytest.raises(InvalidInput, match="no language 'kk'"):
            round_tabulate(form_id="report", lang="kk")

    def test_command_and_api(self, rounds, capsys, client):
        call_command("round_report", "report", "--by", "sex", "--compare", "3")
        printed = json.loads(capsys.readouterr().out)
        assert printed == round_tabulate(form_id="report", by="sex", compare=3)
        call_command("round_report", "report", "--format", "md")
        assert "| Married | 4 | 57.1 |" in capsys.readouterr().out

        analyst = UserFactory(username="analyst")
        analyst.user_permissions.add(Permission.objects.get(codename="view_submission"))
        client.force_login(analyst)
        response = client.get(f"/api/v1/rounds/{rounds.pk}/report?form=report&by=sex")
        assert response.status_code == 200
        assert response.json() == round_tabulate(form_id="report", round_number=4, by="sex")
        assert client.get(f"/api/v1/rounds/{rounds.pk}/report?form=report&by=age").status_code == 400


@pytest.mark.django_db
def test_report_in_the_admin_and_as_xlsx(rounds, client, tmp_path):
    from openpyxl import load_workbook

    client.force_login(UserFactory(username="admin", is_staff=True, is_superuser=True))
    page = client.get(f"/admin/surveys/round/{rounds.pk}/report/?form=report&by=sex")
    assert page.status_code == 200
    assert b"Married" in page.content and b"57.1" in page.content and b"mtm-bar" in page.content
    assert b"<th>male %</th>" in page.content and b"<td>60.0</td>" in page.content
    download = client.get(f"/admin/surveys/round/{rounds.pk}/report/?form=report&format=xlsx")
    assert download["Content-Type"].startswith("application/vnd.openxmlformats")
    path = tmp_path / "r.xlsx"
    path.write_bytes(download.content)
    rows = [tuple(c for c in row if c is not None) for row in load_workbook(path).active.iter_rows(values_only=True)]
    block = rows.index(("Marital status", "asked 7", "answered 7"))
    assert rows[block + 1: block + 6] == [("Frequency", "% by column"), ("Married", 4, 57.1), ("Single", 2, 28.6),
                                          ("Divorced", 1, 14.3), ("Total", 7, 100.0)]
    assert client.get(f"/admin/surveys/round/{rounds.pk}/report/?form=report&by=age").status_code == 200

    call_command("round_report", "report", "--format", "xlsx", "--out", str(tmp_path / "c.xlsx"))
    assert load_workbook(tmp_path / "c.xlsx").active["A1"].value == "report — round 4: 7 submissions"
    call_command("round_report", "report", "--format", "html", "--out", str(tmp_path / "r.html"))
    assert "<h3>Sex</h3>" in (tmp_path / "r.html").read_text()


@pytest.mark.parametrize("by", [None, "sex", "location"])
def test_a_supervisors_tables_are_counted_from_their_teams_records(rounds, by):
    """Issue 13 item 6: a supervisor whose team did every interview gets, counted from the records, exactly
    the tables the tallies give the whole round (the compared round's too); another team's supervisor gets
    the round refused as unknown."""
    from django.contrib.auth.models import Group

    from enumerators.models import Enumerator
    from enumerators.services.roles import roles_ensure
    from mtm.errors import NotFound
    from surveys.selectors.reports import round_report_for_user

    roles_ensure()
    supervisor, stranger = UserFactory(username="supA"), UserFactory(username="supB")
    for user in (supervisor, stranger):
        user.groups.add(Group.objects.get(name="Supervisors"))
    Enumerator.objects.filter(user__username="enum01").update(supervisor=supervisor)

    mine = round_report_for_user(user=supervisor, round_id=rounds.pk, form_id="report", by=by, compare=3)

    assert mine == round_tabulate(form_id="report", round_number=4, by=by, compare=3)
    assert mine["submissions"] == 7
    with pytest.raises(NotFound):
        round_report_for_user(user=stranger, round_id=rounds.pk)
