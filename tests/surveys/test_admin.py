import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from surveys.models import Questionnaire
from tests.factories import RoundFactory, UserFactory
from tests.forms import form_bytes, simple_form


@pytest.fixture
def admin_client(client, db):
    client.force_login(UserFactory(username="admin", is_staff=True, is_superuser=True))
    return client


@pytest.mark.django_db
class TestQuestionnaireUpload:
    def test_upload_imports_into_the_chosen_round(self, admin_client):
        round_ = RoundFactory(number=4)
        response = admin_client.post("/admin/surveys/questionnaire/add/", {
            "xlsform": SimpleUploadedFile("household.md", form_bytes("household.md")), "round": round_.pk,
        })

        assert response.status_code == 302
        q = Questionnaire.objects.get()
        assert (q.form_id, q.round_id) == ("household", round_.pk)
        page = admin_client.get(f"/admin/surveys/questionnaire/{q.pk}/change/")
        assert page.status_code == 200
        assert b"2024050101" in page.content

    def test_broken_form_shows_the_row_and_stores_nothing(self, admin_client):
        round_ = RoundFactory(number=4)
        response = admin_client.post("/admin/surveys/questionnaire/add/", {
            "xlsform": SimpleUploadedFile("b.md", simple_form(extra_rows="| | text | q1 | again |")),
            "round": round_.pk,
        })

        assert response.status_code == 200
        errors = response.context["adminform"].form.errors["xlsform"]
        assert errors[0].startswith("[row : 3] On the 'survey' sheet, the 'name' value 'q1' is invalid.")
        assert Questionnaire.objects.count() == 0

    @pytest.mark.parametrize("page", ["survey", "round", "location", "respondent", "questionnaire", "submission"])
    def test_changelists_open(self, admin_client, household, page):
        assert admin_client.get(f"/admin/surveys/{page}/").status_code == 200

    @pytest.mark.parametrize("page", ["user", "enumerator", "device", "assignment"])
    def test_field_staff_changelists_open(self, admin_client, enumerator, page):
        assert admin_client.get(f"/admin/enumerators/{page}/").status_code == 200
