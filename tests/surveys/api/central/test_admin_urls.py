"""The form's admin page shows the Central base URL and the OData feed URL for analysts to copy, and
the feed URL shown is the one that serves."""

from __future__ import annotations

import re

from tests.surveys.api.central.conftest import client_for


def test_the_form_page_shows_both_urls_and_the_feed_url_serves(admin_client, analyst, household, project_id):
    page = admin_client.get(f"/admin/surveys/questionnaire/{household.pk}/change/")
    shown = re.findall(r"<code>(http://testserver/[^<]*)</code>", page.content.decode())

    assert page.status_code == 200
    assert shown == ["http://testserver/", f"http://testserver/v1/projects/{project_id}/forms/household.svc"]
    feed = client_for("analyst1").get(shown[1].removeprefix("http://testserver"))
    assert (feed.status_code, [s["name"] for s in feed.json()["value"]]) == (200, ["Submissions",
                                                                                  "Submissions.member"])
