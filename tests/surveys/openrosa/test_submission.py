"""POST /submission: stored first, exactly once; every status code."""

import hashlib
import json

import pytest
from django.contrib.auth.models import Permission
from lxml import etree

from enumerators.models import Device
from surveys.models import Round, Submission, SubmissionAttachment
from surveys.services.questionnaires import questionnaire_import
from surveys.services.raw_store import open_chunks, raw_open
from tests.factories import AssignmentFactory, EnumeratorFactory, RoundFactory, UserFactory
from tests.forms import simple_form
from tests.submissions import auth, instance_xml, multipart, new_instance_id

RESPONSE = "{http://openrosa.org/http/response}"


def message(response):
    doc = etree.fromstring(response.content)
    assert doc.tag == f"{RESPONSE}OpenRosaResponse"
    node = doc.find(f"{RESPONSE}message")
    return node.get("nature"), node.text


def snapshot():
    return list(Submission.objects.order_by("id").values_list(
        "id", "instance_id", "raw_sha256", "is_current", "complete", "processing"))


@pytest.fixture
def form(photo_form):
    return photo_form


@pytest.fixture
def post(client, django_capture_on_commit_callbacks):
    """POST as Collect does, running the on-commit processing as a real commit would."""
    def send(xml=None, *files, incomplete=False, headers=None, path="/submission", **extra):
        data = multipart(xml, *files, incomplete=incomplete) if xml is not None else extra.pop("data", {})
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(path, data, **(auth() if headers is None else headers), **extra)
    return send


@pytest.mark.django_db
class TestHead:
    def test_head_with_credentials_is_204_with_openrosa_headers(self, client, form):
        response = client.head("/submission", **auth())
        assert response.status_code == 204
        assert response["X-OpenRosa-Version"] == "1.0"
        assert response["X-OpenRosa-Accept-Content-Length"] == str(10 * 1024 * 1024)
        assert response["Date"].endswith(" GMT")

    def test_head_without_credentials_is_a_401_challenge(self, client, form):
        response = client.head("/submission")
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith('Digest realm="MTM Collect"')
        assert 'Basic realm="MTM Collect"' in response["WWW-Authenticate"]

    def test_get_is_not_allowed(self, client, form):
        assert client.get("/submission", **auth()).status_code == 405


@pytest.mark.django_db
class TestNewAndResend:
    def test_new_instance_is_stored_exactly_as_received_then_processed(self, post, form):
        xml = instance_xml(instance_id="uuid:11111111-1111-1111-1111-111111111111", age="41")

        response = post(xml, ("a.jpg", b"\xff\xd8photo"), QUERY_STRING="deviceID=collect:ABC123",
                        HTTP_USER_AGENT="org.odk.collect.android/v2024.2.4")

        assert response.status_code == 201
        assert message(response) == ("submit_success", "Full submission upload was successful!")
        sub = Submission.objects.get()
        assert raw_open(sub.raw_body) == xml
        assert bytes(sub.raw_body) != xml  # encrypted at rest
        assert sub.raw_sha256 == hashlib.sha256(xml).hexdigest()
        assert (sub.form_id, sub.instance_id, sub.questionnaire, sub.submitted_by.username) == (
            "simple", "uuid:11111111-1111-1111-1111-111111111111", form, "enum01")
        assert (sub.device.device_id, sub.user_agent) == ("collect:ABC123", "org.odk.collect.android/v2024.2.4")
        assert Device.objects.get().enumerator.user.username == "enum01"
        assert (sub.processing, sub.validation, sub.answers) == (
            "processed", "valid", {"q1": "hello", "age": 41, "meta/instanceID": sub.instance_id})
        attachment = sub.attachments.get()
        assert (attachment.filename, attachment.size, attachment.sha256) == (
            "a.jpg", 7, hashlib.sha256(b"\xff\xd8photo").hexdigest())
        assert b"".join(open_chunks(attachment.file.open("rb"))) == b"\xff\xd8photo"

    def test_identical_resend_is_202_and_merges_new_attachments(self, post, form):
        xml = instance_xml(photo="a.jpg", photo2="b.jpg")
        assert post(xml, ("a.jpg", b"A")).status_code == 201
        before = snapshot()

        again = post(xml, ("a.jpg", b"A"))
        more = post(xml, ("a.jpg", b"A"), ("b.jpg", b"B"))

        assert again.status_code == 202
        assert message(again) == ("submit_success", "Duplicate submission: already received.")
        assert more.status_code == 202
        assert message(more) == ("submit_success", "Attachments merged: b.jpg.")
        assert snapshot() == before
        sub = Submission.objects.get()
        assert sub.attachments_expected == 2
        assert sorted(sub.attachments.values_list("filename", flat=True)) == ["a.jpg", "b.jpg"]

    def test_same_instance_id_with_other_content_is_409_and_nothing_changes(self, post, form):
        instance_id = new_instance_id()
        post(instance_xml(instance_id=instance_id, q1="first"))
        before = snapshot()

        response = post(instance_xml(instance_id=instance_id, q1="second"), ("x.jpg", b"X"))

        assert response.status_code == 409
        assert message(response)[1] == f"Submission '{instance_id}' exists already with different content."
        assert snapshot() == before
        assert b"<q1>first</q1>" in raw_open(Submission.objects.get().raw_body)
        assert SubmissionAttachment.objects.count() == 0

    def test_processing_twice_changes_nothing(self, post, form):
        from surveys.services.processing import submission_process

        post(instance_xml())
        sub = Submission.objects.get()
        outcome = submission_process(submission_id=sub.pk)
        assert (outcome.state, outcome.changed) == ("processed", False)
        assert Submission.objects.get().processed_at == sub.processed_at


@pytest.mark.django_db
class TestEditsAndSplits:
    def test_deprecated_id_is_an_edit_that_keeps_the_earlier_version(self, post, form):
        original = new_instance_id()
        post(instance_xml(instance_id=original, age="30"))
        edited = new_instance_id()

        response = post(instance_xml(instance_id=edited, age="31", deprecated_id=original))

        assert response.status_code == 201
        old, new = Submission.objects.get(instance_id=original), Submission.objects.get(instance_id=edited)
        assert (old.is_current, new.is_current, new.previous_id, new.deprecated_id) == (False, True, old.pk,
                                                                                         original)
        assert new.answers["age"] == 31
        assert old.answers["age"] == 30

    def test_a_second_edit_of_the_same_version_is_409(self, post, form):
        original = new_instance_id()
        post(instance_xml(instance_id=original))
        post(instance_xml(instance_id=new_instance_id(), age="31", deprecated_id=original))
        before = snapshot()

        response = post(instance_xml(instance_id=new_instance_id(), age="32", deprecated_id=original))

        assert response.status_code == 409
        assert snapshot() == before

    def test_resending_an_edit_is_202(self, post, form):
        original, edited = new_instance_id(), new_instance_id()
        post(instance_xml(instance_id=original))
        xml = instance_xml(instance_id=edited, age="31", deprecated_id=original)
        assert post(xml).status_code == 201
        assert post(xml).status_code == 202
        assert Submission.objects.count() == 2

    def test_split_submission_is_merged_and_processed_when_complete(self, post, form):
        xml = instance_xml(photo="a.jpg", photo2="b.jpg")

        first = post(xml, ("a.jpg", b"A"), incomplete=True)
        sub = Submission.objects.get()
        assert first.status_code == 201
        assert message(first) == ("submit_success", "Part received.")
        assert (sub.complete, sub.processing, sub.answers) == (False, "receiving", None)

        last = post(xml, ("b.jpg", b"B"))

        sub.refresh_from_db()
        assert last.status_code == 202
        assert (sub.complete, sub.processing) == (True, "processed")
        assert sorted(sub.attachments.values_list("filename", flat=True)) == ["a.jpg", "b.jpg"]
        assert Submission.objects.count() == 1


@pytest.mark.django_db
class TestRejected:
    """Every refusal answers in an OpenRosa envelope and changes nothing."""

    def _refused(self, response, status, text):
        assert response.status_code == status
        nature, body = message(response)
        assert nature == "error"
        assert text in body
        assert Submission.objects.count() == 0
        assert SubmissionAttachment.objects.count() == 0
        assert Device.objects.count() == 0

    def test_malformed_xml(self, post, form):
        self._refused(post(b"<data id='simple'><q1>", QUERY_STRING="deviceID=x"), 400,
                      "The submission is not well-formed XML")

    def test_no_instance_id(self, post, form):
        xml = b'<data id="simple" version="1"><q1>x</q1><meta></meta></data>'
        self._refused(post(xml), 400, "The submission has no meta/instanceID.")

    def test_no_form_id(self, post, form):
        self._refused(post(b"<data><meta><instanceID>uuid:1</instanceID></meta></data>"), 400, "no form id")

    def test_no_xml_part(self, post, form):
        self._refused(post(data={"other": "x"}), 400, "The request has no 'xml_submission_file' part.")

    def test_no_credentials(self, post, form):
        response = post(instance_xml(), headers={})
        self._refused(response, 401, "Authentication required.")
        assert "WWW-Authenticate" in response

    def test_wrong_password(self, post, form):
        self._refused(post(instance_xml(), headers=auth(password="wrong")), 401, "Wrong username or password.")

    def test_not_assigned(self, post, form):
        UserFactory(username="enum02")
        self._refused(post(instance_xml(), headers=auth("enum02")), 403,
                      "This account is not assigned to form 'simple'.")

    def test_round_closed(self, post, form):
        Round.objects.filter(pk=form.round_id).update(status="closed")
        self._refused(post(instance_xml()), 403, "Round 4 of 'simple' is closed to submissions.")

    def test_unknown_form(self, post, form):
        self._refused(post(instance_xml(form_id="nope")), 404, "No form 'nope' on this server.")

    def test_unknown_version(self, post, form):
        self._refused(post(instance_xml(version="99")), 404, "Form 'simple' has no version '99' on this server.")

    def test_over_the_advertised_size(self, post, form, settings):
        settings.OPENROSA_MAX_SUBMISSION_BYTES = 500  # advertised; the multipart envelope may add up to 1 MiB
        self._refused(post(instance_xml(), ("big.jpg", b"x" * (1024 * 1024 + 600))), 413, "larger than 500 bytes")

    def test_entity_expansion_is_refused(self, post, form):
        bomb = (b'<?xml version="1.0"?><!DOCTYPE data [<!ENTITY a "aaaaaaaaaa">'
                b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
                b'<data id="simple" version="1"><q1>&c;</q1><meta><instanceID>uuid:x</instanceID></meta></data>')
        self._refused(post(bomb), 400, "DTDs and entities are not accepted")

    def test_external_entity_is_refused(self, post, form):
        xxe = (b'<?xml version="1.0"?><!DOCTYPE data [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
               b'<data id="simple" version="1"><q1>&x;</q1><meta><instanceID>uuid:x</instanceID></meta></data>')
        self._refused(post(xxe), 400, "DTDs and entities are not accepted")

    def test_rejected_post_leaves_earlier_submissions_alone(self, post, form):
        post(instance_xml())
        before = snapshot()
        assert post(instance_xml(form_id="nope")).status_code == 404
        assert post(b"<broken").status_code == 400
        assert snapshot() == before


@pytest.mark.django_db
class TestKoboJson:
    def _post(self, client, body, capture, headers=None):
        with capture(execute=True):
            return client.post("/submission", data=json.dumps(body), content_type="application/json",
                               **(auth() if headers is None else headers))

    def test_json_submission_is_stored_and_processed_like_xml(self, client, db, django_capture_on_commit_callbacks):
        RoundFactory()
        q = questionnaire_import(source=open("tests/fixtures/forms/household.md", "rb").read(),
                                 filename="household.md", survey_slug="mtm-kz", round_number=4).questionnaire
        AssignmentFactory(enumerator=EnumeratorFactory(user=UserFactory(username="enum01")), round=q.round)
        body = {"id": "household", "submission": {
            "resp": {"sex": "female", "age": 29}, "dependants": 2,
            "member": [{"member/member_age": 4}, {"member_age": 7}],
            "reasons": "work family", "meta": {"instanceID": "uuid:json-1"}}}

        response = self._post(client, body, django_capture_on_commit_callbacks)

        assert response.status_code == 201
        assert response.json()["instanceID"] == "uuid:json-1"
        assert response.json()["message"] == "Successful submission."
        sub = Submission.objects.get()
        assert (sub.raw_format, json.loads(raw_open(sub.raw_body))) == ("json", body)
        assert sub.answers == {"resp/sex": "female", "resp/age": 29, "dependants": 2,
                               "member": [{"member/member_age": 4}, {"member/member_age": 7}],
                               "reasons": ["work", "family"], "meta/instanceID": "uuid:json-1"}
        assert sub.validation == "valid"
        assert b'<data id="household" version="2024050101">' in raw_open(sub.xml)

        reordered = {"submission": {"meta": {"instanceID": "uuid:json-1"}, "reasons": "work family",
                                    "member": [{"member_age": 4}, {"member_age": 7}], "dependants": 2,
                                    "resp": {"age": 29, "sex": "female"}}, "id": "household"}
        assert self._post(client, reordered, django_capture_on_commit_callbacks).status_code == 202
        changed = {"id": "household", "submission": {**body["submission"], "dependants": 3}}
        conflict = self._post(client, changed, django_capture_on_commit_callbacks)
        assert conflict.status_code == 409
        assert conflict.json() == {"error": "Submission 'uuid:json-1' exists already with different content."}
        assert Submission.objects.count() == 1

    @pytest.mark.parametrize(("body", "status", "error"), [
        ("not json", 400, "The body is not valid JSON"),
        ({"submission": {}}, 400, 'The body has no form "id".'),
        ({"id": "simple", "submission": {"q1": "x"}}, 400, "The submission has no meta/instanceID."),
        ({"id": "simple", "submission": {"nope": 1, "meta": {"instanceID": "uuid:1"}}}, 400,
         "fields not in the form: nope"),
        ({"id": "ghost", "submission": {"meta": {"instanceID": "uuid:1"}}}, 404, "No form 'ghost'"),
    ])
    def test_bad_json_is_refused_in_json(self, client, form, django_capture_on_commit_callbacks, body, status, error):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/submission", data=body if isinstance(body, str) else json.dumps(body),
                                   content_type="application/json", **auth())
        assert response.status_code == status
        assert error in response.json()["error"]
        assert Submission.objects.count() == 0


@pytest.mark.django_db
class TestAnonymous:
    def test_anonymous_submission_only_for_forms_that_allow_it(self, post, form):
        open_form = questionnaire_import(source=simple_form(form_id="open", version="1"), filename="o.md",
                                         survey_slug="mtm-kz", round_number=4, allow_anonymous=True).questionnaire

        ok = post(instance_xml(form_id="open"), headers={}, path="/enum01/submission")
        refused = post(instance_xml(form_id="simple"), headers={}, path="/enum01/submission")

        assert ok.status_code == 201
        assert refused.status_code == 403
        sub = Submission.objects.get()
        assert (sub.questionnaire, sub.submitted_by) == (open_form, None)
        assert post(instance_xml(form_id="open"), headers={}, path="/ghost/submission").status_code == 404


@pytest.mark.django_db
class TestAttachmentDownload:
    def test_only_authorised_accounts_get_attachments(self, post, form, client):
        instance_id = new_instance_id()
        post(instance_xml(instance_id=instance_id, photo="a.jpg"), ("a.jpg", b"JPEGDATA"))
        url = f"/api/v1/submissions/{instance_id}/attachments/a.jpg?form=simple"

        client.logout()
        assert client.get(url).status_code in (401, 403)
        client.force_login(UserFactory(username="enum01"))
        assert client.get(url).status_code == 403
        reviewer = UserFactory(username="reviewer")
        reviewer.user_permissions.add(Permission.objects.get(codename="view_submission"))
        client.force_login(reviewer)
        assert client.get(url).status_code == 403  # photos are raw data: the data-protection role only
        officer = UserFactory(username="dpo")
        officer.user_permissions.add(*Permission.objects.filter(codename__in=["view_submission",
                                                                             "view_raw_submission"]))
        client.force_login(officer)
        response = client.get(url)
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == b"JPEGDATA"
        assert client.get(url.replace("a.jpg", "b.jpg")).status_code == 404


@pytest.fixture
def crews(form):
    """Issue 13 item 7: supA → enum01, enum02; supB → enum03; a superuser; all may post to the form."""
    from enumerators.models import Enumerator

    sup_a, sup_b = UserFactory(username="supA"), UserFactory(username="supB")
    Enumerator.objects.filter(user__username="enum01").update(supervisor=sup_a)
    for username, supervisor in (("enum02", sup_a), ("enum03", sup_b)):
        AssignmentFactory(enumerator=EnumeratorFactory(user=UserFactory(username=username), supervisor=supervisor),
                          round=form.round)
    UserFactory(username="boss", is_superuser=True, is_staff=True)
    return form


def team_edits(form, on: bool) -> None:
    form.round.checks = {**(form.round.checks or {}), "team_edits": on}
    form.round.save()


@pytest.mark.django_db
class TestWhoMayEdit:
    """Issue 13 item 7: an edit (meta/deprecatedID) from the submitter, a superuser, or — where the round allows
    team edits — an enumerator with the same supervisor; anyone else 403, nothing stored or changed."""

    def original(self, post):
        instance_id = new_instance_id()
        assert post(instance_xml(instance_id=instance_id, age="30")).status_code == 201
        return instance_id

    @pytest.mark.parametrize("on", [False, True])
    def test_another_teams_enumerator_is_refused(self, post, crews, on):
        team_edits(crews, on)
        original = self.original(post)
        before = snapshot()

        response = post(instance_xml(instance_id=new_instance_id(), age="99", deprecated_id=original),
                        headers=auth("enum03"))

        assert response.status_code == 403
        team = ", their team" if on else ""
        assert message(response) == ("error", f"Submission '{original}' was sent by another enumerator; only they"
                                              f"{team} or a superuser may edit it.")
        assert snapshot() == before
        kept = Submission.objects.get(instance_id=original)
        assert (kept.is_current, kept.answers["age"], kept.submitted_by.username) == (True, 30, "enum01")

    def test_same_team_is_refused_when_the_round_does_not_allow_team_edits(self, post, crews):
        original = self.original(post)
        before = snapshot()

        response = post(instance_xml(instance_id=new_instance_id(), deprecated_id=original), headers=auth("enum02"))

        assert response.status_code == 403
        assert snapshot() == before

    @pytest.mark.parametrize("editor", ["enum01", "boss"])
    def test_the_submitter_and_a_superuser_edit(self, post, crews, editor):
        original, edited = self.original(post), new_instance_id()

        response = post(instance_xml(instance_id=edited, age="31", deprecated_id=original), headers=auth(editor))

        assert response.status_code == 201
        old, new = Submission.objects.get(instance_id=original), Submission.objects.get(instance_id=edited)
        assert (old.is_current, new.is_current, new.previous_id, new.answers["age"]) == (False, True, old.pk, 31)

    def test_same_team_edits_when_the_round_allows_it(self, post, crews):
        team_edits(crews, True)
        original, edited = self.original(post), new_instance_id()

        response = post(instance_xml(instance_id=edited, age="31", deprecated_id=original), headers=auth("enum02"))

        assert response.status_code == 201
        old, new = Submission.objects.get(instance_id=original), Submission.objects.get(instance_id=edited)
        assert (old.is_current, new.is_current, new.previous_id, new.submitted_by.username) == (
            False, True, old.pk, "enum02")

    def test_an_unknown_deprecated_id_is_stored_as_new(self, post, crews):
        original = self.original(post)

        response = post(instance_xml(instance_id="uuid:new-1", deprecated_id="uuid:nobody"), headers=auth("enum03"))

        assert response.status_code == 201
        new = Submission.objects.get(instance_id="uuid:new-1")
        assert (new.previous_id, new.is_current, Submission.objects.get(instance_id=original).is_current) == (
            None, True, True)
