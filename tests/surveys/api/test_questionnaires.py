import pytest
from rest_framework.test import APIClient

from surveys.models import Questionnaire, Round, Survey
from tests.clients import token_client, upload
from tests.factories import UserFactory
from tests.forms import form_bytes, simple_form


@pytest.fixture
def api(db):
    return token_client("designer", "add_questionnaire", "view_questionnaire")


@pytest.mark.django_db
class TestQuestionnaireApi:
    def test_upload_creates_a_version(self, api):
        response = api.post("/api/v1/questionnaires/", {"file": upload("household.md", form_bytes("household.md")),
                                                        "survey": "mtm-kz", "round": 4}, format="multipart")

        q = Questionnaire.objects.get()
        assert response.status_code == 201
        assert response.json() | {"created_at": None} == {
            "form_id": "household", "version": "2024050101", "title": "Household survey", "survey": "mtm-kz",
            "round": 4, "hash": f"md5:{q.md5}", "allow_anonymous": False, "created_at": None, "warnings": [],
            "media": [],
        }
        assert q.created_by.username == "designer"

    def test_same_upload_again_is_200_and_changes_nothing(self, api):
        for expected in (201, 200):
            response = api.post("/api/v1/questionnaires/", {"file": upload("s.md", simple_form())},
                                format="multipart")
            assert response.status_code == expected
        assert Questionnaire.objects.count() == 1

    def test_broken_form_is_400_with_the_row_and_nothing_stored(self, api):
        response = api.post("/api/v1/questionnaires/",
                            {"file": upload("s.md", simple_form(extra_rows="| | text | q1 | again |")),
                             "survey": "new", "round": 1}, format="multipart")

        assert response.status_code == 400
        assert response.json()["file"][0].startswith("[row : 3] On the 'survey' sheet, the 'name' value 'q1'")
        assert (Questionnaire.objects.count(), Survey.objects.count(), Round.objects.count()) == (0, 0, 0)

    def test_changed_content_under_the_same_version_is_409(self, api):
        api.post("/api/v1/questionnaires/", {"file": upload("s.md", simple_form())}, format="multipart")
        response = api.post("/api/v1/questionnaires/", {"file": upload("s.md", simple_form(title="Other"))},
                            format="multipart")
        assert response.status_code == 409
        assert Questionnaire.objects.get().title == "Simple form"

    def test_missing_file_is_400(self, api):
        response = api.post("/api/v1/questionnaires/", {"survey": "x"}, format="multipart")
        assert response.status_code == 400
        assert response.json() == {"file": ["No file was submitted."]}

    def test_list(self, api, household):
        response = api.get("/api/v1/questionnaires/")
        assert response.status_code == 200
        assert [(r["form_id"], r["version"], r["round"]) for r in response.json()] == [
            ("household", "2024050101", 4)]

    def test_without_permission_is_403_and_without_token_401(self, db):
        client = APIClient()
        assert client.get("/api/v1/questionnaires/").status_code == 401
        client.force_authenticate(UserFactory(username="enum50"))
        response = client.post("/api/v1/questionnaires/", {"file": upload("s.md", simple_form())},
                               format="multipart")
        assert response.status_code == 403
        assert Questionnaire.objects.count() == 0
