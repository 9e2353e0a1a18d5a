"""An instanceID holding "/" (issue 13, item 11c). ODK Central accepts any instanceID, so we do too; its
detail, review, raw and attachment URLs answer as for any other (the suffixed routes match first)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from surveys.models import ReviewEvent, Submission
from surveys.services.ingest import Sender, submission_ingest_xml
from surveys.services.questionnaires import questionnaire_import
from tests.clients import token_client
from tests.factories import AssignmentFactory, EnumeratorFactory, RoundFactory, UserFactory
from tests.forms import simple_form
from tests.submissions import PHOTO_FORM_ROWS, instance_xml

pytestmark = pytest.mark.django_db

SLASHED = "uuid:a1/b2/c3"


@pytest.fixture
def stored(db):
    RoundFactory()
    questionnaire_import(source=simple_form(extra_rows=PHOTO_FORM_ROWS), filename="simple.md",
                         survey_slug="mtm-kz", round_number=4)
    user = UserFactory(username="enum01")
    AssignmentFactory(enumerator=EnumeratorFactory(user=user), round__number=4)
    photo = SimpleUploadedFile("a.jpg", b"JPEGDATA", content_type="image/jpeg")
    return submission_ingest_xml(xml=instance_xml(instance_id=SLASHED, photo="a.jpg"), sender=Sender(user=user),
                                 attachments=[photo]).submission


@pytest.fixture
def admin_api(db):
    return token_client("admin", superuser=True)


def test_the_detail_url(stored, admin_api):
    response = admin_api.get(f"/api/v1/submissions/{SLASHED}/")
    assert (response.status_code, response.json()["instance_id"]) == (200, SLASHED)


def test_the_review_url(stored, admin_api):
    response = admin_api.patch(f"/api/v1/submissions/{SLASHED}/review/", {"status": "on_hold"}, format="json")
    assert response.status_code == 200
    assert Submission.objects.get(instance_id=SLASHED).review_status == "on_hold"
    assert list(ReviewEvent.objects.values_list("to_status", flat=True)) == ["on_hold"]


def test_the_raw_url(stored, admin_api):
    response = admin_api.get(f"/api/v1/submissions/{SLASHED}/raw")
    assert response.status_code == 200
    assert f"<instanceID>{SLASHED}</instanceID>".encode() in b"".join(
        getattr(response, "streaming_content", [response.content]))


def test_the_attachment_url_and_its_reverse(stored, admin_api):
    url = reverse("api-submission-attachment", kwargs={"instance_id": SLASHED, "filename": "a.jpg"})
    assert url == f"/api/v1/submissions/{SLASHED}/attachments/a.jpg"

    response = admin_api.get(url)

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"JPEGDATA"
    assert admin_api.get(url.replace("a.jpg", "b.jpg")).status_code == 404


def test_a_plain_instance_id_and_an_unknown_slashed_one(stored, admin_api):
    assert admin_api.get(f"/api/v1/submissions/{SLASHED}/raw/").status_code == 404
    assert admin_api.get("/api/v1/submissions/uuid:a1/b2/").status_code == 404
    assert admin_api.get("/api/v1/submissions/uuid:a1/b2/c3/d4/review/").status_code in (404, 405)
