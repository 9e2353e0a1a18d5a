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


@pytest.mark.django_db
class TestSubmissionReviewInAdmin:
    def test_bulk_approve_calls_the_review_service(self, admin_client, form):
        from surveys.models import ReviewEvent, Submission
        from tests.submissions import send_checks_instance

        subs = [send_checks_instance(age="92"), send_checks_instance(name="Other")]
        response = admin_client.post("/admin/surveys/submission/", {
            "action": "review_approved", "_selected_action": [s.pk for s in subs]})

        assert response.status_code == 302
        assert list(Submission.objects.order_by("id").values_list("review_status", flat=True)) == ["approved"] * 2
        assert list(ReviewEvent.objects.filter(actor__username="admin").values_list("from_status", "to_status")
                    .order_by("submission_id")) == [("has_issues", "approved"), (None, "approved")]

    def test_submission_page_shows_problems_flags_history_and_withholds_identifiers(self, admin_client, form):
        from tests.submissions import send_checks_instance

        sub = send_checks_instance(age="92", name="Aziz Karimov")
        page = admin_client.get(f"/admin/surveys/submission/{sub.pk}/change/")

        assert page.status_code == 200
        assert b"age 92 is outside 14" in page.content
        assert b"has_issues" in page.content
        assert b"Aziz" not in page.content
        assert b"43.2500 76.9000" not in page.content

    def test_supervisor_without_review_permission_has_no_review_actions(self, client, form):
        from django.contrib.auth.models import Permission

        viewer = UserFactory(username="viewer", is_staff=True)
        viewer.user_permissions.add(Permission.objects.get(codename="view_submission"))
        client.force_login(viewer)
        page = client.get("/admin/surveys/submission/")
        assert page.status_code == 200
        assert b"review_approved" not in page.content
