"""The interview_dates check (issue 13, item 11a): interviews dated after they were received (beyond a
tablet's clock skew) or before their round began are flagged with a readable reason; on by default and
switchable per round like the other checks."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from tests.submissions import send_checks_instance as send

pytestmark = pytest.mark.django_db
ALMATY = ZoneInfo("Asia/Almaty")


def flags(sub):
    return {f.check_name: f.reason for f in sub.flags.all()}


def only_dates_check(form, **settings):
    form.round.checks = {"location_field": "place", "enabled": ["interview_dates"], **settings}
    form.round.save()


def test_an_interview_dated_2099_is_flagged(form):
    sub = send(start="2099-01-01T10:00:00.000+05:00", end="2099-01-01T10:40:00.000+05:00")

    received = sub.received_at.astimezone(ALMATY)
    assert flags(sub) == {"interview_dates": (
        f"The interview is dated 2099-01-01 10:40, after it was received ({received:%Y-%m-%d %H:%M}).")}
    assert (sub.processing, sub.review_status) == ("processed", "has_issues")


def test_a_tablet_clock_a_few_hours_ahead_is_allowed_and_the_allowance_is_a_setting(form):
    ahead = timezone.now().astimezone(ALMATY) + dt.timedelta(hours=3)
    start, end = ahead.isoformat(), (ahead + dt.timedelta(minutes=40)).isoformat()
    only_dates_check(form)
    assert flags(send(start=start, end=end)) == {}

    only_dates_check(form, clock_skew_hours=1)
    assert set(flags(send(start=start, end=end, name="Other"))) == {"interview_dates"}


def test_an_interview_before_the_round_began_is_flagged(form):
    form.round.start_date = dt.date(2024, 5, 3)
    form.round.save()

    before = send()
    on_the_day = send(start="2024-05-03T10:00:00.000+05:00", end="2024-05-03T10:40:00.000+05:00", name="Other")

    assert flags(before) == {"interview_dates": "The interview is dated 2024-05-02, before the round started "
                                                "(2024-05-03)."}
    assert flags(on_the_day) == {}


def test_the_check_can_be_switched_off(form):
    form.round.checks = {"location_field": "place", "enabled": ["short_interview"]}
    form.round.start_date = dt.date(2030, 1, 1)
    form.round.save()
    assert flags(send(start="2099-01-01T10:00:00.000+05:00", end="2099-01-01T10:40:00.000+05:00")) == {}
