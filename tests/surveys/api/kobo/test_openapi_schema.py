"""The OpenAPI schema of the whole API at /api/schema/: real KoBo answers
conform to it (the v1 ones and the schema's own checks: ../test_schema.py),
and a schemathesis run against it on a live server (``make test-services``):
no 5xx."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from surveys.services.review import submission_review
from tests.clients import body_json, token_client
from tests.factories import UserFactory
from tests.surveys.api.openapi import api_schema, response_errors

ROOT = Path(__file__).resolve().parents[4]


@pytest.mark.django_db
def test_schema_covers_v1_and_v2(client):
    response = client.get("/api/schema/")

    assert response.status_code == 200
    paths = yaml.safe_load(response.content)["paths"]
    for path in ("/api/v1/submissions/", "/api/v1/exports/", "/api/v2/assets/", "/api/v2/assets/{uid}/data/",
                 "/api/v2/assets/{uid}/data/validation_statuses/", "/api/v2/assets/{uid}/exports/",
                 "/api/v2/assets/{uid}/export-settings/", "/api/v2/assets/{uid}/reports/"):
        assert path in paths
    assert not [p for p in paths if "{format}" in p]


A = "/api/v2/assets/{uid}"


@pytest.mark.django_db
def test_assets_content_and_reports_conform(household, send, analyst, uid):
    send(sex="male", age="30")
    send(sex="female", age="40", reasons="work family", members=("10",))
    openapi = api_schema(analyst)

    answers = {
        ("/api/v2/assets/", "get"): analyst.get("/api/v2/assets/?limit=1"),
        (f"{A}/", "get"): analyst.get(f"/api/v2/assets/{uid}/"),
        (f"{A}/content/", "get"): analyst.get(f"/api/v2/assets/{uid}/content/"),
        (f"{A}/reports/", "get"): analyst.get(f"/api/v2/assets/{uid}/reports/"),
    }
    split = analyst.get(f"/api/v2/assets/{uid}/reports/?split_by=sex&lang=ru")
    missing = analyst.get("/api/v2/assets/aNope/")
    refused = analyst.get(f"/api/v2/assets/{uid}/reports/?split_by=nope")

    assert [r.status_code for r in (*answers.values(), split, missing, refused)] == [200] * 5 + [404, 400]
    assert "values" in split.json()["list"][0]["data"]
    for (path, method), response in answers.items():
        assert response_errors(openapi, path, method, response) == [], path
    assert response_errors(openapi, f"{A}/reports/", "get", split) == []
    assert response_errors(openapi, f"{A}/", "get", missing) == []
    assert response_errors(openapi, f"{A}/reports/", "get", refused) == []


@pytest.mark.django_db
def test_records_and_validation_statuses_conform(household, send, supervisor, uid):
    plain = send(members=("10", "12"), reasons="work")
    reviewed = send(sex="female")
    boss = UserFactory(username="boss", is_superuser=True)
    submission_review(submission_id=reviewed.pk, status="approved", by=boss)
    openapi = api_schema(supervisor)

    page = supervisor.get(f"/api/v2/assets/{uid}/data/?limit=1")
    everything = supervisor.get(f"/api/v2/assets/{uid}/data.json")
    some_fields = supervisor.get(f"/api/v2/assets/{uid}/data/?fields=%5B%22_id%22%2C%22resp%2Fage%22%5D")
    geojson = supervisor.get(f"/api/v2/assets/{uid}/data/?format=geojson")
    record = supervisor.get(f"/api/v2/assets/{uid}/data/{plain.pk}/")
    status = supervisor.get(f"/api/v2/assets/{uid}/data/{reviewed.pk}/validation_status/")
    none = supervisor.get(f"/api/v2/assets/{uid}/data/{plain.pk}/validation_status/")
    patched = supervisor.patch(f"/api/v2/assets/{uid}/data/{plain.pk}/validation_status/",
                               {"validation_status.uid": "validation_status_on_hold"}, format="json")
    bulk = supervisor.patch(f"/api/v2/assets/{uid}/data/validation_statuses/",
                            {"payload": {"submission_ids": [plain.pk, reviewed.pk],
                                         "validation_status.uid": "validation_status_not_approved"}}, format="json")
    refused = supervisor.get(f"/api/v2/assets/{uid}/data/?query=notjson")

    responses = (page, everything, some_fields, geojson, record, status, none, patched, bulk, refused)
    assert [r.status_code for r in responses] == [200] * 9 + [400]
    assert body_json(page)["next"] and status.json() and none.json() == {}
    assert any(isinstance(v, list) and v and isinstance(v[0], dict) for r in body_json(everything)["results"]
               for v in r.values())
    for response in (page, everything, some_fields, refused):
        assert response_errors(openapi, f"{A}/data/", "get", response) == []
    assert response_errors(openapi, f"{A}/data/", "get", geojson, "application/geo+json") == []
    assert response_errors(openapi, f"{A}/data/{{submission_id}}/", "get", record) == []
    for response in (status, none):
        assert response_errors(openapi, f"{A}/data/{{submission_id}}/validation_status/", "get", response) == []
    assert response_errors(openapi, f"{A}/data/{{submission_id}}/validation_status/", "patch", patched) == []
    assert response_errors(openapi, f"{A}/data/validation_statuses/", "patch", bulk) == []


@pytest.mark.django_db
def test_exports_and_export_settings_conform(household, send, analyst, uid, django_capture_on_commit_callbacks):
    send()
    openapi = api_schema(analyst)

    with django_capture_on_commit_callbacks(execute=True):
        created = analyst.post(f"/api/v2/assets/{uid}/exports/", {"type": "csv", "lang": "_xml"}, format="json")
    polled = analyst.get(f"/api/v2/assets/{uid}/exports/{created.json()['uid']}/")
    exports = analyst.get(f"/api/v2/assets/{uid}/exports/")
    setting = analyst.post(f"/api/v2/assets/{uid}/export-settings/",
                           {"name": "labels", "export_settings": {"type": "xls", "lang": "_default",
                                                                  "group_sep": "/"}}, format="json")
    settings = analyst.get(f"/api/v2/assets/{uid}/export-settings/")
    one = analyst.patch(f"/api/v2/assets/{uid}/export-settings/{setting.json()['uid']}/", {"name": "mine"},
                        format="json")
    refused = analyst.post(f"/api/v2/assets/{uid}/exports/", {"type": "spss_labels"}, format="json")

    assert [r.status_code for r in (created, polled, exports, setting, settings, one, refused)] == [
        201, 200, 200, 201, 200, 200, 400]
    assert polled.json()["status"] == "complete"
    assert response_errors(openapi, f"{A}/exports/", "post", created) == []
    assert response_errors(openapi, f"{A}/exports/{{export_uid}}/", "get", polled) == []
    assert response_errors(openapi, f"{A}/exports/", "get", exports) == []
    assert response_errors(openapi, f"{A}/export-settings/", "post", setting) == []
    assert response_errors(openapi, f"{A}/export-settings/", "get", settings) == []
    assert response_errors(openapi, f"{A}/export-settings/{{setting_uid}}/", "patch", one) == []
    assert response_errors(openapi, f"{A}/exports/", "post", refused) == []


@pytest.mark.services
def test_schemathesis_finds_no_server_error(live_server, household, send, celery_worker_process):
    """Every operation of the schema, fuzzed with a superuser's token over a form with records.

    NUL characters included: the API refuses them before any query (400). The download of a finished
    export is 404 here (the worker writes its files to its own in-memory storage, mtm.settings.test,
    which the live server cannot open), as for any export whose file is gone."""
    send()
    key = token_client("fuzz", superuser=True)._credentials["HTTP_AUTHORIZATION"]
    result = subprocess.run(
        [str(Path(sys.executable).with_name("st")), "run", f"{live_server.url}/api/schema/", "--checks",
         "not_a_server_error", "--max-examples", "8", "--header", f"Authorization:{key}", "--request-timeout", "30",
         "--phases", "examples,coverage,fuzzing"],
        cwd=ROOT, env={**os.environ, "SCHEMATHESIS_HOOKS": ""}, capture_output=True, text=True, timeout=900)

    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
