"""ODK Collect's audit log (ODK documentation, "Form audit log"; ODK XForms "Client Audit Logs") read into an
interview's facts; a malformed file marks the fact unavailable and never fails the interview."""

import datetime as dt
import random

import pytest

from surveys.models import InterviewQuality, Round, Submission
from surveys.services.audit_log import AuditFacts, TrailPoint, audit_log_read
from surveys.services.questionnaires import questionnaire_import
from tests.factories import AssignmentFactory, EnumeratorFactory, RoundFactory, UserFactory, location
from tests.forms import form_bytes
from tests.quality import interview, send

# As Collect writes it with location tracking, track-changes, identify-user and change reasons: a field-list
# screen, a question revisited and changed (its reason given), a pause (form exit, then resume), a jump back.
COLLECT = b"""event,node,start,end,latitude,longitude,accuracy,old-value,new-value,user,change-reason
form start,,1700000000000,,,,,,,enum01,
location tracking enabled,,1700000000000,,,,,,,enum01,
location permissions granted,,1700000000000,,,,,,,enum01,
location providers enabled,,1700000000000,,,,,,,enum01,
location changed,,1700000001000,,43.2500,76.9000,5.0,,,enum01,
question,/data/name,1700000001000,1700000011000,43.2500,76.9000,5.0,,Aziz,enum01,
question,/data/age,1700000011500,1700000019500,43.2501,76.9001,4.0,,30,enum01,
group questions,/data/household[1],1700000020000,1700000050000,43.2501,76.9001,4.0,,,enum01,
question,/data/household[1]/size,1700000020000,1700000050000,43.2501,76.9001,4.0,,"4, with ""guests"" now",enum01,
form save,,1700000050000,,43.2501,76.9001,4.0,,,enum01,
form exit,,1700000050100,,43.2501,76.9001,4.0,,,enum01,
form resume,,1700000650100,,43.2502,76.9002,6.0,,,enum01,
jump,,1700000651000,,43.2502,76.9002,6.0,,,enum01,
question,/data/age,1700000651000,1700000656000,43.2502,76.9002,6.0,30,31,enum01,misheard
end screen,,1700000656500,1700000658500,43.2502,76.9002,6.0,,,enum01,
form save,,1700000658500,,43.2502,76.9002,6.0,,,enum01,Correcting the age
form exit,,1700000658600,,,,,,,enum01,
form finalize,,1700000658600,,,,,,,enum01,
"""
ORDER = ["name", "age", "household", "household/size"]


def test_a_log_as_collect_writes_it_is_read_into_facts():
    facts = audit_log_read(COLLECT, order=ORDER)
    assert facts == AuditFacts(
        available=True, events=18, active_seconds=10 + 8 + 30 + 5,  # the field list's screen once
        question_seconds={"name": 10.0, "age": 13.0, "household/size": 30.0},
        pauses=1, paused_seconds=600.0, backward_jumps=1, changed_answers=1, tracks_changes=True,
        trail=(TrailPoint(1700000001000, 43.25, 76.9, 5.0), TrailPoint(1700000001000, 43.25, 76.9, 5.0),
               TrailPoint(1700000011500, 43.2501, 76.9001, 4.0), TrailPoint(1700000020000, 43.2501, 76.9001, 4.0),
               TrailPoint(1700000020000, 43.2501, 76.9001, 4.0), TrailPoint(1700000050000, 43.2501, 76.9001, 4.0),
               TrailPoint(1700000050100, 43.2501, 76.9001, 4.0), TrailPoint(1700000650100, 43.2502, 76.9002, 6.0),
               TrailPoint(1700000651000, 43.2502, 76.9002, 6.0), TrailPoint(1700000651000, 43.2502, 76.9002, 6.0),
               TrailPoint(1700000656500, 43.2502, 76.9002, 6.0), TrailPoint(1700000658500, 43.2502, 76.9002, 6.0)),
        started_ms=1700000000000, ended_ms=1700000658600)


def test_the_four_column_log_without_location_or_changes_and_with_windows_line_ends():
    data = (b"event,node,start,end\r\nform start,,1700000000000,\r\nquestion,/data/name,1700000001000,1700000004000"
            b"\r\nquestion,/data/age,1700000004000,1700000006500\r\nquestion,/data/name,1700000007000,"
            b"1700000008000\r\nform exit,,1700000009000,\r\n")
    facts = audit_log_read(data)
    assert (facts.available, facts.active_seconds, facts.question_seconds, facts.backward_jumps,
            facts.changed_answers, facts.tracks_changes, facts.trail) == (
        True, 6.5, {"name": 4.0, "age": 2.5}, 1, 0, False, ())


def test_an_idle_gap_between_screens_is_a_pause():
    data = (b"event,node,start,end\nquestion,/data/a,0,1000\nquestion,/data/b,400000,401000\n")
    facts = audit_log_read(data, order=["a", "b"])
    assert (facts.pauses, facts.paused_seconds, facts.backward_jumps) == (1, 399.0, 0)


@pytest.mark.parametrize(("data", "problem"), [
    (b"", "The audit log is empty."),
    (b"\xff\xfe\x00e", "The audit log is not UTF-8 text."),
    (b"event,node,start\nquestion,/data/a,1\n", "The audit log has no end column."),
    (b"when,what\n1,2\n", "The audit log has no event, node, start, end column."),
    (b"event,node,start,end\nquestion,/data/a,soon,later\n", "An audit log time is not a number of milliseconds."),
    (b"event,node,start,end\nquestion,/data/a,5000,1000\n", "An audit log row ends before it starts."),
    (b"event,node,start,end\nquestion,/data/a,,1000\n", "An audit log row has no start time."),
    (b'event,node,start,end\nquestion,"/data/a,1,2\n', "The audit log is not a CSV file."),
    (b"event,node,start,end,latitude,longitude,accuracy\nquestion,/data/a,1,2,north,76.9,5\n",
     "An audit log row has a position that is not a number."),
    (b"event,node,start,end,latitude,longitude,accuracy\nquestion,/data/a,1,2,143.2,76.9,5\n",
     "An audit log row has a position out of range."),
    (b"event,node,start,end\n,/data/a,1,2\n", "An audit log row has no event."),
])
def test_a_malformed_log_is_unavailable_with_a_reason_that_quotes_nothing(data, problem):
    assert audit_log_read(data) == AuditFacts(available=False, problem=problem)


@pytest.fixture
def quality_form(db):
    round_ = RoundFactory()
    round_.checks = {"location_field": "place"}
    round_.save()
    questionnaire_import(source=form_bytes("quality.md"), filename="quality.md", survey_slug="mtm-kz", round_number=4)
    AssignmentFactory(enumerator=EnumeratorFactory(user=UserFactory(username="enum01")),
                      round=round_).locations.add(location("KZ-75"))
    return Round.objects.get(pk=round_.pk)


@pytest.mark.django_db
class TestThroughProcessing:
    def test_the_attachment_is_read_and_old_and_new_values_are_kept_nowhere(self, quality_form):
        item = interview(random.Random(3), day=dt.date(2024, 5, 2), hour=10)
        sub = send(item, "enum01")
        quality = InterviewQuality.objects.get(submission=sub)
        assert (sub.processing, quality.audit, quality.audit_problem, quality.trail_in_area) == (
            "processed", "read", "", True)
        assert quality.active_seconds == pytest.approx(sum(quality.question_seconds.values()), abs=0.01)
        assert set(quality.question_seconds) <= {"place", "sex", "age", "worked", "months", "country", "remit",
                                                 "amount", "return", "docs", "contract", "sat1", "sat2", "sat3",
                                                 "sat4", "comment"} | {f"sat/sat{n}" for n in range(1, 5)}
        assert sub.attachments.get().filename == "audit.csv"
        assert sub.attachments_expected == 1  # Collect's audit.csv is one of the interview's files
        # The stored facts hold no answer (counts, durations, names), nor the trail's positions.
        stored = str(InterviewQuality.objects.filter(submission=sub).values().get())
        assert "43.2" not in stored and "76.8" not in stored and "76.9" not in stored

    def test_a_malformed_audit_log_marks_the_fact_unavailable_and_the_interview_is_processed(self, quality_form):
        item = interview(random.Random(4), day=dt.date(2024, 5, 2), hour=10)
        sub = send(item, "enum01", audit=b"this is not,an audit\nlog")
        quality = InterviewQuality.objects.get(submission=sub)
        assert (sub.processing, sub.validation, sub.processing_error) == ("processed", "valid", "")
        assert (quality.audit, quality.audit_problem, quality.active_seconds) == (
            "unavailable", "The audit log has no event, node, start, end column.", None)
        assert not sub.flags.filter(check_name__in=["fast_answers", "low_active_time"]).exists()

    def test_an_interview_whose_audit_log_never_arrived(self, quality_form):
        from enumerators.models import User
        from surveys.services.ingest import Sender, submission_ingest_xml
        from surveys.services.processing import submission_process
        from tests.quality import instance_xml

        item = interview(random.Random(5), day=dt.date(2024, 5, 2), hour=10)
        sub = submission_ingest_xml(xml=instance_xml(item), sender=Sender(user=User.objects.get(username="enum01")))
        submission_process(submission_id=sub.submission.pk)
        quality = InterviewQuality.objects.get(submission=sub.submission)
        stored = Submission.objects.get(pk=sub.submission.pk)
        assert (stored.processing, stored.attachments_expected, quality.audit, quality.audit_problem) == (
            "processed", 1, "unavailable", "The audit log was not received.")

    def test_processing_twice_changes_nothing(self, quality_form):
        from surveys.models import ScoreCell
        from surveys.services.processing import submission_process

        sub = send(interview(random.Random(6), day=dt.date(2024, 5, 2), hour=10), "enum01")
        cells = sorted(ScoreCell.objects.values_list("kind", "key", "n"))
        quality = InterviewQuality.objects.values().get(submission=sub)
        assert submission_process(submission_id=sub.pk).changed is False
        assert sorted(ScoreCell.objects.values_list("kind", "key", "n")) == cells
        assert InterviewQuality.objects.values().get(submission=sub) == quality


@pytest.mark.django_db
class TestChecksFedByTheLog:
    def test_the_xlsform_min_seconds_column_is_in_the_schema(self, quality_form):
        from surveys.models import Questionnaire

        schema = Questionnaire.objects.get(form_id="quality").schema
        assert {f["name"]: f["min_seconds"] for f in schema["fields"] if "min_seconds" in f} == {"age": 2.0}

    def test_questions_under_the_rounds_minimum(self, quality_form):
        quality_form.checks = {**quality_form.checks, "min_seconds": {"sex": 100, "age": 100, "worked": 100,
                                                                      "remit": 100, "docs": 100, "contract": 100}}
        quality_form.save()
        sub = send(interview(random.Random(8), day=dt.date(2024, 5, 2), hour=10), "enum01")
        assert sub.flags.get(check_name="fast_answers").reason == (
            "6 of 6 timed questions answered faster than their minimum.")

    def test_many_answers_changed_after_moving_on(self, quality_form):
        item = interview(random.Random(10), day=dt.date(2024, 5, 2), hour=10)
        lines = [b"question,/data/" + name.encode() + b",1714626900000,1714626901000,43.25,76.9,5,old,new"
                 for name in ("sex", "age", "worked", "remit", "docs")]
        sub = send(item, "enum01", audit=item.audit + b"\n".join(lines) + b"\n")
        assert sub.flags.get(check_name="changed_answers").reason == (
            "5 answers changed after the enumerator had moved on.")
        assert InterviewQuality.objects.get(submission=sub).changed_answers == 5

    def test_a_trail_that_never_reaches_the_interviews_area(self, quality_form):
        rng = random.Random(11)
        item = interview(rng, day=dt.date(2024, 5, 2), hour=10)
        away = item.audit.replace(b"43.2", b"51.1").replace(b"76.8", b"71.4").replace(b"76.9", b"71.4")
        sub = send(item, "enum01", audit=away)
        quality = InterviewQuality.objects.get(submission=sub)
        assert quality.trail_in_area is False
        assert sub.flags.get(check_name="trail_outside_area").reason == (
            f"None of the {quality.trail_points} points of the location trail is in the interview's area (Almaty).")
