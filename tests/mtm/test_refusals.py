"""Issue 13 item 9: input that used to answer 500 answers 400 (or 409) in the
protocol's own form, and nothing stored changes. NUL bytes are refused up
front by :class:`mtm.middleware.NulRefusalMiddleware` (on the embedded
default SQLite would store them; PostgreSQL cannot — the services tests in
``test_refusals_services.py`` take the same requests past the middleware);
input nested too deep is refused by the parsers' one error path."""

from __future__ import annotations

import base64
import json
import logging

import pytest
from lxml import etree

from mtm.errors import NUL_MESSAGE
from surveys.models import Submission, SubmissionComment
from tests.clients import token_client
from tests.submissions import auth, instance_xml, multipart

RESPONSE = "{http://openrosa.org/http/response}"
DEEP = 100_000
ANSWERS = "answer: Aziz Karimov, +998901234567"


def envelope(response):
    """The OpenRosa message of an answer: its nature and text."""
    assert response["X-OpenRosa-Version"] == "1.0"
    doc = etree.fromstring(response.content)
    assert doc.tag == f"{RESPONSE}OpenRosaResponse"
    node = doc.find(f"{RESPONSE}message")
    return node.get("nature"), node.text


def stored():
    return list(Submission.objects.order_by("id").values_list("id", "instance_id", "raw_sha256", "is_current"))


@pytest.fixture
def form(photo_form):
    return photo_form


@pytest.fixture
def one_stored(client, form):
    """One submission already stored, so that a refusal can be seen to change nothing."""
    response = client.post("/submission", multipart(instance_xml(instance_id="uuid:kept-1")), **auth())
    assert response.status_code == 201
    return stored()


def kobo_json(form_id="simple", version="1", instance_id="uuid:kobo-1"):
    return {"id": form_id, "submission": {"q1": "hi", "age": "30", "__version__": version,
                                          "meta": {"instanceID": instance_id}}}


@pytest.mark.django_db
class TestNulOnOpenRosa:
    @pytest.mark.parametrize("query", ["deviceID=collect%3AA%00B", "deviceID=%00", "x%00=1"])
    def test_a_nul_in_the_query_string_of_a_post_is_400_and_stores_nothing(self, client, one_stored, query):
        response = client.post(f"/submission?{query}", multipart(instance_xml()), **auth())

        assert response.status_code == 400
        assert envelope(response) == ("error", NUL_MESSAGE)
        assert stored() == one_stored

    def test_a_nul_in_a_basic_username_is_400(self, client, one_stored):
        header = "Basic " + base64.b64encode(b"enum\x0001:secret").decode()

        response = client.post("/submission", multipart(instance_xml()), HTTP_AUTHORIZATION=header)

        assert response.status_code == 400
        assert envelope(response) == ("error", NUL_MESSAGE)
        assert stored() == one_stored

    @pytest.mark.parametrize("url", ["/forms/sim%00ple/form.xml", "/forms/simple/form.xml?version=1%00",
                                     "/forms/sim%00ple/manifest", "/formList?formID=%00",
                                     "/enum01/forms/sim%00ple/form.xml"])
    def test_a_nul_in_a_form_id_or_version_in_the_url_is_400(self, client, form, url):
        response = client.get(url, **auth())

        assert response.status_code == 400
        assert envelope(response) == ("error", NUL_MESSAGE)

    @pytest.mark.parametrize(("change", "escaped"), [
        ({"id": "sim\x00ple"}, True), ({"id": "sim\x00ple"}, False),
        ({"submission": {"q1": "hi", "__version__": "1\x00", "meta": {"instanceID": "uuid:kobo-2"}}}, True),
        ({"submission": {"q1": "a\x00b", "meta": {"instanceID": "uuid:kobo-3"}}}, True),
    ])
    def test_a_nul_in_kobo_json_is_400_in_json(self, client, one_stored, change, escaped):
        text = json.dumps({**kobo_json(), **change}, ensure_ascii=True)
        body = text.encode() if escaped else text.replace("\\u0000", "\x00").encode()

        response = client.post("/submission", body, content_type="application/json", **auth())

        assert response.status_code == 400
        assert response.json() == {"error": NUL_MESSAGE}
        assert response["X-OpenRosa-Version"] == "1.0"
        assert stored() == one_stored

    def test_an_escaped_backslash_before_u0000_is_text_not_a_nul(self, client, form):
        body = json.dumps(kobo_json(instance_id="uuid:kobo-text")).replace('"hi"', '"\\\\u0000"').encode()

        response = client.post("/submission", body, content_type="application/json", **auth())

        assert response.status_code == 201
        assert Submission.objects.get().instance_id == "uuid:kobo-text"


@pytest.mark.django_db
class TestNulOnTheApis:
    @pytest.fixture
    def api(self, db):
        return token_client("sup1", "view_submission", "review_submission", superuser=True)

    @pytest.mark.parametrize("url", [
        "/api/v1/submissions/?form=sim%00ple", "/api/v1/submissions/?flag=%00",
        "/api/v1/submissions/uuid%3Akept%001/", "/api/v1/submissions/uuid%3Akept-1/raw?x=%00",
        "/api/v2/assets/?q=%00", "/api/v2/assets/a%00b/data/",
        '/api/v2/assets/abc/data/?query={"q1":"%00"}', '/api/v2/assets/abc/data/?sort={"q1%00":1}',
        "/api/v1/rounds/1/report?split_by=%00", "/api/v1/rounds/1/report?lang=%00",
    ])
    def test_a_nul_in_a_query_parameter_or_path_is_400_detail(self, api, one_stored, url):
        response = api.get(url)

        assert response.status_code == 400
        assert response.json() == {"detail": NUL_MESSAGE}

    def test_a_nul_in_a_review_comment_is_400_and_changes_nothing(self, api, one_stored):
        response = api.patch("/api/v1/submissions/uuid:kept-1/review/",
                             {"status": "approved", "comment": "fine\x00"}, format="json")

        assert response.status_code == 400
        assert response.json() == {"detail": NUL_MESSAGE}
        assert Submission.objects.get().review_status is None
        assert SubmissionComment.objects.count() == 0

    def test_a_nul_in_an_export_body_is_400(self, api, form):
        response = api.post("/api/v1/exports/", {"form_id": "simple", "format": "csv", "lang": "en\x00"},
                            format="json")

        assert response.status_code == 400
        assert response.json() == {"detail": NUL_MESSAGE}

    def test_a_nul_in_a_form_encoded_body_is_400(self, api, one_stored):
        response = api.patch("/api/v1/submissions/uuid:kept-1/review/", "status=approved&comment=a%00b",
                             content_type="application/x-www-form-urlencoded")

        assert response.status_code == 400
        assert response.json() == {"detail": NUL_MESSAGE}
        assert Submission.objects.get().review_status is None

    def test_a_nul_on_an_admin_page_is_djangos_400(self, admin_client):
        response = admin_client.get("/admin/surveys/submission/?q=%00")

        assert response.status_code == 400


@pytest.mark.django_db
class TestDeepNesting:
    def test_kobo_json_nested_100000_deep_is_400_in_json(self, client, one_stored):
        body = b'{"id": "simple", "submission": ' + b'{"a": ' * DEEP + b"1" + b"}" * DEEP + b"}"

        response = client.post("/submission", body, content_type="application/json", **auth())

        assert response.status_code == 400
        assert response.json() == {"error": "The body is nested too deeply."}
        assert stored() == one_stored

    def test_xml_nested_100000_deep_is_400_and_stores_nothing(self, client, one_stored):
        xml = b'<data id="simple" version="1">' + b"<a>" * DEEP + b"</a>" * DEEP + b"</data>"

        response = client.post("/submission", multipart(xml), **auth())

        assert response.status_code == 400
        assert envelope(response)[0] == "error"
        assert stored() == one_stored

    def test_an_api_body_nested_100000_deep_is_400_detail(self, one_stored):
        api = token_client("sup1", "view_submission", "review_submission", superuser=True)
        body = b'{"status": "approved", "comment": ' + b"[" * DEEP + b"]" * DEEP + b"}"

        response = api.generic("PATCH", "/api/v1/submissions/uuid:kept-1/review/", body,
                               content_type="application/json")

        assert response.status_code == 400
        assert response.json() == {"detail": "The request is nested too deeply."}
        assert Submission.objects.get().review_status is None

    def test_a_kobo_query_nested_deep_is_400_detail(self, form):
        api = token_client("an1", "view_submission", superuser=True)
        uid = form.kobo_uid
        query = '{"$and": [' * 5000 + "{}" + "]}" * 5000

        response = api.get(f"/api/v2/assets/{uid}/data/", {"query": query})

        assert response.status_code == 400
        assert response.json() == {"detail": "The request is nested too deeply."}


@pytest.mark.django_db
def test_an_unexpected_error_in_an_openrosa_view_is_a_500_envelope_logged_without_its_message(
        client, form, monkeypatch, caplog):
    def broken(**kwargs):
        raise ValueError(ANSWERS)

    monkeypatch.setattr("surveys.openrosa.views.questionnaires_for_user", broken)

    with caplog.at_level(logging.ERROR, logger="surveys.openrosa.views"):
        response = client.get("/formList", **auth())

    assert response.status_code == 500
    assert envelope(response) == ("error", "The server could not handle this request; please try again later.")
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "OpenRosa GET /formList failed with ValueError" in logged
    assert "in broken" in logged  # the traceback
    assert "Aziz" not in logged and "+998" not in logged


def test_a_lost_deadlock_or_serialization_race_is_a_409_on_every_protocol():
    from django.db import OperationalError

    from mtm.errors import Conflict, InvalidInput, refused_input
    from surveys.api.exceptions import exception_handler

    class Deadlock(Exception):
        sqlstate = "40P01"

    lost = OperationalError("deadlock detected")
    lost.__cause__ = Deadlock()

    refused = refused_input(lost)
    assert (type(refused), refused.message) == (
        Conflict, "The request met a concurrent change and was not stored; send it again.")
    assert exception_handler(lost, {}).status_code == 409
    assert isinstance(refused_input(RecursionError()), InvalidInput)
    assert refused_input(ValueError("not ours")) is None


def _database_error(kind, message, sqlstate):
    class Cause(Exception):
        pass

    cause = Cause(message)
    cause.sqlstate = sqlstate
    error = kind(message)
    error.__cause__ = cause
    return error


@pytest.mark.parametrize("kind, message, sqlstate", [
    ("OperationalError", "connection refused", None),  # psycopg: no SQLSTATE, the server is not there
    ("OperationalError", "terminating connection due to administrator command", "57P01"),
    ("OperationalError", "the database system is starting up", "57P03"),
    ("OperationalError", "sorry, too many clients already", "53300"),
    ("InterfaceError", "connection already closed", None),
    ("OperationalError", "server closed the connection unexpectedly", "08006"),
])
def test_a_database_that_cannot_be_reached_is_a_503_send_again_later(kind, message, sqlstate):
    from django import db

    from mtm.errors import DATABASE_DOWN_MESSAGE, Unavailable, refused_input
    from surveys.api.exceptions import exception_handler

    error = _database_error(getattr(db, kind), message, sqlstate)

    refused = refused_input(error)
    assert (type(refused), refused.message) == (
        Unavailable, "The server cannot store anything at the moment; send again later.") == (
        Unavailable, DATABASE_DOWN_MESSAGE)
    response = exception_handler(error, {})
    assert (response.status_code, response["Retry-After"]) == (503, "60")


def test_a_failed_statement_is_not_a_database_that_is_down():
    from django.db import OperationalError

    from mtm.errors import refused_input

    assert refused_input(_database_error(OperationalError, "canceling statement due to lock timeout", "55P03")) is None
    assert refused_input(OperationalError("no such table: surveys_submission")) is None  # SQLite, not locked
    assert refused_input(OperationalError("database is locked")) is not None
