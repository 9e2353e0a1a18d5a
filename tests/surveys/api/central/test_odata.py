"""The OData feed's query options on Submissions and a repeat's table, paging, review states through
PATCH, CSV — and every refusal in Central's shape with its status."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest

from surveys.models import ReviewEvent, Submission
from tests.surveys.api.central.conftest import account, client_for


def get(client, url: str, **params):
    response = client.get(url, params)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    if response["Content-Type"].startswith("application/json") and body:
        return response.status_code, json.loads(body)
    return response.status_code, body


@pytest.fixture
def svc(project_id) -> str:
    return f"/v1/projects/{project_id}/forms/household.svc"


def ids(body) -> list[str]:
    return [row["__id"] for row in body["value"]]


def test_filters_on_system_fields_and_answers(analyst, interviews, svc):
    early, later, june, other = interviews
    client = client_for("analyst1")

    def found(expression: str) -> list[str]:
        status, body = get(client, f"{svc}/Submissions", **{"$filter": expression})
        assert status == 200, body
        return ids(body)

    assert found("__system/submissionDate lt 2024-06-01") == [later.instance_id, early.instance_id]
    assert found("month(__system/submissionDate) eq 6 and day(__system/submissionDate) ge 2") == [other.instance_id]
    assert found(f"__system/submitterId eq '{other.submitted_by_id}'") == [other.instance_id]
    assert found("resp/age gt 30 and (country eq 'tj' or resp/sex eq 'female')") == [
        other.instance_id, june.instance_id, early.instance_id]
    assert found("not (resp/age le 35)") == [other.instance_id, early.instance_id]
    assert found("__system/reviewState eq null") == [other.instance_id, june.instance_id, later.instance_id,
                                                     early.instance_id]
    assert found("income eq null and year(__system/submissionDate) eq 2024") == ids(
        get(client, f"{svc}/Submissions")[1])


def test_select_orderby_skip_count_and_wkt(analyst, interviews, svc):
    early, _later, june, _other = interviews
    client = client_for("analyst1")

    _, selected = get(client, f"{svc}/Submissions", **{"$select": "__system/submitterName,resp/age,country",
                                                       "$orderby": "resp/age asc", "$skip": "1", "$top": "2",
                                                       "$count": "true"})
    _, wkt = get(client, f"{svc}/Submissions", **{"$wkt": "true", "$top": "1"})

    assert selected["@odata.count"] == 4
    assert selected["value"] == [
        {"__id": june.instance_id, "__system": {"submitterName": "enum01"}, "resp": {"age": 35}, "country": "tj"},
        {"__id": early.instance_id, "__system": {"submitterName": "enum01"}, "resp": {"age": 41}, "country": "uz"}]
    assert "%24skip=3" in selected["@odata.nextLink"] and "skiptoken" not in selected["@odata.nextLink"]
    assert wkt["value"][0]["resp"]["gps"].startswith("POINT (76.")


def test_skiptoken_pages_give_every_submission_once(analyst, interviews, svc):
    client = client_for("analyst1")
    seen: list[str] = []
    url, params = f"{svc}/Submissions", {"$top": "3", "$count": "true"}
    while True:
        status, body = get(client, url, **params)
        assert status == 200 and body["@odata.count"] == 4
        seen.extend(ids(body))
        if "@odata.nextLink" not in body:
            break
        url, params = body["@odata.nextLink"].removeprefix("http://testserver"), {}
    assert seen == [s.instance_id for s in reversed(interviews)]


def test_a_repeat_table_pages_by_skip_and_expands(analyst, interviews, svc):
    early = interviews[0]
    client = client_for("analyst1")

    _, first = get(client, f"{svc}/Submissions.member", **{"$top": "1", "$count": "true"})
    _, second = get(client, first["@odata.nextLink"].removeprefix("http://testserver"))
    _, expanded = get(client, f"{svc}/Submissions", **{"$expand": "*", "$filter": f"__id eq '{early.instance_id}'"})

    assert (first["@odata.count"], first["value"][0]["member_age"], second["value"][0]["member_age"]) == (2, 10, 12)
    assert "@odata.nextLink" not in second
    assert first["@odata.context"] == f"http://testserver{svc}/$metadata#Submissions.member"
    assert [m["member_age"] for m in expanded["value"][0]["member"]] == [10, 12]
    assert [m["__id"] for m in expanded["value"][0]["member"]] == [first["value"][0]["__id"],
                                                                    second["value"][0]["__id"]]


@pytest.mark.parametrize(("params", "status", "code"), [
    ({"$filter": "resp/age gt"}, 400, 400.18),
    ({"$filter": "resp/age gt 30 )"}, 400, 400.18),
    ({"$filter": "'a' eq 'a' and " * 200 + "resp/age eq 1"}, 400, 400.18),
    ({"$filter": "(" * 60 + "resp/age eq 1" + ")" * 60}, 400, 400.18),
    ({"$filter": "contains(country, 'u')"}, 501, 501.4),
    ({"$filter": "resp/age add 1 eq 2"}, 501, 501.4),
    ({"$filter": "resp/name eq 'Ali Valiev'"}, 501, 501.5),
    ({"$filter": "member/member_age eq 10"}, 501, 501.5),
    ({"$orderby": "resp/name desc"}, 501, 501.5),
    ({"$expand": "member"}, 501, 501.6),
    ({"$expand": "*", "$select": "country"}, 501, 501.11),
    ({"$select": "resp/name"}, 400, 400.23),
    ({"$select": "member"}, 400, 400.24),
    ({"$top": "-1"}, 400, 400.8),
    ({"$count": "yes"}, 400, 400.8),
    ({"$skiptoken": "01bm90LWpzb24"}, 400, 400.8),
    ({"$search": "uz"}, 501, 501.1),
])
def test_what_the_feed_does_not_take_is_refused_in_centrals_shape(analyst, interviews, svc, params, status, code):
    got_status, body = get(client_for("analyst1"), f"{svc}/Submissions", **params)

    assert (got_status, body["code"]) == (status, code)
    assert isinstance(body["message"], str) and body["message"]


def test_unknown_tables_forms_and_projects_are_404(analyst, interviews, svc, project_id):
    client = client_for("analyst1")

    assert get(client, f"{svc}/Submissions.nothing")[1] == {
        "code": 404.1, "message": "Could not find the resource you were looking for."}
    assert get(client, f"/v1/projects/{project_id}/forms/nothing.svc")[0] == 404
    assert get(client, f"/v1/projects/{project_id + 100}/forms")[0] == 404


def test_review_states_through_patch_are_audited_and_shown_as_centrals(supervisor, interviews, project_id, svc):
    early, later, _june, _other = interviews
    client = client_for("sup1")
    base = f"/v1/projects/{project_id}/forms/household/submissions"

    rejected = client.patch(f"{base}/{early.instance_id}", {"reviewState": "rejected"}, format="json")
    held = client.patch(f"{base}/{later.instance_id}", {"reviewState": "hasIssues"}, format="json")
    comment = client.post(f"{base}/{later.instance_id}/comments", {"body": "Ages look off."}, format="json")
    _, filtered = get(client, f"{svc}/Submissions", **{"$filter": "__system/reviewState eq 'hasIssues'"})

    assert (rejected.status_code, rejected.json()["reviewState"]) == (200, "rejected")
    assert (held.status_code, held.json()["reviewState"]) == (200, "hasIssues")
    assert comment.json()["body"] == "Ages look off." and comment.json()["actorId"] == supervisor.pk
    assert Submission.objects.get(pk=early.pk).review_status == "not_approved"
    assert Submission.objects.get(pk=later.pk).review_status == "on_hold"
    assert list(ReviewEvent.objects.order_by("id").values_list("submission_id", "to_status", "actor__username")) == [
        (early.pk, "not_approved", "sup1"), (later.pk, "on_hold", "sup1")]
    assert ids(filtered) == [later.instance_id]


def test_bad_or_forbidden_reviews_change_nothing(analyst, supervisor, interviews, project_id):
    early, _later, _june, other = interviews
    base = f"/v1/projects/{project_id}/forms/household/submissions"

    edited = client_for("sup1").patch(f"{base}/{early.instance_id}", {"reviewState": "edited"}, format="json")
    empty = client_for("sup1").patch(f"{base}/{early.instance_id}", {}, format="json")
    not_team = client_for("sup1").patch(f"{base}/{other.instance_id}", {"reviewState": "approved"}, format="json")
    analyst_try = client_for("analyst1").patch(f"{base}/{early.instance_id}", {"reviewState": "approved"},
                                               format="json")
    no_body = client_for("sup1").post(f"{base}/{early.instance_id}/comments", {"body": "  "}, format="json")

    assert (edited.status_code, edited.json()["code"]) == (400, 400.8)
    assert (empty.status_code, empty.json()["code"]) == (400, 400.8)
    assert (not_team.status_code, not_team.json()["code"]) == (404, 404.1)
    assert (analyst_try.status_code, analyst_try.json()["code"]) == (403, 403.1)
    assert (no_body.status_code, no_body.json()["code"]) == (400, 400.8)
    assert list(Submission.objects.filter(pk__in=[s.pk for s in interviews]).values_list("review_status",
                                                                                          flat=True)) == [None] * 4
    assert ReviewEvent.objects.count() == 0


def test_csv_and_csv_zip(analyst, interviews, project_id):
    early = interviews[0]
    client = client_for("analyst1")
    base = f"/v1/projects/{project_id}/forms/household"

    _, root = get(client, f"{base}/submissions.csv")
    _, packed = get(client, f"{base}/submissions.csv.zip")
    archive = zipfile.ZipFile(io.BytesIO(packed))
    members = list(csv.reader(io.StringIO(archive.read("household-member.csv").decode())))
    table = list(csv.DictReader(io.StringIO(root.decode())))

    assert archive.namelist() == ["household.csv", "household-member.csv"]
    assert archive.read("household.csv") == root
    assert members == [["member_age", "PARENT_KEY", "KEY"],
                       ["10", early.instance_id, f"{early.instance_id}/member[1]"],
                       ["12", early.instance_id, f"{early.instance_id}/member[2]"]]
    assert [row["KEY"] for row in table] == [s.instance_id for s in reversed(interviews)]
    assert table[-1]["resp-age"] == "41" and table[-1]["reasons"] == "work family"
    assert not any("name" == column.rsplit("-", 1)[-1] for column in table[0])


def test_a_supervisor_of_another_team_sees_the_project_but_none_of_its_records(interviews, svc, project_id):
    account("sup2", "Supervisors")

    _, body = get(client_for("sup2"), f"{svc}/Submissions", **{"$count": "true"})
    listed = client_for("sup2").get(f"/v1/projects/{project_id}/forms/household/submissions")

    assert (body["@odata.count"], body["value"]) == (0, [])
    assert b"".join(listed.streaming_content) == b"[]"
