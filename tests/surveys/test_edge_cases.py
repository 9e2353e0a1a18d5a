"""Edge cases found in review: each one once answered wrongly."""

import datetime as dt
import json

import pytest

from enumerators.models import Device
from surveys.models import Submission
from surveys.services.questionnaires import questionnaire_import
from surveys.services.validation import FormRules, submission_validate
from surveys.services.xlsform import xlsform_convert
from tests.forms import simple_form
from tests.submissions import auth, instance_xml, multipart, new_instance_id

FORM = b"""
| survey |
| | type | name | label | privacy | relevant | constraint | required |
| | text | name | Name | identifier | | string-length(.) < 5 | |
| | select_one yn | work | Works? | | | | yes |
| | integer | hours | Hours | | ${work} = 'yes' | | yes |
| | integer | n | N | | | | |
| | date | seen | Seen | | | . <= today() | |
| choices |
| | list_name | name | label |
| | yn | yes | Yes |
| | yn | no | No |
| settings |
| | form_id | version |
| | edge | 1 |
"""


@pytest.fixture(scope="module")
def rules():
    return FormRules(xlsform_convert(source=FORM, filename="edge.md").schema)


def check(rules, body, now=dt.datetime(2024, 5, 2, 12, 0, tzinfo=dt.UTC)):
    xml = f'<data id="edge" version="1">{body}<meta><instanceID>uuid:e</instanceID></meta></data>'.encode()
    return submission_validate(xml=xml, rules=rules, now=now)


def test_messages_never_quote_identifying_answers(rules):
    result = check(rules, "<name>Aziz Karimov</name><work>no</work>")
    assert [(p.path, p.message) for p in result.problems] == [("name", "Name: the answer is not allowed.")]


def test_instance_name_stays_in_the_raw_store(rules):
    xml = (b'<data id="edge" version="1"><work>no</work><meta><instanceID>uuid:e</instanceID>'
           b"<instanceName>Aziz +77011234567</instanceName></meta></data>")
    assert submission_validate(xml=xml, rules=rules).answers == {"work": "no", "meta/instanceID": "uuid:e"}


def test_a_non_relevant_question_left_out_of_the_instance_is_not_missing(rules):
    assert check(rules, "<work>no</work>").problems == []
    assert [(p.path, p.code) for p in check(rules, "<work>yes</work>").problems] == [("hours", "required")]


def test_huge_numbers_are_type_errors_not_crashes(rules):
    result = check(rules, f"<work>no</work><n>{'9' * 5000}</n>")
    assert [(p.path, p.message) for p in result.problems] == [("n", "N: '99999999999999999999' is too large a "
                                                                    "whole number.")]
    assert check(rules, "<work>no</work><n>١٢٣</n>").problems[0].code == "type"


def test_today_is_the_local_date(rules):
    # 01:30 in Almaty on 3 May is still 2 May in UTC.
    early = dt.datetime(2024, 5, 2, 20, 30, tzinfo=dt.UTC)
    assert check(rules, "<work>no</work><seen>2024-05-03</seen>", now=early).problems == []


@pytest.mark.django_db
class TestIngestEdges:
    @pytest.fixture
    def simple(self, enumerator):
        return questionnaire_import(source=simple_form(extra_rows="| | integer | age | Age |\n| | image | photo | P |"
                                                                  "\n| | image | photo2 | P2 |"),
                                    filename="s.md", survey_slug="mtm-kz", round_number=4).questionnaire

    def post(self, client, capture, xml, *files, **extra):
        with capture(execute=True):
            return client.post("/submission", multipart(xml, *files, **extra), **auth())

    def test_a_refused_post_leaves_no_device(self, client, simple, django_capture_on_commit_callbacks):
        instance_id = new_instance_id()
        self.post(client, django_capture_on_commit_callbacks, instance_xml(instance_id=instance_id))
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/submission?deviceID=collect:NEW", multipart(instance_xml(
                instance_id=instance_id, q1="changed")), **auth())
        assert response.status_code == 409
        assert not Device.objects.filter(device_id="collect:NEW").exists()

    def test_the_last_part_of_a_split_upload_without_new_files_is_processed(self, client, simple,
                                                                           django_capture_on_commit_callbacks):
        xml = instance_xml(photo="a.jpg")
        self.post(client, django_capture_on_commit_callbacks, xml, ("a.jpg", b"A"), incomplete=True)
        assert self.post(client, django_capture_on_commit_callbacks, xml).status_code == 202
        assert Submission.objects.get().processing == "processed"

    def test_more_than_a_hundred_attachments(self, client, simple, django_capture_on_commit_callbacks):
        files = [(f"f{n}.jpg", b"x") for n in range(101)]
        assert self.post(client, django_capture_on_commit_callbacks, instance_xml(), *files).status_code == 201
        assert Submission.objects.get().attachments.count() == 101

    def test_over_long_instance_id_is_400(self, client, simple, django_capture_on_commit_callbacks):
        response = self.post(client, django_capture_on_commit_callbacks, instance_xml(instance_id="uuid:" + "x" * 300))
        assert response.status_code == 400
        assert Submission.objects.count() == 0

    def test_json_resend_after_a_new_form_version_is_202(self, client, simple, django_capture_on_commit_callbacks):
        body = json.dumps({"id": "simple", "submission": {"q1": "x", "meta": {"instanceID": "uuid:j1"}}})
        with django_capture_on_commit_callbacks(execute=True):
            first = client.post("/submission", body, content_type="application/json", **auth())
        questionnaire_import(source=simple_form(version="2", extra_rows="| | text | q9 | Q9 |"), filename="s.md")
        with django_capture_on_commit_callbacks(execute=True):
            again = client.post("/submission", body, content_type="application/json", **auth())
        assert (first.status_code, again.status_code, Submission.objects.count()) == (201, 202, 1)

    def test_json_with_a_control_character_is_400(self, client, simple):
        body = json.dumps({"id": "simple", "submission": {"q1": "bad\u0001", "meta": {"instanceID": "uuid:j2"}}})
        response = client.post("/submission", body, content_type="application/json", **auth())
        assert response.status_code == 400
        assert "cannot be written as XML" in response.json()["error"]

    def test_process_pending_goes_on_past_a_failing_submission(self, client, simple, capsys):
        from django.core.management import call_command

        for n in ("1", "2"):
            client.post("/submission", multipart(instance_xml(age=n)), **auth())
        Submission.objects.filter(pk=Submission.objects.order_by("id").first().pk).update(raw_body=b"garbage")
        call_command("process_pending")
        assert capsys.readouterr().out == "pending 2: processed 1, failed 1\n"
