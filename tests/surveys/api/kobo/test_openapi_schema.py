"""The OpenAPI schema of the whole API at /api/schema/, and a schemathesis
run against it on a live server (``make test-services``): no 5xx."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.clients import token_client

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


@pytest.mark.services
def test_schemathesis_finds_no_server_error(live_server, household, send, celery_worker_process):
    """Every operation of the schema, fuzzed with a superuser's token over a form with records."""
    send()
    key = token_client("fuzz", superuser=True)._credentials["HTTP_AUTHORIZATION"]
    result = subprocess.run(
        [str(Path(sys.executable).with_name("st")), "run", f"{live_server.url}/api/schema/", "--checks",
         "not_a_server_error", "--max-examples", "8", "--header", f"Authorization:{key}", "--request-timeout", "30",
         "--phases", "examples,coverage,fuzzing"],
        cwd=ROOT, env={**os.environ, "SCHEMATHESIS_HOOKS": ""}, capture_output=True, text=True, timeout=900)

    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
