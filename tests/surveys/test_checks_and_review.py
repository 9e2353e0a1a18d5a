"""Quality checks and the review workflow, through processing."""

import pytest
from django.contrib.auth.models import Permission

from mtm.errors import Forbidden, InvalidInput
from surveys.models import ReviewEvent, Round, Submission, SubmissionComment
from surveys.services.processing import submission_process
from surveys.services.review import submission_comment_add, submission_review
from tests.factories import UserFactory
from tests.submissions import ALMATY_CENTRE, ASTANA_CENTRE
from tests.submissions import send_checks_instance as send


def flags(sub):
    return {f.check_name: f.reason for f in sub.flags.all()}


@pytest.mark.django_db
class TestChecks:
    def test_a_clean_interview_has_no_flags_and_no_review_state(self, form):
        sub = send()
        assert (sub.validation, flags(sub), sub.review_status) == ("valid", {}, None)
        assert sub.location.code == "KZ-75"
        assert (sub.started_at.isoformat(), sub.ended_at.isoformat()) == ("2024-05-02T05:00:00+00:00",
                                                                          "2024-05-02T05:40:00+00:00")

    def test_short_interview(self, form):
        sub = send(end="2024-05-02T10:06:00.000+05:00")
        assert flags(sub) == {"short_interview": "The interview took 6 minutes; the round expects at least 10."}

    def test_interview_ending_before_it_starts(self, form):
        sub = send(end="2024-05-02T09:00:00.000+05:00")
        assert flags(sub) == {"short_interview": "The interview ends before it starts."}

    def test_outside_collection_hours(self, form):
        sub = send(start="2024-05-02T22:30:00.000+05:00", end="2024-05-02T23:10:00.000+05:00")
        assert flags(sub) == {"outside_hours": "Started at 22:30, outside collection hours 07:00–21:00."}

    def test_gps_outside_the_answered_location(self, form):
        sub = send(gps=ASTANA_CENTRE)
        assert flags(sub) == {"gps_outside_area": "The GPS point is outside the interview's area (Almaty)."}
        assert flags(send(place="kz_71", gps=ASTANA_CENTRE)) == {}

    def test_gps_checked_against_a_region_box_and_the_assignment_without_a_location_answer(self, form):
        assert flags(send(place="kz_11", gps="52.3 70.5 300 5")) == {}
        assert "gps_outside_area" in flags(send(place="kz_11", gps=ALMATY_CENTRE))
        Round.objects.filter(pk=form.round_id).update(checks={})
        assert flags(send(gps=ASTANA_CENTRE)) == {
            "gps_outside_area": "The GPS point is outside the interview's area (Almaty)."}

    def test_duplicate_respondent_within_the_round(self, form):
        first = send(name="Aziz", age="30")
        again = send("enum02", name=" aziz ", age="30")
        other = send("enum02", name="Aziz", age="31")

        assert flags(first) == {}
        assert flags(again) == {"duplicate_respondent": (
            f"The same respondent as {first.instance_id} (sent by enum01 on "
            f"{first.received_at:%Y-%m-%d}).")}
        assert flags(other) == {}
        assert len(first.fingerprint) == 64
        assert "Aziz" not in flags(again)["duplicate_respondent"]

    def test_numeric_outliers(self, form):
        sub = send(age="92", hours="18")
        assert flags(sub) == {"outlier": "age 92 is outside 14–80; hours_day 18 is outside 0–16."}

    def test_enumerators_daily_count_far_above_the_team(self, form):
        Round.objects.filter(pk=form.round_id).update(checks={"location_field": "place", "daily_minimum": 4,
                                                              "enabled": ["high_daily_count"]})
        for username in ("enum02", "enum03", "enum04"):
            send(username, name=username)
        busy = [send("enum01", name=f"r{n}") for n in range(4)]
        assert [flags(s) for s in busy[:3]] == [{}, {}, {}]
        assert flags(busy[3]) == {
            "high_daily_count": "4 interviews on 2024-05-02, more than 3 times the team's median of 1."}

    def test_checks_can_be_switched_off_per_round(self, form):
        Round.objects.filter(pk=form.round_id).update(checks={"enabled": []})
        assert flags(send(end="2024-05-02T10:01:00.000+05:00", age="99")) == {}

    def test_processing_twice_changes_nothing(self, form):
        sub = send(age="92")
        events = ReviewEvent.objects.count()
        outcome = submission_process(submission_id=sub.pk)
        assert outcome.changed is False
        assert ReviewEvent.objects.count() == events
        assert flags(Submission.objects.get(pk=sub.pk)) == flags(sub)


@pytest.fixture
def reviewer(db):
    user = UserFactory(username="sup1")
    user.user_permissions.add(Permission.objects.get(codename="review_submission"))
    return user


@pytest.mark.django_db
class TestReview:
    def test_failed_checks_set_has_issues_by_the_system(self, form):
        sub = send(age="92")
        event = sub.review_events.get()
        assert sub.review_status == "has_issues"
        assert (event.actor, event.from_status, event.to_status, event.comment) == (
            None, None, "has_issues", "age 92 is outside 14–80.")

    def test_invalid_submission_gets_has_issues_with_its_problem(self, form):
        sub = send(age="old")
        assert (sub.validation, sub.review_status) == ("invalid", "has_issues")
        assert sub.problems == [{"path": "age", "code": "type", "message": "Age: 'old' is not a whole number."}]

    def test_state_changes_are_audited(self, form, reviewer):
        sub = send(age="92")
        submission_review(submission_id=sub.pk, status="on_hold", by=reviewer, comment="Call the enumerator")
        submission_review(submission_id=sub.pk, status="approved", by=reviewer)
        submission_review(submission_id=sub.pk, status="approved", by=reviewer)
        submission_review(submission_id=sub.pk, status="not_approved", by=reviewer, comment="Fabricated")

        sub.refresh_from_db()
        assert (sub.review_status, sub.reviewed_by) == ("not_approved", reviewer)
        assert [(e.actor.username if e.actor else None, e.from_status, e.to_status, e.comment)
                for e in sub.review_events.all()] == [
            (None, None, "has_issues", "age 92 is outside 14–80."),
            ("sup1", "has_issues", "on_hold", "Call the enumerator"),
            ("sup1", "on_hold", "approved", ""),
            ("sup1", "approved", "not_approved", "Fabricated"),
        ]
        assert list(SubmissionComment.objects.values_list("text", flat=True)) == ["Call the enumerator",
                                                                                  "Fabricated"]
        assert Submission.objects.filter(pk=sub.pk).exists()

    def test_reprocessing_never_overrides_a_human_decision(self, form, reviewer):
        sub = send(age="92")
        submission_review(submission_id=sub.pk, status="approved", by=reviewer)
        submission_process(submission_id=sub.pk)
        assert Submission.objects.get(pk=sub.pk).review_status == "approved"

    def test_rejected_submissions_do_not_count_as_duplicates(self, form, reviewer):
        first = send(name="Aziz")
        submission_review(submission_id=first.pk, status="not_approved", by=reviewer)
        assert flags(send("enum02", name="Aziz")) == {}

    def test_refusals_change_nothing(self, form, reviewer):
        sub = send()
        enumerator = UserFactory(username="enum09")
        with pytest.raises(Forbidden):
            submission_review(submission_id=sub.pk, status="approved", by=enumerator)
        with pytest.raises(InvalidInput):
            submission_review(submission_id=sub.pk, status="has_issues", by=reviewer)
        with pytest.raises(Forbidden):
            submission_comment_add(submission_id=sub.pk, by=enumerator, text="x")
        assert (Submission.objects.get(pk=sub.pk).review_status, ReviewEvent.objects.count(),
                SubmissionComment.objects.count()) == (None, 0, 0)

    def test_comment_thread(self, form, reviewer):
        sub = send()
        submission_comment_add(submission_id=sub.pk, by=reviewer, text="  Please check the age  ")
        assert list(sub.comments.values_list("author__username", "text")) == [("sup1", "Please check the age")]
