"""The OData feed's row cache (ODataRow): a page is the same whether its rows are rendered or spliced from the
cache; a row is rendered again when its submission is saved since, or when the form's model changes; the
review state (``__system``) is never cached; ``$select`` and the variants ($expand, $wkt) stay apart."""

from __future__ import annotations

import json

from surveys.models import ODataRow, Submission
from surveys.services.review import submission_review
from tests.factories import UserFactory
from tests.surveys.api.central.conftest import client_for


def page(client, url: str, **params) -> dict:
    response = client.get(url, params)
    assert response.status_code == 200
    return json.loads(b"".join(response.streaming_content))


def test_a_cached_page_is_the_rendered_page_and_follows_saves_and_reviews(analyst, interviews, project_id):
    early, later, june, other = interviews
    client = client_for("analyst1")
    url = f"/v1/projects/{project_id}/forms/household.svc/Submissions"

    first = page(client, url)
    kept = dict(ODataRow.objects.filter(variant=0).values_list("submission_id", "body_json"))
    again = page(client, url)

    assert first == again
    assert set(kept) == {early.pk, later.pk, june.pk, other.pk}
    assert json.loads(kept[june.pk]) == {k: v for k, v in first["value"][1].items() if k not in ("__id", "__system")}
    assert json.loads(kept[june.pk])["resp"]["age"] == 35

    # A row saved since is rendered again; a review (``__system``) shows without re-rendering anything.
    sub = Submission.objects.get(pk=june.pk)
    sub.answers = {**sub.answers, "resp/age": 36}
    sub.save()
    ODataRow.objects.filter(submission_id=early.pk).update(body_json='{"country":"cached"}')
    submission_review(submission_id=later.pk, status="approved", by=UserFactory(username="chief", is_superuser=True))
    third = page(client, url)

    rows = {row["__id"]: row for row in third["value"]}
    assert rows[june.instance_id]["resp"]["age"] == 36
    assert json.loads(ODataRow.objects.get(submission_id=june.pk, variant=0).body_json)["resp"]["age"] == 36
    assert rows[early.instance_id]["country"] == "cached"  # still current: spliced as kept
    assert rows[later.instance_id]["__system"]["reviewState"] == "approved"
    assert list(rows[early.instance_id]) == ["__id", "country", "__system"]


def test_a_new_model_renders_again_and_variants_and_select_stay_apart(analyst, interviews, project_id):
    client = client_for("analyst1")
    url = f"/v1/projects/{project_id}/forms/household.svc/Submissions"
    plain = page(client, url)
    expanded = page(client, url, **{"$expand": "*", "$wkt": "true"})
    ODataRow.objects.update(model_key="0" * 16, body_json='{"country":"stale"}')

    selected = page(client, url, **{"$select": "country"})
    renewed = page(client, url)

    assert sorted(ODataRow.objects.values_list("variant", flat=True).distinct()) == [0, 3]
    assert ODataRow.objects.filter(model_key="0" * 16).count() == 4  # the expanded ones, not read since
    assert renewed == plain
    assert [row["country"] for row in selected["value"]] == [row["country"] for row in plain["value"]]
    member = expanded["value"][3]["member"]
    assert [m["member_age"] for m in member] == [10, 12]
    assert expanded["value"][3]["resp"]["gps"].startswith("POINT (")
