"""Issue 15 items 3 and 4: one definition of "waiting for review" (surveys.selectors.review)
gives the same count on the home page, the dashboard and the submission list, before and after
a review; received vs counted adds up and each number opens the interviews it counts; the list
filters by "Not reviewed" and reads no DISTINCT over the submissions."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from surveys.models import Submission
from surveys.selectors.review import STANDING_Q, Standing, waiting_for_review
from surveys.selectors.submissions import counted_submissions

pytestmark = pytest.mark.django_db


def listed(client, query: str) -> int:
    """How many rows the submission list says it has for this query string."""
    response = client.get(f"/admin/surveys/submission/?{query}")
    assert response.status_code == 200
    return response.context["cl"].result_count


def home_count(client, round_id: int) -> int:
    html = " ".join(client.get("/admin/").content.decode().split())
    found = re.search(rf'href="/admin/surveys/submission/\?round={round_id}&amp;review=waiting">(\d+) to review', html)
    assert found, html[:200]
    return int(found.group(1))


@pytest.mark.parametrize(("user", "waiting"), [("supA", 5), ("admin", 6)])
def test_home_dashboard_and_list_agree_on_waiting(client, teams, user, waiting):
    client.force_login(getattr(teams.users, user))
    dashboard = client.get(f"/admin/surveys/round/{teams.round.pk}/dashboard/").context["p"]

    assert home_count(client, teams.round.pk) == dashboard.waiting_review == waiting
    assert listed(client, f"round={teams.round.pk}&review=waiting") == waiting
    assert waiting_for_review(user=getattr(teams.users, user), round_id=teams.round.pk).count() == waiting
    assert listed(client, f"round={teams.round.pk}&review=none") == dashboard.review["none"]
    assert listed(client, f"round={teams.round.pk}&review=has_issues") == dashboard.review["has_issues"]


def test_approving_moves_every_count_together(client, teams):
    client.force_login(teams.users.supA)
    flagged = teams.subs.a1[2]
    response = client.post(f"/admin/surveys/submission/{flagged.pk}/review/", {"status": "approved"})
    assert response.status_code == 302
    dashboard = client.get(f"/admin/surveys/round/{teams.round.pk}/dashboard/").context["p"]

    assert home_count(client, teams.round.pk) == dashboard.waiting_review == 4
    assert listed(client, f"round={teams.round.pk}&review=waiting") == 4
    assert listed(client, f"round={teams.round.pk}&review=approved") == dashboard.review["approved"] == 1


def test_received_is_counted_plus_the_reasons_each_a_link(client, teams):
    client.force_login(teams.users.admin)
    response = client.get(f"/admin/surveys/round/{teams.round.pk}/dashboard/")
    p = response.context["p"]
    html = " ".join(response.content.decode().split())

    assert p.received_total == p.quota.done + sum(n for _, _, n in p.not_counted) == 7
    assert p.quota.done == counted_submissions(round_id=teams.round.pk).count() == 6
    assert (f'<a id="counted-link" href="/admin/surveys/submission/?round={teams.round.pk}&amp;standing=counted">'
            "6 counted</a>, ") in html
    assert (f'<a id="standing-rejected" href="/admin/surveys/submission/?round={teams.round.pk}&amp;'
            'standing=rejected">1 rejected (not approved)</a>.') in html
    for standing in Standing:
        assert listed(client, f"round={teams.round.pk}&standing={standing.value}") == p.standing.get(standing, 0)


def test_standings_split_every_current_submission_once(teams):
    current = Submission.objects.filter(round=teams.round, is_current=True)
    counts = {s.value: current.filter(STANDING_Q[s]).count() for s in Standing}

    assert counts == {"counted": 6, "unprocessed": 0, "refused": 0, "rejected": 1, "invalid": 0}
    assert sum(counts.values()) == current.count()
    assert set(current.filter(STANDING_Q[Standing.COUNTED]).values_list("pk", flat=True)) == set(
        counted_submissions(round_id=teams.round.pk).values_list("pk", flat=True))


def test_not_reviewed_rows_say_so_and_show_what_a_supervisor_scans(client, teams):
    client.force_login(teams.users.supA)
    response = client.get(f"/admin/surveys/submission/?round={teams.round.pk}&review=none")
    html = " ".join(response.content.decode().split())

    assert response.context["cl"].result_count == 3
    assert html.count('<span class="mtm-state mtm-state-none">Not reviewed</span>') == 3
    for column in ("interview", "submitted_by", "interview_date", "location_name", "review", "flag_list"):
        assert f'class="sortable column-{column}' in html or f'class="column-{column}' in html
    assert '<span class="mtm-chip" title="review">Not reviewed</span>' in html  # the closed panel's chip
    assert '<details class="mtm-filters" id="mtm-filters">' in html


def test_flag_filter_and_flag_labels(client, teams):
    client.force_login(teams.users.supA)
    response = client.get(f"/admin/surveys/submission/?round={teams.round.pk}&flag=outlier")
    html = " ".join(response.content.decode().split())

    assert [s.pk for s in response.context["cl"].result_list] == [teams.subs.a1[2].pk]
    assert '<span class="mtm-flag" title="outlier">Impossible or unlikely answer</span>' in html
    assert listed(client, f"round={teams.round.pk}&flag=any") == 2


def test_the_list_reads_no_distinct_over_submissions(client, teams):
    client.force_login(teams.users.supA)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/admin/surveys/submission/?round={teams.round.pk}&review=waiting&flag=any")
    assert response.status_code == 200
    on_submissions = [q["sql"] for q in queries if 'FROM "surveys_submission"' in q["sql"]]
    # The count and the page's rows: nothing else scans the submissions (filter choices come from small tables).
    assert len(on_submissions) == 2
    assert not any("DISTINCT" in sql for sql in on_submissions)
