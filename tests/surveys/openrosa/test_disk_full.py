"""Issue 13 item 10: a full disk is a 503 with ``Retry-After`` and an OpenRosa
message (Collect sends again), nothing is stored, and no file is left behind
by an ingest whose transaction rolls back — partial files included."""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage
from lxml import etree

from mtm.errors import RETRY_AFTER_SECONDS, STORAGE_FULL_MESSAGE
from surveys.errors import SubmissionConflict
from surveys.models import Submission, SubmissionAttachment
from tests.storages import stored_files
from tests.submissions import auth, instance_xml, multipart

RESPONSE = "{http://openrosa.org/http/response}"
PHOTO = b"\xff\xd8" + b"p" * 4000


def envelope(response):
    doc = etree.fromstring(response.content)
    assert doc.tag == f"{RESPONSE}OpenRosaResponse"
    node = doc.find(f"{RESPONSE}message")
    return node.get("nature"), node.text


def rows():
    return Submission.objects.count(), SubmissionAttachment.objects.count()


@pytest.fixture
def form(photo_form):
    return photo_form


@pytest.fixture
def disk_of(settings):
    """Make the default storage a disk of ``capacity`` bytes."""
    def make(capacity):
        settings.STORAGES = {**settings.STORAGES, "default": {
            "BACKEND": "tests.storages.FullDiskStorage", "OPTIONS": {"capacity": capacity}}}
        return default_storage
    return make


@pytest.mark.django_db
class TestDiskFull:
    def test_a_full_disk_on_the_second_photo_is_503_retry_after_and_leaves_nothing(self, client, form, disk_of):
        storage = disk_of(capacity=6000)  # the first sealed photo fits, the second does not
        xml = instance_xml(instance_id="uuid:full-1", photo="a.jpg", photo2="b.jpg")

        response = client.post("/submission", multipart(xml, ("a.jpg", PHOTO), ("b.jpg", PHOTO)), **auth())

        assert response.status_code == 503
        assert response["Retry-After"] == str(RETRY_AFTER_SECONDS) == "60"
        assert response["X-OpenRosa-Version"] == "1.0"
        assert envelope(response) == ("error", STORAGE_FULL_MESSAGE)
        assert rows() == (0, 0)
        assert stored_files(storage) == []
        assert storage.used == 6000  # the disk did fill: the partial second file was written, then deleted

    def test_a_full_disk_on_the_first_byte_is_503_and_leaves_nothing(self, client, form, disk_of):
        storage = disk_of(capacity=0)

        response = client.post("/submission", multipart(instance_xml(photo="a.jpg"), ("a.jpg", PHOTO)), **auth())

        assert (response.status_code, response["Retry-After"]) == (503, "60")
        assert envelope(response) == ("error", STORAGE_FULL_MESSAGE)
        assert rows() == (0, 0)
        assert stored_files(storage) == []

    def test_the_resend_after_space_is_freed_is_stored_with_its_files(self, client, form, disk_of):
        xml = instance_xml(instance_id="uuid:full-2", photo="a.jpg")
        disk_of(capacity=100)
        assert client.post("/submission", multipart(xml, ("a.jpg", PHOTO)), **auth()).status_code == 503
        storage = disk_of(capacity=10**6)

        response = client.post("/submission", multipart(xml, ("a.jpg", PHOTO)), **auth())

        assert response.status_code == 201
        assert rows() == (1, 1)
        sub = Submission.objects.get()
        assert stored_files(storage) == [f"attachments/simple/{sub.pk}/a.jpg"]

    def test_a_merge_into_a_stored_submission_refused_by_a_full_disk_keeps_what_was_stored(
            self, client, form, disk_of):
        storage = disk_of(capacity=6000)
        xml = instance_xml(instance_id="uuid:full-3", photo="a.jpg", photo2="b.jpg")
        assert client.post("/submission", multipart(xml, ("a.jpg", PHOTO)), **auth()).status_code == 201
        kept = stored_files(storage)

        response = client.post("/submission", multipart(xml, ("a.jpg", PHOTO), ("b.jpg", PHOTO)), **auth())

        assert (response.status_code, response["Retry-After"]) == (503, "60")
        assert rows() == (1, 1)
        assert stored_files(storage) == kept == [f"attachments/simple/{Submission.objects.get().pk}/a.jpg"]

    def test_a_full_disk_for_a_kobo_json_submission_is_503_json_with_retry_after(self, client, form, monkeypatch):
        def full(**kwargs):
            raise OSError(28, "No space left on device")

        monkeypatch.setattr("surveys.openrosa.submission.submission_ingest_json", full)

        response = client.post("/submission", {"id": "simple", "submission": {}}, content_type="application/json",
                               **auth())

        assert (response.status_code, response["Retry-After"]) == (503, "60")
        assert response.json() == {"error": STORAGE_FULL_MESSAGE}


@pytest.mark.django_db
def test_an_ingest_that_rolls_back_after_saving_a_file_leaves_no_file(client, form, monkeypatch):
    def conflict(submission_id):
        raise SubmissionConflict("Submission 'uuid:late' was edited concurrently; send again.")

    monkeypatch.setattr("surveys.services.ingest._enqueue_on_commit", conflict)  # runs after the files are saved
    before = stored_files(default_storage, "attachments")  # the test storage lives as long as the process

    response = client.post("/submission", multipart(instance_xml(instance_id="uuid:late", photo="a.jpg"),
                                                    ("a.jpg", PHOTO)), **auth())

    assert response.status_code == 409
    assert envelope(response) == ("error", "Submission 'uuid:late' was edited concurrently; send again.")
    assert rows() == (0, 0)
    assert stored_files(default_storage, "attachments") == before


def test_every_protocol_answers_a_full_disk_with_503_and_retry_after():
    from mtm.errors import refused_input
    from surveys.api.exceptions import exception_handler
    from surveys.openrosa.http import openrosa_domain_error

    full = OSError(28, "No space left on device")

    api = exception_handler(full, {})
    openrosa = openrosa_domain_error(refused_input(full))

    assert (api.status_code, api["Retry-After"], api.data) == (503, "60", {"detail": STORAGE_FULL_MESSAGE})
    assert (openrosa.status_code, openrosa["Retry-After"]) == (503, "60")
    assert envelope(openrosa) == ("error", STORAGE_FULL_MESSAGE)
    assert "Retry-After" not in openrosa_domain_error(SubmissionConflict("no"))
    assert refused_input(OSError(13, "Permission denied")) is None
