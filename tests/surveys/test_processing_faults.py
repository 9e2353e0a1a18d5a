"""One poison submission does not stop the queue (issue 13, item 2): any step that raises marks that
submission failed with a readable reason, its half-done writes and counts roll back, the queue goes on, and
a failed one is processed again from the admin once the fault is gone."""

import logging
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command

from enumerators.models import User
from mtm.errors import Forbidden
from surveys.models import (
    FlagCount,
    ProgressCount,
    ReviewEvent,
    RoundNumberTally,
    RoundTally,
    Submission,
    SubmissionComment,
    SubmissionFlag,
)
from surveys.services import checks
from surveys.services.ingest import Sender, submission_ingest_xml
from surveys.services.processing import submission_process, submissions_retry
from surveys.services.progress import round_progress_rebuild
from surveys.services.tallies import round_tally_rebuild
from surveys.tasks import submissions_sweep_task
from tests.factories import UserFactory
from tests.submissions import new_instance_id
from tests.submissions import send_checks_instance as send

pytestmark = pytest.mark.django_db

FAULT = "Processing stopped at the checks step (RuntimeError); the server log has the details."


def flags(sub):
    return {f.check_name: f.reason for f in sub.flags.all()}


def counts(round_id):
    """A round's running counts, every column: (tallies with the number sums, progress cells, flag counts)."""
    tallies = sorted(RoundTally.objects.filter(round_id=round_id).values_list("dimension", "group", "path",
                                                                               "value", "count", "number"))
    tallies += sorted((d, g, p, "sums", n, str(Decimal(total).normalize()), str(Decimal(squares).normalize()))
                      for d, g, p, n, total, squares in RoundNumberTally.objects.filter(round_id=round_id)
                      .values_list("dimension", "group", "path", "n", "total", "squares"))
    progress = sorted(ProgressCount.objects.filter(round_id=round_id, count__gt=0)
                      .values_list("user_id", "location_id", "respondent_sex", "review_status", "refused",
                                   "validation", "interview_day", "received_day", "count"))
    flags = sorted(FlagCount.objects.filter(round_id=round_id).values_list("user_id", "review_status", "check_name",
                                                                          "count"))
    return tallies, progress, flags


def rebuilt_counts(round_id):
    round_tally_rebuild(round_id=round_id)
    round_progress_rebuild(round_id=round_id)
    return counts(round_id)


def ingest(*, age="30", name="Aziz", start="2024-05-02T10:00:00.000+05:00", username="enum01"):
    """A checks-form interview stored and left pending (no worker ran)."""
    xml = (f'<data id="checks" version="1"><start>{start}</start><end>2024-05-02T10:40:00.000+05:00</end>'
           f"<place>kz_75</place><gps>43.2500 76.9000 800 5</gps><name>{name}</name><sex>male</sex>"
           f"<age>{age}</age><hours_day>8</hours_day><meta><instanceID>{new_instance_id()}</instanceID></meta>"
           f"</data>").encode()
    return submission_ingest_xml(xml=xml, sender=Sender(user=User.objects.get(username=username))).submission


@pytest.fixture
def faulty_outlier_check(monkeypatch):
    """The outlier check raises on an age of 92, quoting answers in its message (as a careless exception
    would); other interviews pass it."""
    def broken(*, answers, **_):
        if answers.get("age") == 92:
            raise RuntimeError(f"cannot read {answers.get('name')} aged {answers.get('age')}")
        return None

    monkeypatch.setattr(checks, "_outliers", broken)
    return monkeypatch


class TestTimesOutOfRange:
    def test_a_start_in_year_one_with_an_offset_is_processed_with_a_flag(self, form):
        sub = send(start="0001-01-01T00:00:00+05:00")

        assert (sub.processing, sub.processing_error) == ("processed", "")
        assert (sub.started_at, sub.interview_date, sub.review_status) == (None, None, "has_issues")
        assert sub.ended_at.isoformat() == "2024-05-02T05:40:00+00:00"
        assert flags(sub) == {"interview_dates": "The interview's start time is out of range."}

    def test_start_and_end_past_year_9999_in_the_rounds_time_zone(self, form):
        sub = send(start="9999-12-31T23:00:00+00:00", end="9999-12-31T23:30:00Z")

        assert (sub.processing, sub.started_at, sub.ended_at) == ("processed", None, None)
        assert flags(sub) == {"interview_dates": "The interview's start and end times are out of range."}

    def test_the_flag_can_be_switched_off_and_the_interview_is_still_processed(self, form):
        form.round.checks = {"location_field": "place", "enabled": ["short_interview", "outside_hours"]}
        form.round.save()
        sub = send(start="0001-01-01T00:00:00+05:00")
        assert (sub.processing, flags(sub), sub.review_status) == ("processed", {}, None)


class TestAFailingStep:
    def test_marks_the_submission_failed_rolls_back_its_writes_and_keeps_counts_exact(
            self, form, faulty_outlier_check, caplog):
        good = send(name="Other")
        before = counts(form.round_id)
        events = ReviewEvent.objects.count()

        with caplog.at_level(logging.ERROR, logger="surveys.services.processing"):
            failed = send(age="92")

        assert (failed.processing, failed.processing_error) == ("failed", FAULT)
        assert (failed.validation, failed.answers, failed.started_at, failed.review_status) == (
            "pending", None, None, None)
        assert SubmissionFlag.objects.filter(submission=failed).count() == 0
        assert ReviewEvent.objects.count() == events
        tallies, progress, flag_counts = counts(form.round_id)
        assert tallies == before[0]  # a failed one adds nothing to the tables; the dashboard counts it received
        assert flag_counts == before[2] == []  # nor do its flags, rolled back with it
        assert (tallies, progress, flag_counts) == rebuilt_counts(form.round_id)
        assert "checks failed with RuntimeError" in caplog.text
        assert "in broken" in caplog.text  # the traceback: where, not what was answered
        assert "Aziz" not in caplog.text and "aged 92" not in caplog.text
        faulty_outlier_check.undo()
        after = send(name="Third")
        assert (after.processing, flags(after)) == ("processed", {})
        assert counts(form.round_id) == rebuilt_counts(form.round_id)
        assert Submission.objects.get(pk=good.pk).processing == "processed"

    def test_a_processed_submission_that_fails_when_run_again_leaves_the_counts(self, form, monkeypatch):
        sub = send()
        monkeypatch.setattr(checks, "_outliers", lambda **_: 1 / 0)

        outcome = submission_process(submission_id=sub.pk)
        again = submission_process(submission_id=sub.pk)

        assert (outcome.state, outcome.changed, again.changed) == ("failed", True, False)
        assert Submission.objects.get(pk=sub.pk).processing_error == (
            "Processing stopped at the checks step (ZeroDivisionError); the server log has the details.")
        # Its earlier record stands (and counts, as the rebuild counts it); the failed run moved nothing.
        assert counts(form.round_id) == rebuilt_counts(form.round_id)
        assert RoundTally.objects.get(round_id=form.round_id, dimension="", path="", value="@n").count == 1

    def test_the_sweep_does_not_send_a_failed_one_again(self, form, faulty_outlier_check, settings):
        settings.MTM_SWEEP_GRACE_SECONDS = 0
        ingest(age="92")
        assert submissions_sweep_task.delay().get() == 1
        assert Submission.objects.get().processing == "failed"
        assert submissions_sweep_task.delay().get() == 0


def test_process_pending_goes_on_past_a_poison_submission(form, monkeypatch, capsys):
    def poison(*, answers, **_):
        if answers.get("age") == 99:
            raise RuntimeError("poison")
        return None

    monkeypatch.setattr(checks, "_outliers", poison)
    subs = [ingest(name=f"r{n}", age="99" if n == 2 else str(30 + n)) for n in range(7)]

    call_command("process_pending")

    assert capsys.readouterr().out == "pending 7: processed 6, failed 1\n"
    assert [Submission.objects.get(pk=s.pk).processing for s in subs] == ["processed"] * 2 + ["failed"] + [
        "processed"] * 4


class TestProcessAgain:
    @pytest.fixture
    def admin_client(self, client):
        client.force_login(UserFactory(username="admin", is_staff=True, is_superuser=True))
        return client

    def test_from_the_list_once_the_fault_is_gone(self, form, faulty_outlier_check, admin_client,
                                                  django_capture_on_commit_callbacks):
        failed, fine = send(age="92"), send(name="Other")
        faulty_outlier_check.undo()

        with django_capture_on_commit_callbacks(execute=True):
            response = admin_client.post("/admin/surveys/submission/", {
                "action": "process_again", "_selected_action": [failed.pk, fine.pk]})

        assert response.status_code == 302
        failed.refresh_from_db()
        assert (failed.processing, failed.processing_error) == ("processed", "")
        assert flags(failed) == {"outlier": "age 92 is outside 14–80."}
        assert counts(form.round_id)[2] == [(failed.submitted_by_id, "has_issues", "outlier", 1)]
        assert list(SubmissionComment.objects.values_list("submission_id", "author__username", "text")) == [
            (failed.pk, "admin", f"Processing again (it had failed: {FAULT})")]
        assert Submission.objects.get(pk=fine.pk).processed_at == fine.processed_at
        assert counts(form.round_id) == rebuilt_counts(form.round_id)

    def test_from_the_submission_page(self, form, faulty_outlier_check, admin_client,
                                      django_capture_on_commit_callbacks):
        failed = send(age="92")
        page = admin_client.get(f"/admin/surveys/submission/{failed.pk}/change/")
        assert b'id="process-again"' in page.content
        assert FAULT.encode() in page.content
        faulty_outlier_check.undo()

        with django_capture_on_commit_callbacks(execute=True):
            response = admin_client.post(f"/admin/surveys/submission/{failed.pk}/process-again/")

        assert response.status_code == 302
        assert Submission.objects.get(pk=failed.pk).processing == "processed"

    def test_needs_the_review_permission_and_changes_nothing_without_it(self, form, faulty_outlier_check):
        failed = send(age="92")
        viewer = UserFactory(username="viewer", is_staff=True)
        viewer.user_permissions.add(Permission.objects.get(codename="view_submission"))

        with pytest.raises(Forbidden, match="may not process submissions again"):
            submissions_retry(submission_ids=[failed.pk], by=viewer)

        failed.refresh_from_db()
        assert (failed.processing, failed.processing_error) == ("failed", FAULT)
        assert SubmissionComment.objects.count() == 0

    def test_one_whose_raw_data_are_purged_stays_failed(self, form, faulty_outlier_check):
        from django.utils import timezone

        failed = send(age="92")
        Submission.objects.filter(pk=failed.pk).update(raw_purged_at=timezone.now())

        assert submissions_retry(submission_ids=[failed.pk], by=UserFactory(is_superuser=True)) == 0
        assert Submission.objects.get(pk=failed.pk).processing == "failed"

    def test_twice_sends_it_once(self, form, faulty_outlier_check):
        failed = send(age="92")
        reviewer = UserFactory(username="sup1")
        reviewer.user_permissions.add(Permission.objects.get(codename="review_submission"))

        assert submissions_retry(submission_ids=[failed.pk], by=reviewer) == 1
        assert submissions_retry(submission_ids=[failed.pk], by=reviewer) == 0
        assert Submission.objects.get(pk=failed.pk).processing == "pending"
        assert SubmissionComment.objects.count() == 1
