"""Issue 13 item 9 on PostgreSQL: a NUL byte that gets past the up-front
refusal (here: the middleware taken out) reaches psycopg, which refuses it;
each protocol's one error path answers 400 in its own form, never 500. And
20 simultaneous edits of one submission: one stored, the others 409, no
deadlock answered 500."""

from __future__ import annotations

import json
import threading

import pytest
import requests
from django.db import connection
from lxml import etree

from mtm.errors import NUL_MESSAGE
from surveys.models import Submission, SubmissionComment
from tests.clients import token_client
from tests.factories import PASSWORD
from tests.submissions import auth, instance_xml, multipart, new_instance_id

pytestmark = pytest.mark.services
RESPONSE = "{http://openrosa.org/http/response}"
HOUSEHOLD = {"form_id": "household", "version": "2024050101"}


def envelope(response):
    doc = etree.fromstring(response.content)
    assert doc.tag == f"{RESPONSE}OpenRosaResponse"
    node = doc.find(f"{RESPONSE}message")
    return node.get("nature"), node.text


@pytest.fixture
def without_the_middleware(settings):
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != "mtm.middleware.NulRefusalMiddleware"]
    assert connection.vendor == "postgresql"


@pytest.fixture
def kept(client, enumerator):
    response = client.post("/submission", multipart(instance_xml(instance_id="uuid:kept-1", **HOUSEHOLD)), **auth())
    assert response.status_code == 201
    return list(Submission.objects.values_list("id", "instance_id", "raw_sha256", "is_current"))


def stored():
    return list(Submission.objects.values_list("id", "instance_id", "raw_sha256", "is_current"))


@pytest.mark.django_db
class TestNulReachesPostgresql:
    def test_a_nul_in_device_id_is_400_envelope(self, client, kept, without_the_middleware):
        response = client.post("/submission?deviceID=collect:A%00B",
                               multipart(instance_xml(**HOUSEHOLD)), **auth())

        assert response.status_code == 400
        assert envelope(response) == ("error", NUL_MESSAGE)
        assert stored() == kept

    def test_a_nul_in_a_form_id_or_version_url_is_400_envelope(self, client, kept, without_the_middleware):
        for url in ("/forms/house%00hold/form.xml", "/forms/household/form.xml?version=1%00",
                    "/forms/household/manifest?version=%00"):
            response = client.get(url, **auth())
            assert (response.status_code, envelope(response)) == (400, ("error", NUL_MESSAGE)), url

    @pytest.mark.parametrize("field", ["id", "__version__"])
    def test_a_nul_in_kobo_json_is_400_json(self, client, kept, without_the_middleware, field):
        document = {"id": "household", "submission": {"__version__": "2024050101",
                                                      "meta": {"instanceID": "uuid:kobo-nul"}}}
        if field == "id":
            document["id"] = "house\x00hold"
        else:
            document["submission"]["__version__"] = "2024050101\x00"

        response = client.post("/submission", json.dumps(document), content_type="application/json", **auth())

        assert response.status_code == 400
        assert response.json() == {"error": NUL_MESSAGE}
        assert stored() == kept

    @pytest.mark.parametrize("url", [
        "/api/v1/submissions/?form=house%00hold", "/api/v1/submissions/?flag=%00",
        "/api/v1/submissions/uuid%3Akept%001/", "/api/v1/submissions/?review=approved&form=%00",
    ])
    def test_a_nul_in_an_api_parameter_is_400_detail(self, kept, without_the_middleware, url):
        api = token_client("sup1", "view_submission", "review_submission", superuser=True)

        response = api.get(url)

        assert response.status_code == 400
        assert response.json() == {"detail": NUL_MESSAGE}

    def test_a_nul_in_a_review_comment_is_drfs_400_and_changes_nothing(self, kept, without_the_middleware):
        api = token_client("sup1", "view_submission", "review_submission", superuser=True)

        response = api.patch("/api/v1/submissions/uuid:kept-1/review/",
                             {"status": "approved", "comment": "fine\x00"}, format="json")

        assert response.status_code == 400
        assert response.json() == {"comment": ["Null characters are not allowed."]}
        assert Submission.objects.get().review_status is None
        assert SubmissionComment.objects.count() == 0

    def test_a_nul_in_an_attachment_name_is_dropped_by_djangos_multipart_parser(self, client, enumerator):
        instance_id = new_instance_id()
        response = client.post("/submission", multipart(instance_xml(instance_id=instance_id, **HOUSEHOLD),
                                                        ("a\x00b.jpg", b"\xff\xd8")), **auth())

        assert response.status_code == 201
        assert list(Submission.objects.get(instance_id=instance_id).attachments.values_list(
            "filename", flat=True)) == ["ab.jpg"]


@pytest.mark.django_db(transaction=True)
def test_twenty_simultaneous_edits_of_one_submission_store_one_and_answer_409(live_server, enumerator,
                                                                               celery_worker_process):
    assert connection.vendor == "postgresql"
    original = new_instance_id()
    first = requests.post(f"{live_server.url}/submission", auth=("enum01", PASSWORD), timeout=60,
                          files={"xml_submission_file": ("s.xml", instance_xml(instance_id=original, **HOUSEHOLD))})
    assert first.status_code == 201
    edits = [new_instance_id() for _ in range(20)]
    barrier = threading.Barrier(20)
    answers: list[tuple[int, str]] = []

    def send(instance_id):
        xml = instance_xml(instance_id=instance_id, deprecated_id=original, age="31", **HOUSEHOLD)
        barrier.wait()
        response = requests.post(f"{live_server.url}/submission", auth=("enum01", PASSWORD), timeout=60,
                                 files={"xml_submission_file": ("s.xml", xml)})
        answers.append((response.status_code, response.text))

    threads = [threading.Thread(target=send, args=(instance_id,)) for instance_id in edits]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    codes = sorted(code for code, _ in answers)
    assert codes == [201] + [409] * 19, answers
    assert all("OpenRosaResponse" in text for _, text in answers)
    rows = list(Submission.objects.filter(instance_id__in=[original, *edits]).values_list(
        "instance_id", "is_current", "previous__instance_id"))
    assert len(rows) == 2
    assert sorted(rows, key=lambda row: row[1]) == [(original, False, None),
                                                     (next(i for i, c, p in rows if c), True, original)]
