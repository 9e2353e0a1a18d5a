"""A round's settings: the JSON columns read into dataclasses, and the one sex question (migration 0014)."""

import importlib
import json

import pytest
from django.apps import apps
from django.urls import reverse

from surveys.models import Round, RoundTally
from surveys.round_settings import (
    CheckSettings,
    PrivacySettings,
    kept_breakdowns,
    round_check_settings,
    round_privacy_settings,
)
from tests.factories import RoundFactory

migration_0014 = importlib.import_module("surveys.migrations.0014_sex_question")


def test_keys_left_out_take_the_defaults():
    assert CheckSettings.from_json({}) == CheckSettings.from_json(None) == CheckSettings()
    assert PrivacySettings.from_json({}) == PrivacySettings.from_json(None) == PrivacySettings()
    checks, privacy = CheckSettings(), PrivacySettings()
    assert (checks.min_duration_minutes, checks.collection_hours, checks.timezone, checks.daily_factor,
            checks.daily_minimum) == (10.0, (7, 21), "Asia/Almaty", 3.0, 10)
    assert checks.ranges == {"age": (14, 80), "hours_day": (0, 16), "hours_per_day": (0, 16)}
    assert checks.sex_values == {"male": "m", "female": "f", "m": "m", "f": "f"}
    assert len(checks.enabled) == 12  # the seven of issue 4 and the five fed by audit logs and back-checks
    assert (privacy.consent_field, privacy.consent_value, privacy.gps, privacy.k, privacy.small_cell,
            privacy.retention_days) == (None, "yes", "displace", 3, 10, None)


def test_unknown_keys_are_ignored_and_values_read_as_the_checks_read_them():
    checks = CheckSettings.from_json({"enabled": ["outlier"], "min_duration_minutes": "5", "ranges": {"age": [18, 60]},
                                      "collection_hours": [8, 20], "sex_values": None, "no_such_key": 1})
    assert (checks.enabled, checks.min_duration_minutes, checks.ranges, checks.collection_hours,
            checks.sex_values) == (frozenset({"outlier"}), 5.0, {"age": (18, 60)}, (8, 20), {})
    assert CheckSettings.from_json({"enabled": None}).enabled == frozenset()
    # Issue 13 item 7: team edits are off unless the JSON says true.
    assert [CheckSettings.from_json(v).team_edits for v in ({}, {"team_edits": True}, {"team_edits": "yes"},
                                                            {"team_edits": 1})] == [False, True, False, False]

    privacy = PrivacySettings.from_json({"k": "5", "gps": "blur", "retention_days": 30, "consent_field": "",
                                         "unknown": True})
    assert (privacy.k, privacy.gps, privacy.retention_days, privacy.consent_field) == (5, "displace", 30, None)
    assert PrivacySettings.from_json({"gps": "coarsen"}).gps == "coarsen"


@pytest.mark.django_db
def test_a_round_s_settings_and_kept_breakdowns():
    round_ = RoundFactory()
    round_.checks = {"location_field": "place", "sex_values": {"kz_75": "f"}}
    round_.privacy = {"small_cell": 2}
    round_.sex_question = "gender"
    round_.report_by = ["remit", "gender", "remit"]
    round_.save()

    assert round_check_settings(round_) == CheckSettings(location_field="place", sex_values={"kz_75": "f"},
                                                         sex_question="gender")
    assert round_privacy_settings(round_) == PrivacySettings(small_cell=2)
    assert kept_breakdowns(round_) == ("gender", "remit")
    round_.sex_question = ""
    assert kept_breakdowns(round_) == ("remit", "gender")
    assert kept_breakdowns(RoundFactory(number=5)) == ("sex",)  # the defaults: the sex question, nothing more


@pytest.mark.django_db
def test_migration_0014_carries_the_sex_field_and_keeps_the_rest():
    named = RoundFactory(number=1)
    Round.objects.filter(pk=named.pk).update(
        checks={"sex_field": "demographics/gender", "sex_values": {"man": "m"}, "min_duration_minutes": 5},
        report_by=["sex", "remit"])
    default = RoundFactory(number=2)
    Round.objects.filter(pk=default.pk).update(checks={"location_field": "place"}, report_by=["sex"])

    migration_0014.sex_question_from_settings(apps, None)

    named.refresh_from_db()
    default.refresh_from_db()
    assert (named.sex_question, named.checks, named.report_by) == (
        "gender", {"sex_values": {"man": "m"}, "min_duration_minutes": 5}, ["sex", "remit"])
    assert (default.sex_question, default.checks, default.report_by) == ("sex", {"location_field": "place"}, [])


@pytest.mark.django_db
def test_migration_0014_counts_the_sex_breakdown_a_round_did_not_keep(rounds):
    def snapshot():
        return {(t.form_id, t.dimension, t.group, t.path, t.value): t.count
                for t in RoundTally.objects.filter(round=rounds)}

    rebuilt = snapshot()
    RoundTally.objects.filter(round=rounds, dimension="sex").delete()  # tallies of a round without "sex" in report_by
    Round.objects.filter(pk=rounds.pk).update(report_by=["remit"])

    migration_0014.sex_question_from_settings(apps, None)

    rounds.refresh_from_db()
    assert (rounds.sex_question, rounds.report_by) == ("sex", ["remit"])
    assert snapshot() == rebuilt  # the sex cells counted again, as a rebuild counts them


@pytest.mark.django_db
def test_changing_the_sex_question_in_the_admin_rebuilds_the_tallies(rounds, admin_client):
    assert not RoundTally.objects.filter(round=rounds, dimension="marital").exists()
    data = {"survey": rounds.survey_id, "number": rounds.number, "title": rounds.title, "status": rounds.status,
            "target_sample": rounds.target_sample, "checks": json.dumps(rounds.checks),
            "privacy": json.dumps(rounds.privacy), "sex_question": "marital", "report_by": "[]"}

    response = admin_client.post(reverse("admin:surveys_round_change", args=[rounds.pk]), data)

    assert response.status_code == 302, response.content.decode()[:2000]
    assert RoundTally.objects.get(round=rounds, dimension="marital", group="married", path="", value="@n").count > 0
    assert not RoundTally.objects.filter(round=rounds, dimension="sex").exists()
