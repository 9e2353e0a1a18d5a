"""/api/schema/ says what the API answers: drf-spectacular's own validation
without a warning, no answer described as a bare object, and real v1
answers that conform (the KoBo ones: kobo/test_openapi_schema.py)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from tests.clients import token_client
from tests.forms import form_bytes
from tests.submissions import send_checks_instance as send
from tests.surveys.api.openapi import (
    api_schema,
    body_errors,
    is_free_form,
    operations,
    resolved,
    response_errors,
    undescribed_objects,
)

pytestmark = pytest.mark.django_db


def test_schema_validates_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))

    assert (tmp_path / "schema.yaml").stat().st_size > 0


def test_every_answer_and_body_says_what_it_holds(client):
    """A 2xx answer or a request body is never a bare object, and a free-form object
    inside one (answers by question path, KoboToolbox's empty settings) says what it is."""
    openapi = api_schema(client)
    bare, undescribed, empty = [], [], []

    for path, method, operation in operations(openapi):
        bodies = [(f"{method} {path} {code}", response) for code, response in operation["responses"].items()
                  if code.startswith("2")]
        if "requestBody" in operation:
            bodies.append((f"{method} {path} request", operation["requestBody"]))
        for where, body in bodies:
            if "content" not in body:
                if not where.endswith(" 204"):
                    empty.append(where)
                continue
            for media_type, content in body["content"].items():
                schema = content["schema"]
                if is_free_form(resolved(openapi, schema)):
                    bare.append(f"{where} {media_type}")
                undescribed += [f"{where}: {name}" for name in undescribed_objects(openapi, schema, where)]

    assert (bare, sorted(set(undescribed)), empty) == ([], [], [])


def test_submission_detail_list_and_review_conform(form):
    supervisor = token_client("sup1", "view_submission", "review_submission")
    sub = send(age="92")
    send(age="old")
    openapi = api_schema(supervisor)

    detail = supervisor.get(f"/api/v1/submissions/{sub.instance_id}/")
    page = supervisor.get("/api/v1/submissions/?limit=1")
    reviewed = supervisor.patch(f"/api/v1/submissions/{sub.instance_id}/review/", {"status": "approved"},
                                format="json")
    missing = supervisor.get("/api/v1/submissions/uuid:nope/")
    refused = supervisor.get("/api/v1/submissions/?status=bad")

    assert [r.status_code for r in (detail, page, reviewed, missing, refused)] == [200, 200, 200, 404, 400]
    assert detail.json()["flags"] and page.json()["next"] and reviewed.json()["review"]["by"] == "sup1"
    assert response_errors(openapi, "/api/v1/submissions/{instance_id}/", "get", detail) == []
    assert response_errors(openapi, "/api/v1/submissions/", "get", page) == []
    assert response_errors(openapi, "/api/v1/submissions/{instance_id}/review/", "patch", reviewed) == []
    assert response_errors(openapi, "/api/v1/submissions/{instance_id}/", "get", missing) == []
    assert response_errors(openapi, "/api/v1/submissions/", "get", refused) == []


def test_the_check_refuses_a_key_or_a_type_the_schema_does_not_name(form):
    supervisor = token_client("sup1", "view_submission")
    sub = send()
    openapi = api_schema(supervisor)
    body = supervisor.get(f"/api/v1/submissions/{sub.instance_id}/").json()

    def errors(changed):
        return body_errors(openapi, "/api/v1/submissions/{instance_id}/", "get", 200, changed)

    assert errors(body) == []
    assert errors(body | {"surprise": 1}) == ["(body): Additional properties are not allowed ('surprise' was "
                                              "unexpected)"]
    assert errors(body | {"review": body["review"] | {"status": "great"}}) != []
    assert errors(body | {"round": "4"}) == ["round: '4' is not of type 'integer'"]
    assert errors(body | {"answers": {"age": 30, "group/q": [{"a": 1}]}}) == []


def test_round_report_by_group_and_compared_and_risk_conform(rounds):
    analyst = token_client("analyst1", "view_submission")
    openapi = api_schema(analyst)

    report = analyst.get(f"/api/v1/rounds/{rounds.pk}/report?form=report&by=sex&compare=3")
    plain = analyst.get(f"/api/v1/rounds/{rounds.pk}/report?form=report")
    risk = analyst.get(f"/api/v1/rounds/{rounds.pk}/risk?k=3")

    assert [r.status_code for r in (report, plain, risk)] == [200, 200, 200]
    questions = {q["name"]: q for q in report.json()["questions"]}
    assert {"rows", "by", "compare"} <= set(questions["sex"]) and {"mean", "by", "compare"} <= set(questions["age"])
    assert "mean_selected" in questions["reasons"] and any(r.get("small") for q in questions.values()
                                                           for r in q.get("rows", []))
    for response in (report, plain):
        assert response_errors(openapi, "/api/v1/rounds/{round_id}/report", "get", response) == []
    assert response_errors(openapi, "/api/v1/rounds/{round_id}/risk", "get", risk) == []


def test_questionnaire_upload_and_list_conform():
    designer = token_client("designer", "add_questionnaire", "view_questionnaire")
    openapi = api_schema(designer)
    upload = SimpleUploadedFile("household.md", form_bytes("household.md"), content_type="application/octet-stream")

    created = designer.post("/api/v1/questionnaires/", {"file": upload, "survey": "mtm-kz", "round": 4},
                            format="multipart")
    listed = designer.get("/api/v1/questionnaires/")

    assert (created.status_code, listed.status_code) == (201, 200)
    assert response_errors(openapi, "/api/v1/questionnaires/", "post", created) == []
    assert response_errors(openapi, "/api/v1/questionnaires/", "get", listed) == []


def test_exports_conform(form, django_capture_on_commit_callbacks):
    send()
    boss = token_client("boss", superuser=True)
    openapi = api_schema(boss)

    with django_capture_on_commit_callbacks(execute=True):
        created = boss.post("/api/v1/exports/", {"form_id": "checks", "format": "csv"}, format="json")
    polled = boss.get(f"/api/v1/exports/{created.json()['uid']}/")
    listed = boss.get("/api/v1/exports/")
    refused = boss.post("/api/v1/exports/", {"form_id": "checks", "format": "pdf"}, format="json")

    assert [r.status_code for r in (created, polled, listed, refused)] == [201, 200, 200, 400]
    assert polled.json()["status"] == "complete"
    assert response_errors(openapi, "/api/v1/exports/", "post", created) == []
    assert response_errors(openapi, "/api/v1/exports/{uid}/", "get", polled) == []
    assert response_errors(openapi, "/api/v1/exports/", "get", listed) == []
    assert response_errors(openapi, "/api/v1/exports/", "post", refused) == []
