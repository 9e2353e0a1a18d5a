"""The permission matrix: every admin and API view, for a superuser, supervisor A
(enum01, enum02), supervisor B (enum03, enum04), an analyst, a data-protection
officer, an enumerator and an anonymous visitor. Row-level rules live in
surveys.selectors; these tests go through the interfaces."""

import pytest
from django.contrib.messages import get_messages

from enumerators.models import User
from surveys.models import ReviewEvent, Submission

R4 = "MTM Kazakhstan — international migrant workers survey — round 4"
OTHER1 = "Other survey — round 1"
ROLES = ["admin", "supA", "supB", "analyst", "dpo", "enumerator", "staff_enumerator", "anonymous"]


@pytest.fixture
def login(client, teams):
    """``login(role)`` → a client logged in as that role (the enumerator is enum01)."""

    def as_role(role: str):
        if role == "enumerator":
            client.force_login(User.objects.get(username="enum01"))
        elif role == "staff_enumerator":
            # Someone ticked "staff status" on an enumerator's account: the admin still refuses it.
            user = User.objects.get(username="enum02")
            user.is_staff = True
            user.save()
            client.force_login(user)
        elif role != "anonymous":
            client.force_login(getattr(teams.users, role))
        return client

    return as_role


def changelist_rows(response) -> list[str]:
    return [str(obj) for obj in response.context["cl"].result_list]


def review_states() -> list[tuple[str, str | None]]:
    return list(Submission.objects.order_by("id").values_list("submitted_by__username", "review_status"))


@pytest.mark.django_db
class TestAdminAccess:
    @pytest.mark.parametrize(("role", "status"), [
        ("admin", 200), ("supA", 200), ("supB", 200), ("analyst", 200), ("dpo", 200),
        ("enumerator", 302), ("staff_enumerator", 302), ("anonymous", 302)])
    def test_index(self, login, role, status):
        response = login(role).get("/admin/")
        assert response.status_code == status
        if status == 302:
            assert response["Location"] == "/admin/login/?next=/admin/"

    @pytest.mark.parametrize(("role", "dashboards"), [
        ("admin", [R4, OTHER1]), ("supA", [R4]),
        ("supB", [R4, OTHER1]), ("analyst", [R4, OTHER1])])
    def test_index_links_the_dashboards_of_the_users_rounds(self, login, role, dashboards):
        response = login(role).get("/admin/")
        assert [str(r) for r, _waiting in response.context["dashboards"]] == dashboards

    def test_enumerator_cannot_log_in_to_the_admin(self, client, teams):
        response = client.post("/admin/login/?next=/admin/", {"username": "enum01", "password": "field-pass-1"})
        assert response.status_code == 200
        assert "_auth_user_id" not in client.session


@pytest.mark.django_db
class TestSubmissionAdmin:
    @pytest.mark.parametrize(("role", "rows"), [
        ("admin", 7), ("supA", 5), ("supB", 2), ("analyst", 7), ("dpo", 7), ("enumerator", None),
        ("staff_enumerator", None), ("anonymous", None)])
    def test_list_shows_the_users_scope(self, login, role, rows):
        response = login(role).get("/admin/surveys/submission/")
        if rows is None:
            assert response.status_code == 302
        else:
            assert response.status_code == 200
            assert response.context["cl"].result_count == rows

    def test_supervisor_list_names_only_their_team(self, login, teams):
        response = login("supA").get("/admin/surveys/submission/")
        assert sorted({s.submitted_by.username for s in response.context["cl"].result_list}) == ["enum01", "enum02"]
        assert b"enum03" not in response.content

    @pytest.mark.parametrize(("role", "status"), [
        ("admin", 200), ("supA", 200), ("supB", 302), ("analyst", 200), ("dpo", 200), ("enumerator", 302),
        ("anonymous", 302)])
    def test_page_of_a_team_a_submission(self, login, teams, role, status):
        sub = teams.subs.a1[0]
        response = login(role).get(f"/admin/surveys/submission/{sub.pk}/change/")
        assert response.status_code == status
        if role == "supB":
            assert response["Location"] == "/admin/"

    @pytest.mark.parametrize(("role", "status", "changed"), [
        ("admin", 302, True), ("supA", 302, True), ("supB", 404, False), ("analyst", 302, False),
        ("dpo", 302, False), ("enumerator", 302, False), ("anonymous", 302, False)])
    def test_review_button(self, login, teams, role, status, changed):
        sub = teams.subs.a1[0]
        before = review_states()
        response = login(role).post(f"/admin/surveys/submission/{sub.pk}/review/",
                                    {"status": "approved", "comment": "Checked by phone"})
        assert response.status_code == status
        sub.refresh_from_db()
        if changed:
            assert response["Location"] == f"/admin/surveys/submission/{sub.pk}/change/"
            assert (sub.review_status, sub.reviewed_by.username) == ("approved", role)
            assert list(sub.comments.values_list("text", flat=True)) == ["Checked by phone"]
        else:
            assert review_states() == before
            assert sub.comments.count() == 0
            assert ReviewEvent.objects.filter(actor__isnull=False).exclude(actor__username="supB").count() == 0

    def test_analyst_is_told_why(self, login, teams):
        client = login("analyst")
        client.post(f"/admin/surveys/submission/{teams.subs.a1[0].pk}/review/", {"status": "approved"})
        page = client.get("/admin/")
        assert [str(m) for m in get_messages(page.wsgi_request)] == ["This account may not review submissions."]

    def test_comment_alone(self, login, teams):
        sub = teams.subs.a1[1]
        login("supA").post(f"/admin/surveys/submission/{sub.pk}/review/", {"status": "", "comment": "Recheck age"})
        sub.refresh_from_db()
        assert (sub.review_status, list(sub.comments.values_list("text", "author__username"))) == (
            None, [("Recheck age", "supA")])

    def test_bulk_action_never_reaches_another_team(self, login, teams):
        before = review_states()
        response = login("supB").post("/admin/surveys/submission/", {
            "action": "review_approved", "_selected_action": [s.pk for s in teams.subs.a1]})
        assert response.status_code == 302
        assert review_states() == before

    def test_bulk_action_of_a_supervisor_on_their_team(self, login, teams):
        login("supA").post("/admin/surveys/submission/", {
            "action": "review_on_hold", "_selected_action": [s.pk for s in teams.subs.a1 + teams.subs.b3]})
        assert [s for s in review_states() if s[1] == "on_hold"] == [("enum01", "on_hold")] * 4

    def test_answers_are_grouped_and_identifiers_withheld(self, login, teams):
        page = login("supA").get(f"/admin/surveys/submission/{teams.subs.a1[0].pk}/change/")
        html = " ".join(page.content.decode().split())
        assert '<h2>Interview</h2>' in html
        assert ('<div class="mtm-answer" data-path="sex"><div class="q">Sex</div><div class="a">'
                '<span class="mtm-choice">Male <code>male</code></span></div></div>') in html
        assert "Rakhimov" not in html and 'data-path="name"' not in html
        assert b'id="review-approved"' in page.content


@pytest.mark.django_db
class TestRoundPages:
    @pytest.mark.parametrize(("role", "mine", "other"), [
        ("admin", 200, 200), ("supA", 200, 404), ("supB", 200, 200), ("analyst", 200, 200), ("dpo", 200, 200),
        ("enumerator", 302, 302), ("staff_enumerator", 302, 302), ("anonymous", 302, 302)])
    @pytest.mark.parametrize("page", ["dashboard", "report"])
    def test_dashboard_and_report(self, login, teams, role, mine, other, page):
        client = login(role)
        assert client.get(f"/admin/surveys/round/{teams.round.pk}/{page}/").status_code == mine
        assert client.get(f"/admin/surveys/round/{teams.other_round.pk}/{page}/").status_code == other

    def test_admin_report_page_holds_the_team(self, login, teams):
        """Issue 13 item 6: the admin's round tables of a supervisor are their team's."""
        assert login("supA").get(f"/admin/surveys/round/{teams.round.pk}/report/").context["report"][
            "submissions"] == 5
        assert login("supB").get(f"/admin/surveys/round/{teams.round.pk}/report/").context["report"][
            "submissions"] == 1

    def test_dashboard_shows_the_team_figures(self, login, teams):
        page = login("supA").get(f"/admin/surveys/round/{teams.round.pk}/dashboard/")
        assert page.context["p"].quota.done == 5
        assert b"enum01" in page.content and b"enum03" not in page.content
        assert b"your team only" in page.content

    @pytest.mark.parametrize(("role", "rounds"), [
        ("admin", [R4, OTHER1]), ("supA", [R4]),
        ("supB", [R4, OTHER1])])
    def test_round_list(self, login, role, rounds):
        response = login(role).get("/admin/surveys/round/")
        assert sorted(changelist_rows(response)) == rounds


@pytest.mark.django_db
class TestFieldStaffAdmin:
    @pytest.mark.parametrize(("role", "rows"), [
        ("admin", ["enum01", "enum02", "enum03", "enum04"]), ("supA", ["enum01", "enum02"]),
        ("supB", ["enum03", "enum04"]), ("analyst", None), ("dpo", None)])
    def test_enumerators(self, login, role, rows):
        response = login(role).get("/admin/enumerators/enumerator/")
        if rows is None:
            assert response.status_code == 403
        else:
            assert changelist_rows(response) == rows

    @pytest.mark.parametrize(("role", "rows"), [
        ("admin", [f"enum01 — {R4}", f"enum02 — {R4}", f"enum03 — {R4}",
                   f"enum04 — {R4}", f"enum03 — {OTHER1}"]),
        ("supA", [f"enum01 — {R4}", f"enum02 — {R4}"]),
        ("supB", [f"enum03 — {R4}", f"enum04 — {R4}", f"enum03 — {OTHER1}"])])
    def test_assignments(self, login, role, rows):
        response = login(role).get("/admin/enumerators/assignment/")
        assert sorted(changelist_rows(response)) == sorted(rows)

    def test_supervisor_cannot_open_another_teams_assignment(self, login, teams):
        from enumerators.models import Assignment

        other = Assignment.objects.get(enumerator__user__username="enum03", round=teams.round)
        assert login("supA").get(f"/admin/enumerators/assignment/{other.pk}/change/").status_code == 302

    @pytest.mark.parametrize(("role", "codes"), [
        ("supA", ["KZ-71", "KZ-75"]), ("supB", ["KZ-71", "KZ-75"])])
    def test_locations(self, login, role, codes):
        response = login(role).get("/admin/surveys/location/")
        assert sorted(obj.code for obj in response.context["cl"].result_list) == codes

    def test_all_locations_for_the_admin(self, login):
        from surveys.models import Location

        response = login("admin").get("/admin/surveys/location/")
        assert response.context["cl"].result_count == Location.objects.count()

    @pytest.mark.parametrize(("role", "status"), [("admin", 200), ("supA", 403), ("analyst", 403)])
    def test_only_coordinators_import_rosters(self, login, role, status):
        assert login(role).get("/admin/enumerators/assignment/import/").status_code == status

    @pytest.mark.parametrize(("role", "status"), [("admin", 200), ("supA", 200), ("analyst", 403)])
    def test_roster_export(self, login, role, status):
        assert login(role).get("/admin/enumerators/assignment/export/").status_code == status


@pytest.mark.django_db
class TestApi:
    @pytest.mark.parametrize(("role", "status", "count"), [
        ("admin", 200, 7), ("supA", 200, 5), ("supB", 200, 2), ("analyst", 200, 7), ("dpo", 200, 7),
        ("enumerator", 403, None), ("anonymous", 401, None)])
    def test_list(self, login, role, status, count):
        response = login(role).get("/api/v1/submissions/")
        assert response.status_code == status
        if count is not None:
            assert response.json()["count"] == count

    @pytest.mark.parametrize(("role", "status"), [
        ("admin", 200), ("supA", 200), ("supB", 404), ("analyst", 200), ("dpo", 200), ("enumerator", 403),
        ("anonymous", 401)])
    def test_detail(self, login, teams, role, status):
        assert login(role).get(f"/api/v1/submissions/{teams.subs.a1[0].instance_id}/").status_code == status

    @pytest.mark.parametrize(("role", "status"), [
        ("admin", 200), ("supA", 200), ("supB", 404), ("analyst", 403), ("dpo", 403), ("enumerator", 403),
        ("anonymous", 401)])
    def test_review(self, login, teams, role, status):
        before = review_states()
        response = login(role).patch(f"/api/v1/submissions/{teams.subs.a1[0].instance_id}/review/",
                                     {"status": "approved"}, content_type="application/json")
        assert response.status_code == status
        if status == 200:
            assert response.json()["review"]["status"] == "approved"
        else:
            assert review_states() == before

    @pytest.mark.parametrize(("role", "status"), [
        ("admin", 200), ("supA", 403), ("supB", 403), ("analyst", 403), ("dpo", 200), ("enumerator", 403),
        ("anonymous", 401)])
    def test_raw(self, login, teams, role, status):
        assert login(role).get(f"/api/v1/submissions/{teams.subs.a1[0].instance_id}/raw").status_code == status

    @pytest.mark.parametrize(("role", "mine", "other"), [
        ("admin", 200, 200), ("supA", 200, 404), ("supB", 200, 200), ("analyst", 200, 200), ("dpo", 200, 200),
        ("enumerator", 403, 403), ("anonymous", 401, 401)])
    def test_round_report(self, login, teams, role, mine, other):
        client = login(role)
        assert client.get(f"/api/v1/rounds/{teams.round.pk}/report").status_code == mine
        assert client.get(f"/api/v1/rounds/{teams.other_round.pk}/report").status_code == other

    @pytest.mark.parametrize(("role", "mine", "other"), [
        ("admin", 200, 200), ("supA", 403, 404), ("supB", 403, 403), ("analyst", 200, 200), ("dpo", 200, 200),
        ("enumerator", 403, 403), ("anonymous", 401, 401)])
    def test_round_risk(self, login, teams, role, mine, other):
        """Issue 13 item 6: the risk is a whole-round figure, refused to a supervisor (404 outside the team)."""
        client = login(role)
        assert client.get(f"/api/v1/rounds/{teams.round.pk}/risk").status_code == mine
        assert client.get(f"/api/v1/rounds/{teams.other_round.pk}/risk").status_code == other

    def test_supervisor_is_told_why_the_risk_is_refused(self, login, teams):
        response = login("supA").get(f"/api/v1/rounds/{teams.round.pk}/risk")
        assert response.json() == {"detail": "The disclosure risk is worked out over the whole round's records; "
                                             "a supervisor's account sees their team's records only."}

    @pytest.mark.parametrize(("role", "submissions"), [("admin", 6), ("supA", 5), ("supB", 1), ("analyst", 6)])
    def test_round_report_holds_the_team(self, login, teams, role, submissions):
        """Issue 13 item 6: a supervisor's tables are their team's counted records (supB: enum03's one woman)."""
        body = login(role).get(f"/api/v1/rounds/{teams.round.pk}/report?by=location").json()
        sex = next(q for q in body["questions"] if q["name"] == "sex")
        assert body["submissions"] == submissions
        assert sex["base"] == submissions
        if role == "supB":
            assert [(r["value"], r["count"]) for r in sex["rows"]] == [("male", 0), ("female", 1)]
            assert list(body["questions"][0]["by"]) == ["KZ-71"]

    @pytest.mark.parametrize(("role", "mine", "other"), [
        ("admin", 200, 200), ("supA", 200, 404), ("supB", 200, 200), ("analyst", 200, 200), ("dpo", 200, 200),
        ("enumerator", 404, 404), ("anonymous", 401, 401)])
    def test_kobo_reports(self, login, teams, role, mine, other):
        """Issue 13 item 6: KoBo's asset reports are refused as v1 refuses the round (404 outside the team)."""
        from surveys.kobo_ids import asset_uid

        client = login(role)
        assert client.get(f"/api/v2/assets/{asset_uid('checks')}/reports/").status_code == mine
        assert client.get(f"/api/v2/assets/{asset_uid('household')}/reports/").status_code == other

    @pytest.mark.parametrize(("role", "count"), [("admin", 6), ("supA", 5), ("supB", 1)])
    def test_kobo_reports_hold_the_team(self, login, teams, role, count):
        from surveys.kobo_ids import asset_uid

        body = login(role).get(f"/api/v2/assets/{asset_uid('checks')}/reports/?split_by=sex").json()
        sex = next(item for item in body["list"] if item["name"] == "sex")
        assert body["count"] == count
        assert sex["data"]["provided"] == count

    @pytest.mark.parametrize(("role", "figures"), [("admin", True), ("dpo", True), ("supA", False)])
    def test_admin_risk_field(self, login, teams, role, figures):
        page = login(role).get(f"/admin/surveys/round/{teams.round.pk}/change/")
        assert page.status_code == 200
        assert (b"records in classes smaller than k" in page.content) is figures
        assert (b"sees their team&#x27;s records only" in page.content) is not figures


@pytest.mark.django_db
class TestRecordExports:
    """Issue 6's record exports keep to the requester's scope."""

    @pytest.mark.parametrize(("role", "rows"), [("admin", 6), ("supA", 5), ("supB", 1), ("analyst", 6)])
    def test_background_export_holds_the_requesters_records(self, teams, role, rows):
        from surveys.services.exports import record_export_create, record_export_run

        export = record_export_create(user=getattr(teams.users, role), form_id="checks", round_id=teams.round.pk,
                                      fmt="csv")
        assert record_export_run(export_id=export.pk).rows == rows

    def test_a_supervisor_cannot_export_another_teams_round(self, teams):
        from mtm.errors import NotFound
        from surveys.models import RecordExport
        from surveys.services.exports import record_export_create

        with pytest.raises(NotFound):
            record_export_create(user=teams.users.supA, form_id="household", round_id=teams.other_round.pk)
        assert RecordExport.objects.count() == 0

    def test_export_selected_refuses_another_teams_rows(self, login, teams):
        import csv
        import io

        client = login("supB")
        refused = client.post("/admin/surveys/submission/export/", {
            "format": "0", "resource": "0", "export_items": [s.pk for s in teams.subs.a1 + teams.subs.b3]})
        assert refused["Content-Type"].startswith("text/html")
        assert "export_items" in refused.context["form"].errors

        response = client.post("/admin/surveys/submission/export/", {
            "format": "0", "resource": "0", "export_items": [s.pk for s in teams.subs.b3]})
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert [int(r[0]) for r in rows[1:]] == [s.pk for s in teams.subs.b3]

    @pytest.mark.parametrize(("role", "status"), [("supA", 404), ("supB", 201)])
    def test_api_export_of_the_other_surveys_form(self, login, teams, role, status):
        response = login(role).post("/api/v1/exports/", {"form_id": "household", "format": "csv"},
                                    content_type="application/json")
        assert response.status_code == status
