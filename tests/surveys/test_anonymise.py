"""Anonymisation: what leaves the raw store, and what never does."""

import logging
import random

import pytest
from cryptography.fernet import Fernet
from django.apps import apps
from django.core.management import call_command
from django.db import models
from django.utils import timezone

from mtm.celery import app as celery_app  # noqa: F401 - tasks registered
from surveys.models import RawPurge, Respondent, Round, Submission, SubmissionAttachment
from surveys.services import anonymise
from surveys.services.anonymise import displace, pseudonym, scrub
from surveys.services.disclosure import disclosure_risk, release
from surveys.services.geo import distance_km, inside
from surveys.services.processing import instance_xml
from surveys.services.questionnaires import questionnaire_import
from surveys.services.raw_store import RawStoreLocked, raw_open
from surveys.services.retention import raw_purge
from tests.factories import AssignmentFactory, RoundFactory, UserFactory, location
from tests.forms import form_bytes
from tests.submissions import ALMATY_CENTRE, send_privacy_instance

MARKER = "Zzmarker7731"


@pytest.mark.django_db
class TestAnonymisedRecord:
    def test_identifiers_dropped_pseudonyms_hashed_gps_displaced(self, privacy_form):
        sub = send_privacy_instance(comment="call me on +7 701 123 45 67")

        answers = sub.answers
        assert "resp/name" not in answers and "resp/phone" not in answers and "deviceid" not in answers
        assert answers["resp/passport"] == pseudonym("AA1234567")
        assert len(answers["resp/passport"]) == 64
        assert answers["resp/comment"] == "call me on [number]"
        assert (answers["resp/sex"], answers["resp/age"], answers["consent"]) == ("male", 30, "yes")
        assert answers["resp/gps"] != ALMATY_CENTRE
        assert sub.consent is True

    def test_pseudonyms_are_stable_for_one_key_and_differ_for_another(self, settings):
        first = pseudonym("AA1234567")
        assert pseudonym(" aa1234567 ") == first
        settings.MTM_PSEUDONYM_KEY = "another-key"
        assert pseudonym("AA1234567") != first

    def test_displacement_bounds_and_areas(self, db):
        almaty, akmola = location("KZ-75"), location("KZ-11")
        urban, rural = [], []
        for n in range(400):
            lat, lon = (float(x) for x in displace(ALMATY_CENTRE, location=almaty, seed=f"u{n}").split())
            urban.append(distance_km(43.25, 76.9, lat, lon))
            assert inside(almaty, lat, lon)
            lat, lon = (float(x) for x in displace("52.3 70.5 300 5", location=akmola, seed=f"r{n}").split())
            rural.append(distance_km(52.3, 70.5, lat, lon))
            assert inside(akmola, lat, lon)
        assert max(urban) <= 2.0 + 1e-6
        assert max(rural) <= 10.0 + 1e-6
        assert sum(d > 5.0 for d in rural) <= 12  # about 1 % may go up to 10 km
        assert min(urban) >= 0 and sum(d > 1.0 for d in urban) > 100
        assert displace(ALMATY_CENTRE, location=almaty, seed="same") == displace(ALMATY_CENTRE, location=almaty,
                                                                                   seed="same")

    def test_a_point_at_the_edge_stays_inside_its_area(self, db):
        almaty = location("KZ-75")  # centre 43.25, 76.90, radius 30 km
        edge = "43.5150 76.9000 0 0"  # 29.5 km north of the centre
        for n in range(50):
            lat, lon = (float(x) for x in displace(edge, location=almaty, seed=f"e{n}").split())
            assert inside(almaty, lat, lon)

    def test_gps_coarsened_to_the_location_code(self, privacy_form):
        Round.objects.filter(pk=privacy_form.round_id).update(privacy={"consent_field": "consent",
                                                                       "gps": "coarsen"})
        assert send_privacy_instance().answers["resp/gps"] == "KZ-75"

    def test_refused_consent_keeps_nothing_but_consent_and_metadata(self, privacy_form):
        sub = send_privacy_instance(consent="no", name="", phone="", passport="", place="", gps="", sex="", age="",
                                    country="")
        assert sub.answers == {"start": "2024-05-02T10:00:00.000+05:00", "end": "2024-05-02T10:40:00.000+05:00",
                               "consent": "no", "meta/instanceID": sub.instance_id}
        assert (sub.consent, sub.flags.count()) == (False, 0)

    def test_one_respondents_interviews_in_two_rounds_are_linked(self, privacy_form):
        round5 = RoundFactory(number=5)
        round5.privacy = {"consent_field": "consent"}
        round5.save()
        questionnaire_import(source=form_bytes("privacy.md").replace(b"| | privacy | 1 |", b"| | privacy5 | 1 |"),
                             filename="privacy5.md", survey_slug="mtm-kz", round_number=5)
        AssignmentFactory(enumerator=privacy_form.round.assignments.get().enumerator, round=round5)

        first = send_privacy_instance(passport="AA1234567")
        second = send_privacy_instance(passport="aa1234567", form_id="privacy5", name="Another spelling")
        other = send_privacy_instance(passport="AB7654321")

        assert first.respondent_id == second.respondent_id != other.respondent_id
        respondent = Respondent.objects.get(pk=first.respondent_id)
        assert (respondent.first_round.number, respondent.consent, respondent.submissions.count()) == (4, "given", 2)
        assert "AA1234567" not in respondent.key


class TestScrubbing:
    @pytest.mark.parametrize("text", [
        "+7 701 123 45 67", "8 (701) 123-45-67", "+77011234567",  # Kazakhstan
        "+996 555 123 456", "0555 123 456",  # Kyrgyzstan
        "+992 93 123 4567", "+992931234567",  # Tajikistan
        "+998 90 123 45 67", "+998-90-123-45-67",  # Uzbekistan
        "+7 (916) 123-45-67", "8 916 123 45 67",  # Russia
        "IIN 900101300123", "passport N12345678", "паспорт AA1234567", "ID 1234567 and AN1234567",
        "45 12 345678", "mail ali.karimov@mail.ru", "Email: a_b+c@gmail.com",
    ])
    def test_personal_numbers_and_addresses_are_masked(self, text):
        masked = scrub(f"Respondent said: {text}.")
        assert not any(ch.isdigit() for ch in masked), masked
        assert "@" not in masked

    def test_ordinary_answers_are_left_alone(self):
        assert scrub("Works 12 hours a day, 6 days a week, earns 250000 tenge") == (
            "Works 12 hours a day, 6 days a week, earns 250000 tenge")
        assert scrub("Came in 2019 with 3 friends") == "Came in 2019 with 3 friends"


class TestDisclosureRisk:
    PATHS = ["sex", "age", "country"]

    def records(self):
        rows = [("male", 30, "uz")] * 3 + [("male", 31, "uz")] * 2 + [("female", 45, "tj")] + [("female", 46, "kg")]
        return [dict(zip(self.PATHS, row, strict=True)) for row in rows]

    def test_k_anonymity_figures_by_hand(self):
        risk = disclosure_risk(self.records(), self.PATHS, 3)
        # classes: 3 × (m,30,uz) -> risk 1/3 each; 2 × (m,31,uz) -> 1/2 each; (f,45,tj) and (f,46,kg) -> 1 each
        assert (risk.records, risk.classes, risk.records_below_k) == (7, 4, 4)
        assert risk.expected_reidentifications == pytest.approx(3 / 3 + 2 / 2 + 1 + 1)
        assert risk.max_individual_risk == 1.0

    def test_release_reaches_k_and_says_what_it_changed(self):
        quasi = [("sex", "select_one"), ("age", "integer"), ("country", "select_one")]
        released = release(self.records(), quasi, 3)

        assert released.risk.records_below_k == 0
        assert released.changes == [
            "age: generalised into bands of 5",
            "country: 2 rare value(s) recoded to 'other'",
            "age: 2 value(s) suppressed",
            "country: 2 value(s) suppressed",
            "sex: 2 value(s) suppressed",
        ]
        assert released.records[:5] == [{"sex": "male", "age": "30–34", "country": "uz"}] * 5
        assert released.records[5:] == [{"sex": None, "age": None, "country": None}] * 2

    def test_round_risk_api(self, privacy_form, client):
        from django.contrib.auth.models import Permission

        for age in ("30", "30", "30", "52"):
            send_privacy_instance(age=age, passport=f"P{age}{random.randint(0, 10**6)}")
        analyst = UserFactory(username="analyst")
        analyst.user_permissions.add(Permission.objects.get(codename="view_submission"))
        client.force_login(analyst)
        body = client.get(f"/api/v1/rounds/{privacy_form.round_id}/risk?k=3").json()
        assert body["risk"] == {"records": 4, "quasi_fields": ["resp/age", "resp/country", "resp/place", "resp/sex"],
                                "k": 3, "records_below_k": 1, "classes": 2, "expected_reidentifications": 2.0,
                                "max_individual_risk": 1.0}
        assert body["release"]["risk"]["records_below_k"] == 0


@pytest.mark.django_db
class TestRawStore:
    def test_the_raw_store_is_unreadable_without_the_key(self, privacy_form, settings):
        sub = send_privacy_instance()
        assert b"Aziz" in instance_xml(sub)
        assert b"Aziz" not in bytes(sub.raw_body)
        settings.MTM_RAW_KEY = Fernet.generate_key().decode()
        with pytest.raises(RawStoreLocked):
            raw_open(sub.raw_body)

    def test_retention_purge_removes_raw_data_and_keeps_the_record(self, privacy_form, client):
        from django.core.files.uploadedfile import SimpleUploadedFile

        from tests.submissions import auth

        Round.objects.filter(pk=privacy_form.round_id).update(privacy={"consent_field": "consent",
                                                                       "retention_days": 30})
        old = send_privacy_instance()
        Submission.objects.filter(pk=old.pk).update(received_at=timezone.now() - timezone.timedelta(days=31))
        xml = instance_xml(old).replace(old.instance_id.encode(), b"uuid:recent")
        client.post("/submission", {"xml_submission_file": SimpleUploadedFile("s.xml", xml),
                                    "photo": SimpleUploadedFile("p.jpg", b"JPEG")}, **auth())
        SubmissionAttachment.objects.update(submission=old)
        answers = Submission.objects.get(pk=old.pk).answers

        (purge,) = raw_purge()
        assert raw_purge() == []

        old.refresh_from_db()
        assert (purge.submissions, purge.attachments) == (1, 1)
        assert (bytes(old.raw_body), old.xml, old.attachments.count()) == (b"", None, 0)
        assert old.answers == answers
        assert old.raw_purged_at is not None
        assert RawPurge.objects.count() == 1
        assert raw_open(Submission.objects.get(instance_id="uuid:recent").raw_body).startswith(b"<data")

    def test_raw_access_only_for_the_data_protection_role(self, privacy_form, client):
        from django.contrib.auth.models import Group

        from enumerators.roles import DATA_PROTECTION, SUPERVISORS
        from enumerators.services.roles import roles_ensure

        roles_ensure()
        sub = send_privacy_instance()
        supervisor, officer = UserFactory(username="sup"), UserFactory(username="dpo")
        supervisor.groups.add(Group.objects.get(name=SUPERVISORS))
        officer.groups.add(Group.objects.get(name=DATA_PROTECTION))
        url = f"/api/v1/submissions/{sub.instance_id}/raw"

        client.force_login(supervisor)
        assert client.get(url).status_code == 403
        client.force_login(officer)
        response = client.get(url)
        assert response.status_code == 200
        assert b"<name>Aziz Karimov</name>" in response.content


@pytest.mark.django_db
def test_a_marker_in_identifying_answers_reaches_no_log_and_no_stored_column(privacy_form, client, caplog):
    """Identifier answers never reach a log line, an error, or any stored column outside the raw store."""
    from django.contrib.auth.models import Permission

    caplog.set_level(logging.DEBUG)
    logging.getLogger("django.db.backends").setLevel(logging.INFO)
    sub = send_privacy_instance(name=f"{MARKER} Karimov", phone=f"+998{MARKER}", age="99",
                                comment=f"my name is {MARKER}")
    bad = send_privacy_instance(name=MARKER, phone="not a phone " + MARKER)
    viewer = UserFactory(username="viewer", is_staff=True, is_superuser=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_submission"))
    client.force_login(viewer)
    pages = [client.get(f"/admin/surveys/submission/{s.pk}/change/").content for s in (sub, bad)]
    pages += [client.get(f"/api/v1/submissions/{s.instance_id}/").content for s in (sub, bad)]
    pages.append(client.get("/api/v1/submissions/").content)

    assert [n for n, page in enumerate(pages) if MARKER.encode() in page] == []
    assert MARKER not in caplog.text
    raw_columns = {("surveys", "submission", "raw_body"), ("surveys", "submission", "xml")}
    for model in apps.get_models():
        for f in model._meta.concrete_fields:
            key = (model._meta.app_label, model._meta.model_name, f.name)
            if key in raw_columns or isinstance(f, models.FileField):
                continue
            for value in model.objects.values_list(f.attname, flat=True):
                assert MARKER not in str(value), f"{key} holds the marker"
    assert anonymise.DEFAULTS["k"] == 3
    call_command("check")


@pytest.mark.django_db
def test_free_text_repeating_the_respondents_own_identifiers_is_masked(privacy_form):
    sub = send_privacy_instance(name="Dilnoza Rakhimova", comment="Dilnoza says her sister rakhimova works too")
    assert sub.answers["resp/comment"] == "[identifier] says her sister [identifier] works too"
