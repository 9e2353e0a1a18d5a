"""``/api/v1/rounds/<id>/scorecard`` and ``/api/v1/rounds/<id>/backchecks``, their scope, and the admin pages."""

import pytest
from django.urls import reverse

from surveys.models import BackCheck


def scorecard(client, user, round_id):
    client.force_login(user)
    return client.get(f"/api/v1/rounds/{round_id}/scorecard")


@pytest.mark.django_db
class TestScorecard:
    def test_each_enumerator_against_the_team(self, client, teams):
        response = scorecard(client, teams.users.admin, teams.round.pk)
        assert response.status_code == 200
        body = response.json()
        assert (body["round"], body["interviews"]) == (teams.round.pk, 7)
        assert [(e["enumerator"], e["interviews"]) for e in body["enumerators"]] == [
            ("enum01", 4), ("enum02", 1), ("enum03", 2)]
        assert body["measures"] == ["median_active_minutes", "median_question_seconds", "flag_rate",
                                    "backcheck_difference_rate", "gate_skip_share", "dont_know_share",
                                    "answer_distance", "straight_lining_share"]
        enum01 = body["enumerators"][0]["figures"]
        # enum01: one of four flagged (age 92, outlier); no audit log, so no times.
        assert enum01["flag_rate"]["value"] == 0.25
        assert enum01["median_active_minutes"] == {"value": None, "z": None, "outlier": False}
        assert body["team"]["flag_rate"] == round(2 / 7, 4)  # enum01 age 92, enum02 GPS outside

    def test_a_supervisor_sees_their_team_only_and_another_round_is_404(self, client, teams):
        body = scorecard(client, teams.users.supA, teams.round.pk).json()
        assert [e["enumerator"] for e in body["enumerators"]] == ["enum01", "enum02"]
        assert scorecard(client, teams.users.supA, teams.other_round.pk).status_code == 404
        client.logout()
        assert client.get(f"/api/v1/rounds/{teams.round.pk}/scorecard").status_code in (401, 403)


@pytest.mark.django_db
class TestBackChecks:
    def test_drawn_and_listed_with_the_interview_date_and_location_only(self, client, teams):
        teams.round.checks = {**teams.round.checks, "backcheck_percent": 50, "backcheck_seed": "x"}
        teams.round.save()
        client.force_login(teams.users.supA)
        drawn = client.post(f"/api/v1/rounds/{teams.round.pk}/backchecks")
        assert (drawn.status_code, drawn.json()) == (200, {"drawn": 2 + 1 + 1})
        rows = client.get(f"/api/v1/rounds/{teams.round.pk}/backchecks").json()
        assert sorted(r["enumerator"] for r in rows) == ["enum01", "enum01", "enum02"]
        assert set(rows[0]) == {"original", "enumerator", "interview_date", "location", "drawn", "done",
                                "backcheck", "compared", "differing", "difference_rate", "differing_questions",
                                "flagged"}
        assert rows[0]["interview_date"] == "2024-05-02" and rows[0]["done"] is False
        assert "Zhanibek" not in str(rows)
        client.force_login(teams.users.supB)
        assert [r["enumerator"] for r in client.get(f"/api/v1/rounds/{teams.round.pk}/backchecks").json()] == [
            "enum03"]

    def test_an_enumerator_is_refused(self, client, teams):
        from tests.factories import UserFactory

        client.force_login(UserFactory(username="enum01"))
        assert client.post(f"/api/v1/rounds/{teams.round.pk}/backchecks").status_code in (403, 404)
        assert not BackCheck.objects.exists()


@pytest.mark.django_db
class TestAdmin:
    def test_the_dashboard_shows_the_scorecard_with_links_to_the_interviews(self, client, teams):
        client.force_login(teams.users.supA)
        page = client.get(reverse("admin:surveys_round_dashboard", args=[teams.round.pk])).content.decode()
        assert 'id="scorecard-table"' in page
        enum01 = teams.subs.a1[0].submitted_by_id
        assert f"?round={teams.round.pk}&amp;enumerator={enum01}&amp;flag=any" in page
        assert ">enum03<" not in page

    def test_the_back_check_list_and_the_submission_page(self, client, teams):
        from surveys.services.quality.backchecks import backchecks_draw

        teams.round.checks = {**teams.round.checks, "backcheck_percent": 100}
        teams.round.save()
        backchecks_draw(round_id=teams.round.pk)
        client.force_login(teams.users.supB)
        page = client.get(reverse("admin:surveys_backcheck_changelist")).content.decode()
        assert "enum03" in page and "enum01" not in page
        sub = teams.subs.a1[0]
        client.force_login(teams.users.admin)
        page = client.get(reverse("admin:surveys_submission_change", args=[sub.pk])).content.decode()
        assert "How it was filled (audit log)" in page and "The form keeps no audit log." in page


@pytest.mark.django_db
def test_the_round_list_rebuilds_the_scorecard_and_draws_back_checks(client, teams):
    from surveys.models import ScoreCell

    teams.round.checks = {**teams.round.checks, "backcheck_percent": 100}
    teams.round.save()
    running = sorted(ScoreCell.objects.values_list("enumerator_id", "kind", "key", "n"))
    ScoreCell.objects.all().delete()
    client.force_login(teams.users.admin)
    url = reverse("admin:surveys_round_changelist")
    page = client.post(url, {"action": "rebuild_scorecard", "_selected_action": [teams.round.pk]}, follow=True)
    assert sorted(ScoreCell.objects.values_list("enumerator_id", "kind", "key", "n")) == running
    assert f"scorecard rebuilt ({len(running)} cells)" in page.content.decode()
    page = client.post(url, {"action": "draw_backchecks", "_selected_action": [teams.round.pk]}, follow=True)
    assert "7 interviews drawn for back-checks." in page.content.decode()
    assert BackCheck.objects.count() == 7
