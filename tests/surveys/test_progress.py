"""The collection dashboard's figures (surveys.selectors.progress.round_progress), per role."""

import datetime as dt

import pytest

from mtm.errors import Forbidden, NotFound
from surveys.models import Submission
from surveys.selectors.progress import round_progress
from surveys.services.review import submission_review
from tests.factories import UserFactory


def enumerator_rows(progress):
    return [(e.username, e.quota.done, e.quota.target, e.quota.male, e.quota.female, e.expected, e.behind,
             e.waiting_review) for e in progress.enumerators]


def location_rows(progress):
    return [(loc.code, loc.quota.done, loc.quota.target, loc.quota.male, loc.quota.female)
            for loc in progress.locations]


@pytest.mark.django_db
class TestRoundProgress:
    def test_coordinator_sees_the_whole_round(self, teams):
        p = round_progress(user=teams.users.admin, round_id=teams.round.pk)

        assert (p.received_today, p.received_week, p.received_total) == (7, 7, 7)
        assert (p.quota.done, p.quota.target, p.quota.percent, p.expected) == (6, 40, 15, 20)
        assert (p.quota.male, p.quota.male_target, p.quota.female, p.quota.female_target) == (4, 17, 2, 5)
        assert p.quota.male_share == 67
        assert p.review == {"none": 4, "has_issues": 2, "not_approved": 1}
        # Waiting for review: never reviewed (4) and has issues (2); the rejected one is decided.
        assert (p.waiting_review, p.flags) == (6, [("gps_outside_area", 1), ("outlier", 1)])
        assert p.standing == {"counted": 6, "rejected": 1}
        assert p.not_counted == [("unprocessed", "Not processed yet", 0), ("refused", "Refused consent", 0),
                                 ("rejected", "Rejected (not approved)", 1), ("invalid", "Invalid, not approved", 0)]
        assert p.timeline == [(dt.date(2024, 5, 2), 7)]  # the day the interviews were done
        assert enumerator_rows(p) == [("enum01", 4, 10, 3, 1, 5, True, 4), ("enum02", 1, 10, 1, 0, 5, True, 1),
                                      ("enum03", 1, 2, 0, 1, 1, False, 1), ("enum04", 0, 0, 0, 0, None, False, 0)]
        # Behind: enum02 is 4 short, enum01 1 short (the furthest behind first).
        assert [(e.username, e.shortfall) for e in p.behind] == [("enum02", 4), ("enum01", 1)]
        assert location_rows(p) == [("KZ-71", 2, 6, 1, 1), ("KZ-75", 4, 16, 3, 1)]
        assert p.team_only is False

    def test_supervisor_sees_their_team_only(self, teams):
        p = round_progress(user=teams.users.supA, round_id=teams.round.pk)

        assert (p.received_total, p.quota.done, p.quota.target, p.expected) == (5, 5, 20, 10)
        assert p.review == {"none": 3, "has_issues": 2}
        assert enumerator_rows(p) == [("enum01", 4, 10, 3, 1, 5, True, 4), ("enum02", 1, 10, 1, 0, 5, True, 1)]
        assert location_rows(p) == [("KZ-71", 1, 4, 1, 0), ("KZ-75", 4, 16, 3, 1)]
        assert p.flags == [("gps_outside_area", 1), ("outlier", 1)]
        assert p.team_only is True

    def test_other_supervisor_sees_theirs(self, teams):
        p = round_progress(user=teams.users.supB, round_id=teams.round.pk)

        assert (p.received_total, p.quota.done, p.quota.target) == (2, 1, 2)
        assert p.review == {"none": 1, "not_approved": 1}
        assert p.flags == []
        assert [e.username for e in p.enumerators] == ["enum03", "enum04"]

    def test_each_supervisor_sees_their_team_s_flags_only(self, teams):
        from tests.submissions import send_checks_instance

        send_checks_instance("enum03", name="Old", sex="female", place="kz_71", gps="51.1600 71.4700 350 5", age="92")

        assert round_progress(user=teams.users.supB, round_id=teams.round.pk).flags == [("outlier", 1)]
        assert round_progress(user=teams.users.supA, round_id=teams.round.pk).flags == [
            ("gps_outside_area", 1), ("outlier", 1)]
        assert round_progress(user=teams.users.admin, round_id=teams.round.pk).flags == [
            ("outlier", 2), ("gps_outside_area", 1)]

    def test_approving_a_flagged_interview_leaves_the_waiting_list(self, teams):
        flagged = teams.subs.a1[2]
        submission_review(submission_id=flagged.pk, status="approved", by=teams.users.supA)

        p = round_progress(user=teams.users.supA, round_id=teams.round.pk)
        assert (p.waiting_review, p.flags) == (4, [("gps_outside_area", 1)])
        assert p.review == {"none": 3, "has_issues": 1, "approved": 1}

    def test_rejecting_takes_an_interview_off_the_quota(self, teams):
        submission_review(submission_id=teams.subs.a1[0].pk, status="not_approved", by=teams.users.supA)

        p = round_progress(user=teams.users.supA, round_id=teams.round.pk)
        assert (p.received_total, p.quota.done, p.quota.male) == (5, 4, 3)

    def test_a_round_outside_the_team_is_not_found(self, teams):
        with pytest.raises(NotFound):
            round_progress(user=teams.users.supA, round_id=teams.other_round.pk)
        assert round_progress(user=teams.users.supB, round_id=teams.other_round.pk).received_total == 0

    def test_an_enumerator_may_not_see_it(self, teams):
        with pytest.raises(Forbidden):
            round_progress(user=UserFactory(username="enum01"), round_id=teams.round.pk)

    def test_without_dates_nobody_is_behind(self, teams):
        teams.round.start_date = teams.round.end_date = None
        teams.round.save()

        p = round_progress(user=teams.users.admin, round_id=teams.round.pk)
        assert (p.expected, p.behind) == (None, [])


@pytest.mark.django_db
class TestRespondentSex:
    def test_taken_from_the_select_one_named_sex(self, teams):
        assert [s.respondent_sex for s in teams.subs.a1] == ["m", "m", "m", "f"]

    def test_a_round_can_name_the_question_and_its_values(self, form):
        from tests.submissions import send_checks_instance

        form.round.sex_question = "place"
        form.round.checks = {**form.round.checks, "sex_values": {"kz_75": "f"}}
        form.round.save()

        assert send_checks_instance(sex="male").respondent_sex == "f"
        assert send_checks_instance(place="kz_71", name="Other").respondent_sex == ""

    def test_a_refusal_keeps_none(self, privacy_form):
        from tests.submissions import send_privacy_instance

        assert send_privacy_instance(consent="no").respondent_sex == ""
        assert Submission.objects.get().consent is False


def cells(round_id):
    """The counts, each enumerator's latest arrival (a cell keeps the latest arrival it ever counted;
    per enumerator that is the latest of their submissions), and the flag counts."""
    from django.db.models import Max

    from surveys.models import ProgressCount

    rows = ProgressCount.objects.filter(round_id=round_id)
    return (sorted(rows.values_list("user_id", "location_id", "respondent_sex", "review_status", "refused",
                                    "interview_day", "received_day", "count", "slot")),
            sorted(rows.values_list("user_id").annotate(last=Max("last_received")).order_by()),
            flag_cells(round_id))


def flag_cells(round_id):
    """The flag counts as (sender's username, review state, check, flags)."""
    from enumerators.models import User
    from surveys.models import FlagCount

    names = dict(User.objects.values_list("pk", "username"))
    return sorted((names.get(user_id, user_id), status, check, n) for user_id, status, check, n in
                  FlagCount.objects.filter(round_id=round_id).values_list("user_id", "review_status", "check_name",
                                                                          "count"))


def _edited(old, *, day, place, gps, name, age, instance_id):
    """enum01's edit of ``old`` (a checks-form interview), stored and processed."""
    from enumerators.models import User
    from surveys.services.ingest import Sender, submission_ingest_xml
    from surveys.services.processing import submission_process

    xml = (f'<data id="checks" version="1"><start>{day}T10:00:00.000+05:00</start>'
           f"<end>{day}T10:40:00.000+05:00</end><place>{place}</place><gps>{gps}</gps>"
           f"<name>{name}</name><sex>male</sex><age>{age}</age><hours_day>8</hours_day><meta>"
           f"<instanceID>{instance_id}</instanceID><deprecatedID>{old.instance_id}</deprecatedID></meta></data>")
    edit = submission_ingest_xml(xml=xml.encode(), sender=Sender(user=User.objects.get(username="enum01")))
    submission_process(submission_id=edit.submission.pk)


@pytest.mark.django_db
class TestProgressCounts:
    """The running counts the dashboard reads equal a recount from the submissions, whatever happened."""

    def test_after_ingest_processing_and_reviews(self, teams):
        from surveys.services.progress import round_progress_rebuild

        kept = cells(teams.round.pk)
        assert sum(c[7] for c in kept[0]) == 7
        assert kept[2] == [("enum01", "has_issues", "outlier", 1), ("enum02", "has_issues", "gps_outside_area", 1)]
        assert round_progress_rebuild(round_id=teams.round.pk) == 7
        assert cells(teams.round.pk) == kept

    def test_after_an_edit_a_rejection_and_a_clear(self, teams):
        from surveys.services.progress import round_progress_rebuild

        _edited(teams.subs.a1[3], day="2024-05-03", place="kz_71", gps="51.1500 71.4500 350 5", name="R4", age=40,
                instance_id="uuid:edit-1")
        submission_review(submission_id=teams.subs.a1[0].pk, status="not_approved", by=teams.users.supA)
        submission_review(submission_id=teams.subs.a1[2].pk, status=None, by=teams.users.admin)
        kept = cells(teams.round.pk)
        # The outlier's flag moved with its cleared review state; the edited interview's flags left with it.
        assert kept[2] == [("enum01", "", "outlier", 1), ("enum02", "has_issues", "gps_outside_area", 1)]

        assert round_progress_rebuild(round_id=teams.round.pk) == 7
        assert cells(teams.round.pk) == kept
        p = round_progress(user=teams.users.supA, round_id=teams.round.pk)
        assert (p.received_total, p.quota.done, p.quota.male, p.quota.female) == (5, 4, 4, 0)
        assert p.timeline == [(dt.date(2024, 5, 2), 4), (dt.date(2024, 5, 3), 1)]

    def test_an_edit_that_clears_a_flag_takes_it_off_the_flag_counts(self, teams):
        from surveys.services.progress import round_progress_rebuild

        outlier = teams.subs.a1[2]
        _edited(outlier, day="2024-05-02", place="kz_75", gps="43.2500 76.9000 800 5", name="R3", age=52,
                instance_id="uuid:edit-3")
        kept = cells(teams.round.pk)

        assert Submission.objects.get(pk=outlier.pk).flags.count() == 1  # the replaced version keeps its flag
        assert kept[2] == [("enum02", "has_issues", "gps_outside_area", 1)]
        assert round_progress(user=teams.users.admin, round_id=teams.round.pk).flags == [("gps_outside_area", 1)]
        round_progress_rebuild(round_id=teams.round.pk)
        assert cells(teams.round.pk) == kept

    def test_one_sender_s_waiting_posts_count_in_slots_by_id_until_processed(self, teams):
        """Posts of one account wait to be processed in 16 cells by id (not one row every post would lock);
        the dashboard sums them, a rebuild gives the same rows, and processing moves them out."""
        from enumerators.models import User
        from surveys.models import ProgressCount
        from surveys.services.processing import submissions_process
        from surveys.services.progress import round_progress_rebuild
        from tests.submissions import store_checks_instance

        enum01 = User.objects.get(username="enum01")
        ids = [store_checks_instance(name=f"W{n}", sex="female").pk for n in range(20)]  # stored only
        waiting = ProgressCount.objects.filter(round_id=teams.round.pk, validation="pending")
        expected = {slot: sum(1 for pk in ids if pk % 16 == slot) for slot in {pk % 16 for pk in ids}}

        assert dict(waiting.values_list("slot", "count")) == expected
        assert set(waiting.values_list("user_id", "location_id", "interview_day")) == {(enum01.pk, 0, "")}
        p = round_progress(user=teams.users.admin, round_id=teams.round.pk)
        assert (p.received_total, p.not_counted[0][2]) == (27, 20)
        kept = cells(teams.round.pk)
        round_progress_rebuild(round_id=teams.round.pk)
        assert cells(teams.round.pk) == kept

        submissions_process(submission_ids=ids)
        assert not waiting.exists()
        assert set(ProgressCount.objects.filter(round_id=teams.round.pk).values_list("slot", flat=True)) == {0}
        p = round_progress(user=teams.users.admin, round_id=teams.round.pk)
        assert (p.received_total, p.quota.female, p.not_counted[0][2]) == (27, 22, 0)
        kept = cells(teams.round.pk)
        round_progress_rebuild(round_id=teams.round.pk)
        assert cells(teams.round.pk) == kept

    def test_rebuilding_twice_gives_the_same_rows(self, teams):
        from surveys.services.progress import round_progress_rebuild

        round_progress_rebuild(round_id=teams.round.pk)
        first = cells(teams.round.pk)
        round_progress_rebuild(round_id=teams.round.pk)
        assert cells(teams.round.pk) == first


@pytest.mark.django_db
def test_the_dashboard_costs_the_same_queries_whatever_the_round_size(teams, django_assert_num_queries):
    from tests.submissions import send_checks_instance

    with django_assert_num_queries(9):
        round_progress(user=teams.users.admin, round_id=teams.round.pk)
    for n in range(5):
        send_checks_instance("enum02", name=f"More{n}")
    with django_assert_num_queries(9):
        assert round_progress(user=teams.users.admin, round_id=teams.round.pk).received_total == 12
