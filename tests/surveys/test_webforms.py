"""The browser's web forms (issue 18, ADR 0020) without a browser: the pages and endpoints, the
corrections service and the public links. The browser itself: test_e2e_webforms.py."""

from __future__ import annotations

import hashlib
import json
import re

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from enumerators.roles import ANALYSTS, DATA_PROTECTION, SUPERVISORS
from enumerators.services.roles import roles_ensure
from mtm.errors import Forbidden, InvalidInput, NotFound
from surveys.models import PublicLink, RoundTally, Submission, SubmissionComment, SubmissionCorrection
from surveys.selectors.submissions import counted_submissions
from surveys.services.corrections import correction_instance, submission_correct
from surveys.services.encrypted_submissions import submission_instance
from surveys.services.ingest import Sender, submission_ingest_xml
from surveys.services.instance import parse_instance
from surveys.services.processing import submission_process
from surveys.services.public_links import public_link_create, public_link_revoke, public_link_submit
from surveys.services.questionnaires import questionnaire_import
from tests.factories import PASSWORD, AssignmentFactory, EnumeratorFactory, RoundFactory, UserFactory
from tests.forms import simple_form
from tests.submissions import instance_xml, multipart, new_instance_id

pytestmark = pytest.mark.django_db

#: A form with an identifier, a photo and an answer a supervisor corrects.
CORRECTABLE = b"""
| survey |
| | type | name | label | privacy | constraint |
| | text | name | Name | identifier | |
| | integer | age | Age | | . >= 14 |
| | image | photo | Photo | | |
| | geopoint | gps | GPS | location | |
| | text | passport | Passport | pseudonym | |
| settings |
| | form_id | version |
| | people | 1 |
"""
JPEG = b"\xff\xd8\xff\xe0photo-bytes"


GPS = "43.2500 76.9000 800 5"


def people_xml(*, instance_id: str, name: str = "Aigerim Nurlanovna", age: str = "30", photo: str = "p.jpg",
               gps: str = GPS, passport: str = "N1234567", deprecated_id: str | None = None) -> bytes:
    deprecated = f"<deprecatedID>{deprecated_id}</deprecatedID>" if deprecated_id else ""
    return (f'<data id="people" version="1"><name>{name}</name><age>{age}</age><photo>{photo}</photo>'
            f"<gps>{gps}</gps><passport>{passport}</passport>"
            f"<meta><instanceID>{instance_id}</instanceID>{deprecated}</meta></data>").encode()


@pytest.fixture
def team(db):
    """The people form in round 4; enum01 supervised by sup1; sup2 another team's; an analyst; a DPO."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    roles_ensure()
    RoundFactory()
    form = questionnaire_import(source=CORRECTABLE, filename="people.md", survey_slug="mtm-kz",
                                round_number=4).questionnaire
    users = {}
    for username, group in (("sup1", SUPERVISORS), ("sup2", SUPERVISORS), ("analyst", ANALYSTS),
                            ("dpo", DATA_PROTECTION)):
        users[username] = UserFactory(username=username, is_staff=True)
        users[username].groups.add(Group.objects.get(name=group))
    enumerator = EnumeratorFactory(user=UserFactory(username="enum01"), supervisor=users["sup1"])
    AssignmentFactory(enumerator=enumerator, round=form.round)
    users["enum01"] = enumerator.user
    instance_id = new_instance_id()
    stored = submission_ingest_xml(xml=people_xml(instance_id=instance_id), sender=Sender(user=enumerator.user),
                                   attachments=[SimpleUploadedFile("p.jpg", JPEG, content_type="image/jpeg")])
    submission_process(submission_id=stored.submission.pk)
    return {"form": form, "users": users, "submission": Submission.objects.get(pk=stored.submission.pk)}


def corrected_xml(team, *, age: str = "41", instance_id: str | None = None) -> bytes:
    """What Web Forms' edit mode sends: the withheld fields empty, a new instanceID, the deprecatedID."""
    old = team["submission"]
    return people_xml(instance_id=instance_id or new_instance_id(), name="", photo="", gps="", passport="",
                      age=age, deprecated_id=old.instance_id)


class TestCorrections:
    def test_the_page_gets_the_answers_without_identifiers_gps_pseudonyms_or_files(self, team):
        served = correction_instance(user=team["users"]["sup1"], submission_id=team["submission"].pk)

        root = parse_instance(served)
        assert [root.findtext(name) for name in ("name", "age", "photo", "gps", "passport")] == ["", "30", "", "",
                                                                                                  ""]
        assert b"Aigerim" not in served and b"p.jpg" not in served and b"43.25" not in served
        assert b"N1234567" not in served
        assert root.findtext("meta/instanceID") == team["submission"].instance_id

    def test_a_correction_is_a_new_version_with_the_withheld_fields_carried_over(
            self, team, django_capture_on_commit_callbacks):
        old = team["submission"]
        raw_before = submission_instance(old)
        ages = RoundTally.objects.filter(round_id=old.round_id, dimension="", path="age", count__gt=0)
        assert sorted(ages.values_list("value", "count")) == [("30", 1), ("@asked", 1), ("@b:3e1", 1), ("@base", 1)]

        with django_capture_on_commit_callbacks(execute=True):  # processing, enqueued on commit
            result = submission_correct(submission_id=old.pk, by=team["users"]["sup1"], xml=corrected_xml(team),
                                        reason="Age misheard")

        new = Submission.objects.get(pk=result.submission.pk)
        old.refresh_from_db()
        assert (result.created, old.is_current, new.is_current, new.previous_id) == (True, False, True, old.pk)
        assert new.submitted_by == team["users"]["enum01"]  # still the enumerator's interview
        assert submission_instance(old) == raw_before
        raw = parse_instance(submission_instance(new))
        assert [raw.findtext(name) for name in ("name", "age", "photo", "gps", "passport")] == [
            "Aigerim Nurlanovna", "41", "p.jpg", GPS, "N1234567"]
        assert raw.findtext("meta/deprecatedID") == old.instance_id
        assert [(a.filename, a.sha256) for a in new.attachments.all()] == [("p.jpg", hashlib.sha256(JPEG).hexdigest())]
        assert (new.processing, new.validation, new.answers["age"]) == ("processed", "valid", 41)
        assert "name" not in new.answers
        correction = SubmissionCorrection.objects.get()
        assert (correction.submission, correction.replaced, correction.actor.username, correction.reason) == (
            new, old, "sup1", "Age misheard")
        assert list(SubmissionComment.objects.filter(submission=new).values_list("text", flat=True)) == [
            "Corrected in the browser: Age misheard"]
        assert list(counted_submissions(round_id=new.round_id)) == [new]

    def test_the_same_correction_sent_twice_is_stored_once(self, team):
        xml = corrected_xml(team)
        first = submission_correct(submission_id=team["submission"].pk, by=team["users"]["sup1"], xml=xml,
                                   reason="Age misheard")
        again = submission_correct(submission_id=team["submission"].pk, by=team["users"]["sup1"], xml=xml,
                                   reason="Age misheard")

        assert (first.created, again.created, again.submission.pk) == (True, False, first.submission.pk)
        assert (Submission.objects.count(), SubmissionCorrection.objects.count()) == (2, 1)

    def test_a_replaced_version_cannot_be_corrected_again(self, team):
        submission_correct(submission_id=team["submission"].pk, by=team["users"]["sup1"], xml=corrected_xml(team),
                           reason="Age misheard")

        replaced = "This version has been replaced; correct its latest version."
        with pytest.raises(InvalidInput, match=re.escape(replaced)):
            submission_correct(submission_id=team["submission"].pk, by=team["users"]["sup1"],
                               xml=corrected_xml(team, age="50"), reason="Another")
        assert Submission.objects.count() == 2

    @pytest.mark.parametrize("who", ["sup1", "dpo"])
    def test_the_interviews_supervisor_and_data_protection_may_correct(self, team, who):
        submission_correct(submission_id=team["submission"].pk, by=team["users"][who], xml=corrected_xml(team),
                           reason="Checked by phone")

        assert SubmissionCorrection.objects.get().actor.username == who

    @pytest.mark.parametrize("who", ["sup2", "analyst", "enum01"])
    def test_anyone_else_is_refused_and_nothing_changes(self, team, who):
        with pytest.raises(Forbidden, match="Only the interview's supervisor or the data-protection role"):
            submission_correct(submission_id=team["submission"].pk, by=team["users"][who],
                               xml=corrected_xml(team), reason="Checked by phone")
        with pytest.raises(Forbidden):
            correction_instance(user=team["users"][who], submission_id=team["submission"].pk)

        assert list(Submission.objects.values_list("pk", "is_current")) == [(team["submission"].pk, True)]
        assert not SubmissionCorrection.objects.exists()

    @pytest.mark.parametrize("reason", ["", "   "])
    def test_a_correction_needs_a_reason(self, team, reason):
        with pytest.raises(InvalidInput, match=re.escape("A correction needs a reason.")):
            submission_correct(submission_id=team["submission"].pk, by=team["users"]["sup1"],
                               xml=corrected_xml(team), reason=reason)

        assert Submission.objects.count() == 1

    def test_an_instance_that_does_not_edit_this_interview_is_refused(self, team):
        other = people_xml(instance_id=new_instance_id(), deprecated_id="uuid:someone-else")

        with pytest.raises(InvalidInput, match="is not an edit of interview"):
            submission_correct(submission_id=team["submission"].pk, by=team["users"]["sup1"], xml=other,
                               reason="x")
        assert Submission.objects.count() == 1

    def test_the_save_endpoint_answers_in_openrosas_form(self, team, django_capture_on_commit_callbacks):
        client = Client()
        client.force_login(team["users"]["sup1"])
        url = f"/collect/correct/{team['submission'].pk}/save"

        refused = client.post(url, multipart(corrected_xml(team)))
        with django_capture_on_commit_callbacks(execute=True):
            saved = client.post(url, {**multipart(corrected_xml(team)), "reason": "Age misheard"})

        assert refused.status_code == 400
        assert b"A correction needs a reason." in refused.content
        assert saved.status_code == 201
        assert Submission.objects.filter(is_current=True).get().answers["age"] == 41

    def test_the_interview_page_offers_correct_in_form_to_its_supervisor_only(self, team):
        client = Client()
        url = f"/admin/surveys/submission/{team['submission'].pk}/change/"
        client.force_login(team["users"]["sup1"])
        assert 'id="correct-in-form"' in client.get(url).content.decode()
        client.force_login(team["users"]["analyst"])
        assert 'id="correct-in-form"' not in client.get(url).content.decode()
        assert client.get(f"/collect/correct/{team['submission'].pk}/instance.xml").status_code == 403


@pytest.fixture
def enum01_form(photo_form):
    return photo_form


class TestEnumeratorPages:
    def test_the_form_list_shows_the_forms_of_open_assignments(self, enum01_form):
        client = Client()
        assert client.get("/collect/").url == "/collect/login/?next=/collect/"
        response = client.post("/collect/login/", {"username": "enum01", "password": PASSWORD})
        assert response.url == "/collect/"
        page = client.get("/collect/").content.decode()
        assert re.findall(r'data-form-id="([^"]+)"', page) == ["simple"]
        client.force_login(UserFactory(username="stranger"))
        assert 'id="no-forms"' in client.get("/collect/").content.decode()

    def test_the_fill_page_reads_collects_endpoints_and_the_renderer_from_static_files(self, enum01_form):
        client = Client()
        client.force_login(enum01_form.round.assignments.get().enumerator.user)

        page = client.get("/collect/fill/simple/").content.decode()

        config = json.loads(re.search(r'<script id="mtm-webform-config" type="application/json">(.*?)</script>',
                                      page, re.S).group(1))
        assert config["urls"] == {"form": "/forms/simple/form.xml?version=1", "media": "/forms/simple/media/FILENAME",
                                  "submit": "/collect/submission", "back": "/collect/"}
        assert '"vue": "/static/webforms/vue/vue.esm-browser.prod.js"' in page
        assert '"@getodk/web-forms": "/static/webforms/odk/index.js"' in page
        # No CDN: every script, style and link the page names is this server's (a random CSRF token may spell
        # "cdn", so the addresses are what is checked).
        assert re.findall(r'(?:src|href)="(?!/|#)([^"]*)"', page) == []
        assert re.findall(r'"(?:https?:)?//[^"]*"', page) == []

    def test_a_logged_in_browser_reads_the_form_from_collects_endpoint_but_cannot_post_there(self, enum01_form):
        client = Client()
        assert client.get("/forms/simple/form.xml").status_code == 401
        client.force_login(enum01_form.round.assignments.get().enumerator.user)

        form = client.get("/forms/simple/form.xml?version=1")
        posted = client.post("/submission", multipart(instance_xml()))

        assert (form.status_code, form.content) == (200, enum01_form.xform_xml.encode())
        assert posted.status_code == 401  # OpenRosa's posts still need credentials
        assert not Submission.objects.exists()

    def test_a_browser_submission_follows_the_ingest_rules(self, enum01_form):
        client = Client(enforce_csrf_checks=True)
        client.force_login(enum01_form.round.assignments.get().enumerator.user)
        client.get("/collect/fill/simple/")
        token = {"HTTP_X_CSRFTOKEN": client.cookies["csrftoken"].value}
        instance_id = new_instance_id()
        xml = instance_xml(instance_id=instance_id, photo="a.jpg")

        without_token = client.post("/collect/submission", multipart(xml, ("a.jpg", JPEG)))
        created = client.post("/collect/submission", multipart(xml, ("a.jpg", JPEG)), **token)
        again = client.post("/collect/submission", multipart(xml, ("a.jpg", JPEG)), **token)
        changed = client.post("/collect/submission", multipart(instance_xml(instance_id=instance_id, q1="other")),
                              **token)

        assert [r.status_code for r in (without_token, created, again, changed)] == [403, 201, 202, 409]
        assert b"already with different content" in changed.content
        stored = Submission.objects.get()
        assert (stored.instance_id, stored.submitted_by.username) == (instance_id, "enum01")
        assert list(stored.attachments.values_list("filename", "size")) == [("a.jpg", len(JPEG))]

    def test_an_anonymous_browser_is_sent_to_log_in(self, enum01_form):
        response = Client().post("/collect/submission", multipart(instance_xml()))

        assert response.url.startswith("/collect/login/")
        assert not Submission.objects.exists()


@pytest.fixture
def feedback(db):
    RoundFactory()
    questionnaire_import(source=simple_form(form_id="feedback"), filename="f.md", survey_slug="mtm-kz",
                         round_number=4, allow_anonymous=True)
    questionnaire_import(source=simple_form(form_id="closed"), filename="c.md", survey_slug="mtm-kz",
                         round_number=4)
    return UserFactory(username="coordinator", is_superuser=True, is_staff=True)


class TestPublicLinks:
    def test_only_a_form_that_allows_anonymous_submissions_gets_a_link(self, feedback):
        with pytest.raises(InvalidInput, match="does not allow anonymous submissions"):
            public_link_create(form_id="closed", by=feedback)
        with pytest.raises(NotFound):
            public_link_create(form_id="nothing", by=feedback)
        with pytest.raises(Forbidden):
            public_link_create(form_id="feedback", by=UserFactory(username="someone"))
        assert not PublicLink.objects.exists()

    def test_a_link_takes_its_own_forms_interviews_without_login_until_revoked(self, feedback):
        link = public_link_create(form_id="feedback", by=feedback)
        client = Client()

        page = client.get(f"/f/{link.token}/")
        sent = client.post(f"/f/{link.token}/submission", multipart(instance_xml(form_id="feedback")))
        other = client.post(f"/f/{link.token}/submission", multipart(instance_xml(form_id="closed")))
        public_link_revoke(link_id=link.pk, by=feedback)
        public_link_revoke(link_id=link.pk, by=feedback)  # twice: nothing more
        refused = client.post(f"/f/{link.token}/submission", multipart(instance_xml(form_id="feedback")))
        revoked_page = client.get(f"/f/{link.token}/")

        assert page.status_code == 200
        assert '"form": "/coordinator/forms/feedback/form.xml?version=1"' in page.content.decode()
        assert [r.status_code for r in (sent, other, refused, revoked_page)] == [201, 400, 403, 403]
        assert b"This link accepts interviews of form 'feedback' only." in other.content
        assert b"This link has been revoked." in refused.content
        stored = Submission.objects.get()
        assert (stored.form_id, stored.submitted_by) == ("feedback", None)
        assert Client().get("/f/unknown-token/").status_code == 404

    def test_the_service_refuses_a_revoked_link(self, feedback):
        link = public_link_create(form_id="feedback", by=feedback)
        public_link_revoke(link_id=link.pk, by=feedback)

        with pytest.raises(Forbidden, match=re.escape("This link has been revoked.")):
            public_link_submit(token=link.token, xml=instance_xml(form_id="feedback"))
        assert not Submission.objects.exists()

    def test_the_admin_shows_the_link_and_its_qr_code(self, feedback):
        client = Client()
        client.force_login(feedback)

        added = client.post("/admin/surveys/publiclink/add/", {"form_id": "feedback"})
        link = PublicLink.objects.get()
        page = client.get(f"/admin/surveys/publiclink/{link.pk}/change/").content.decode()

        assert added.url == f"/admin/surveys/publiclink/{link.pk}/change/"
        assert f"http://testserver/f/{link.token}/" in page
        assert '<div id="public-link-qr"><svg' in page
