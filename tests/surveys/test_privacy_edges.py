"""Privacy edge cases found in review: each one once leaked or lost data."""

import pytest
from django.utils import timezone

from surveys.errors import XLSFormError
from surveys.models import Round, Submission
from surveys.round_settings import PrivacySettings
from surveys.selectors.reports import percent, round_tabulate
from surveys.services.anonymise import scrub, submission_anonymise
from surveys.services.geo import distance_km, inside
from surveys.services.retention import raw_purge
from surveys.services.xlsform import xlsform_convert
from tests.factories import location
from tests.submissions import ALMATY_CENTRE, send_privacy_instance

FIELDS = {"fields": [
    {"path": "consent", "name": "consent", "type": "select_one"},
    {"path": "name", "name": "name", "type": "text", "privacy": "identifier"},
    {"path": "passport", "name": "passport", "type": "text", "privacy": "pseudonym"},
    {"path": "echo", "name": "echo", "type": "calculate"},
    {"path": "code", "name": "code", "type": "barcode"},
    {"path": "age", "name": "age", "type": "integer", "privacy": "quasi"},
    {"path": "start", "name": "start", "type": "start"},
]}
ANSWERS = {"consent": "no", "name": "Aziz Karimov", "passport": "AA1234567", "echo": "Aziz Karimov",
           "code": "AA1234567", "age": 30, "start": "2024-05-02T10:00:00.000+05:00", "meta/instanceID": "uuid:p"}


def test_geopoints_cannot_be_tagged_quasi():
    source = (b"| survey |\n| | type | name | label | privacy |\n| | geopoint | gps | GPS | quasi |\n"
              b"| settings |\n| | form_id | version |\n| | f | 1 |\n")
    with pytest.raises(XLSFormError, match="A GPS answer is tagged 'location'"):
        xlsform_convert(source=source, filename="f.md")


def test_a_refusal_keeps_nothing_derived_from_the_answers_even_outside_a_consent_group():
    record = submission_anonymise(answers=ANSWERS, schema=FIELDS, config=PrivacySettings.from_json({
                                      "consent_field": "consent", "consent_value": "yes", "gps": "displace"}),
                                  areas=[], instance_id="uuid:p")
    assert record.answers == {"consent": "no", "start": "2024-05-02T10:00:00.000+05:00", "meta/instanceID": "uuid:p"}
    assert (record.consent, record.respondent_key) == (False, None)


@pytest.mark.parametrize(("config", "consent"), [
    ({"consent_field": "intro/consent"}, None),  # not a question of this form
    ({"consent_field": None}, None),
])
def test_an_unknown_consent_question_is_not_a_refusal(config, consent):
    answers = {**ANSWERS, "consent": "yes"}
    record = submission_anonymise(answers=answers, schema=FIELDS, config=PrivacySettings.from_json({
                                      "consent_value": "yes", "gps": "displace", **config}),
                                  areas=[], instance_id="uuid:p")
    assert record.consent is consent
    assert record.answers["age"] == 30


def test_calculations_and_barcodes_are_scrubbed_like_text():
    record = submission_anonymise(answers={**ANSWERS, "consent": "yes"}, schema=FIELDS,
                                  config=PrivacySettings.from_json({"consent_field": "consent", "consent_value": "yes",
                                                                    "gps": "displace"}),
                                  areas=[], instance_id="uuid:p")
    assert record.answers["echo"] == "[identifier]"
    assert record.answers["code"] == "[identifier]"
    assert "name" not in record.answers


@pytest.mark.parametrize("text", ["272-12-34", "паспорт № 1234567", "87011234567x", "тел 2 72 12 34"])
def test_more_personal_numbers_are_masked(text):
    assert not any(ch.isdigit() for ch in scrub(text)), scrub(text)


def test_percentages_round_half_up_from_the_exact_fraction():
    assert [percent(1, 16), percent(3, 16), percent(5, 16), percent(1, 3), percent(0, 0)] == [6.3, 18.8, 31.3,
                                                                                             33.3, None]


@pytest.mark.django_db
class TestThroughProcessing:
    def test_gps_is_never_quoted_and_stays_in_the_assigned_area_without_a_location_answer(self, privacy_form):
        Round.objects.filter(pk=privacy_form.round_id).update(checks={})  # the location answer is not used
        sub = send_privacy_instance(gps=ALMATY_CENTRE)
        lat, lon = (float(x) for x in sub.answers["resp/gps"].split())
        assert distance_km(lat, lon, 43.25, 76.9) <= 2.0  # urban rules: the enumerator works in Almaty
        assert inside(location("KZ-75"), lat, lon)
        bad = send_privacy_instance(gps="43.2500 276.9000 0 5")
        assert bad.problems == [{"path": "resp/gps", "code": "type",
                                 "message": "GPS: the answer is outside the range of latitudes and longitudes."}]

    def test_refusals_are_not_counted_in_the_tables(self, privacy_form):
        send_privacy_instance(age="30")
        send_privacy_instance(age="40")
        refusal = send_privacy_instance(consent="no", name="", phone="", passport="", place="", gps="", sex="",
                                        age="", country="")
        assert (refusal.consent, refusal.fingerprint, refusal.respondent_id) == (False, "", None)
        report = round_tabulate(form_id="privacy")
        assert report["submissions"] == 2
        assert next(q for q in report["questions"] if q["name"] == "consent")["base"] == 2

    def test_the_purge_waits_for_pending_and_clears_failed_and_unfinished(self, privacy_form):
        Round.objects.filter(pk=privacy_form.round_id).update(privacy={"consent_field": "consent",
                                                                       "retention_days": 1})
        done, pending, failed, unfinished = (send_privacy_instance() for _ in range(4))
        Submission.objects.filter(pk=pending.pk).update(processing="pending")
        Submission.objects.filter(pk=failed.pk).update(processing="failed", answers=None)
        Submission.objects.filter(pk=unfinished.pk).update(processing="receiving", complete=False, answers=None)
        Submission.objects.update(received_at=timezone.now() - timezone.timedelta(days=2))

        (purge,) = raw_purge()

        states = {s.pk: (s.processing, s.raw_purged_at is not None) for s in Submission.objects.all()}
        assert purge.submissions == 3
        assert states == {done.pk: ("processed", True), pending.pk: ("pending", False),
                          failed.pk: ("failed", True), unfinished.pk: ("failed", True)}


@pytest.mark.django_db
def test_every_version_of_an_edited_interview_gets_the_same_displacement(privacy_form, client):
    from surveys.services.processing import instance_xml
    from tests.submissions import auth, multipart

    first = send_privacy_instance(age="30")
    edited_xml = instance_xml(first).replace(b"<age>30</age>", b"<age>31</age>").replace(
        first.instance_id.encode(), b"uuid:edit-1").replace(b"</instanceID>",
                                                            f"</instanceID><deprecatedID>{first.instance_id}"
                                                            f"</deprecatedID>".encode())
    from surveys.services.processing import submission_process

    assert client.post("/submission", multipart(edited_xml), **auth()).status_code == 201
    edit = Submission.objects.get(instance_id="uuid:edit-1")
    submission_process(submission_id=edit.pk)
    edit.refresh_from_db()
    assert edit.answers["resp/age"] == 31
    assert edit.answers["resp/gps"] == first.answers["resp/gps"]
