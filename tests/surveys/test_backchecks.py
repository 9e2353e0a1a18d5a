"""Back-checks: the draw is reproducible from its seed and takes k % of each enumerator's interviews (rounded up,
flagged ones weighing more); the comparison is exact on a hand-computed fixture; above the round's threshold the
original is flagged; the list and the API show no answer."""

import datetime as dt
import math
import random

import pytest

from mtm.errors import Forbidden
from surveys.models import BackCheck, Round, Submission
from surveys.round_settings import QualitySettings
from surveys.services.ingest import Sender, submission_ingest_xml
from surveys.services.processing import submission_process
from surveys.services.progress import round_progress_rebuild
from surveys.services.quality.backchecks import answers_compare, backchecks_draw
from surveys.services.questionnaires import questionnaire_import
from tests.factories import AssignmentFactory, EnumeratorFactory, RoundFactory, UserFactory, location
from tests.forms import form_bytes
from tests.quality import backcheck_xml, interview, send

COUNTS = {"enum01": 10, "enum02": 7, "enum03": 3}


@pytest.fixture
def collected(db):
    round_ = RoundFactory()
    round_.checks = {"location_field": "place", "backcheck_percent": 25, "backcheck_seed": "alpha"}
    round_.save()
    for name in ("quality.md", "quality_backcheck.md"):
        questionnaire_import(source=form_bytes(name), filename=name, survey_slug="mtm-kz", round_number=4)
    for username in [*COUNTS, "checker"]:
        AssignmentFactory(enumerator=EnumeratorFactory(user=UserFactory(username=username)),
                          round=round_).locations.add(location("KZ-75"))
    rng = random.Random(1)
    sent = {}
    for username, count in COUNTS.items():
        for n in range(count):
            item = interview(rng, day=dt.date(2024, 5, 2 + n % 5), hour=10)
            sent[send(item, username).instance_id] = item
    return Round.objects.get(pk=round_.pk), sent


def _drawn(round_):
    return sorted(BackCheck.objects.filter(round=round_).values_list("original__instance_id", flat=True))


def _set_checks(round_, **values):
    round_.checks = {**round_.checks, **values}
    round_.save(update_fields=["checks"])


@pytest.mark.django_db
class TestDraw:
    def test_k_percent_of_each_enumerator_rounded_up_and_drawing_again_draws_none(self, collected):
        round_, _ = collected
        assert backchecks_draw(round_id=round_.pk) == 3 + 2 + 1  # ceil(25 % of 10, 7 and 3)
        per = {u: BackCheck.objects.filter(round=round_, original__submitted_by__username=u).count() for u in COUNTS}
        assert per == {u: math.ceil(0.25 * n) for u, n in COUNTS.items()}
        assert backchecks_draw(round_id=round_.pk) == 0

    def test_the_same_seed_draws_the_same_interviews_and_another_seed_others(self, collected):
        round_, _ = collected
        backchecks_draw(round_id=round_.pk)
        first = _drawn(round_)
        BackCheck.objects.filter(round=round_).delete()
        backchecks_draw(round_id=round_.pk)
        assert _drawn(round_) == first
        BackCheck.objects.filter(round=round_).delete()
        _set_checks(round_, backcheck_seed="beta")
        backchecks_draw(round_id=round_.pk)
        assert _drawn(round_) != first and len(_drawn(round_)) == len(first)

    def test_flagged_interviews_weigh_more(self, collected):
        round_, _ = collected
        enum01 = Submission.objects.filter(round=round_, submitted_by__username="enum01").order_by("pk")
        flagged = list(enum01[:3])
        for sub in flagged:
            sub.flags.create(check_name="short_interview", reason="The interview took 3 minutes.")
        _set_checks(round_, backcheck_flagged_weight=1e6)
        backchecks_draw(round_id=round_.pk)
        assert set(BackCheck.objects.filter(round=round_, enumerator_id=flagged[0].submitted_by_id)
                   .values_list("original_id", flat=True)) == {s.pk for s in flagged}
        assert BackCheck.objects.get(original=flagged[0]).weight == 1e6

    def test_more_interviews_later_draw_only_the_difference(self, collected):
        round_, _ = collected
        backchecks_draw(round_id=round_.pk)
        before = _drawn(round_)
        _set_checks(round_, backcheck_percent=50)
        assert backchecks_draw(round_id=round_.pk) == (5 - 3) + (4 - 2) + (2 - 1)
        assert set(before) <= set(_drawn(round_))

    def test_none_without_a_percentage_and_an_enumerator_may_not_draw(self, collected):
        round_, _ = collected
        with pytest.raises(Forbidden):
            backchecks_draw(round_id=round_.pk, by=UserFactory(username="enum01"))
        _set_checks(round_, backcheck_percent=0)
        assert backchecks_draw(round_id=round_.pk) == 0
        assert not BackCheck.objects.exists()


SCHEMA = {"root": "data", "fields": [
    {"path": "resp/sex", "name": "sex", "type": "select_one"},
    {"path": "resp/age", "name": "age", "type": "integer"},
    {"path": "income", "name": "income", "type": "decimal"},
    {"path": "langs", "name": "langs", "type": "select_multiple"},
    {"path": "city", "name": "city", "type": "text"},
    {"path": "arrived", "name": "arrived", "type": "date"},
    {"path": "gps", "name": "gps", "type": "geopoint"},
    {"path": "note1", "name": "note1", "type": "note"},
    {"path": "phone", "name": "phone", "type": "text"},
    {"path": "only_here", "name": "only_here", "type": "integer"},
]}
BACKCHECK_SCHEMA = {"root": "data", "fields": [
    {"path": "original_instance_id", "name": "original_instance_id", "type": "text"},
    {"path": "sex", "name": "sex", "type": "select_one"},
    {"path": "age", "name": "age", "type": "integer"},
    {"path": "income", "name": "income", "type": "decimal"},
    {"path": "langs", "name": "langs", "type": "select_multiple"},
    {"path": "city", "name": "city", "type": "text"},
    {"path": "arrived", "name": "arrived", "type": "date"},
    {"path": "gps", "name": "gps", "type": "geopoint"},
    {"path": "phone", "name": "phone", "type": "integer"},
]}


def test_the_comparison_on_a_hand_computed_fixture():
    original = {"resp/sex": "male", "resp/age": 40, "income": 1000.0, "langs": "ru kk", "city": "Almaty ",
                "arrived": "2024-01-05", "gps": "43.2 76.9 0 0", "phone": "+7700", "only_here": 3}
    backcheck = {"original_instance_id": "uuid:x", "sex": "female", "age": 43, "income": 1090.0,
                 "langs": "kk ru", "city": "almaty", "arrived": "2024-01-06", "gps": "51.1 71.4 0 0", "phone": 7700}
    settings = QualitySettings(backcheck_tolerances={"age": 2})
    result = answers_compare(original=original, backcheck=backcheck, original_schema=SCHEMA,
                             backcheck_schema=BACKCHECK_SCHEMA, settings=settings)
    # sex differs (exact); age 40 vs 43 beyond ±2; income 1000 vs 1090 within 10 %; langs the same set;
    # city the same trimmed and case-folded; arrived differs; gps, notes, the link field, a question of one
    # form only, and one whose type differs (phone) are not compared.
    assert result.result == {
        "sex": {"type": "select_one", "differs": True}, "age": {"type": "integer", "differs": True},
        "income": {"type": "decimal", "differs": False}, "langs": {"type": "select_multiple", "differs": False},
        "city": {"type": "text", "differs": False}, "arrived": {"type": "date", "differs": True}}
    assert (result.compared, result.differing) == (6, 3)


def test_blank_in_both_is_not_compared_and_blank_in_one_differs():
    result = answers_compare(original={"resp/sex": "male", "resp/age": None}, backcheck={"sex": "", "age": None},
                             original_schema=SCHEMA, backcheck_schema=BACKCHECK_SCHEMA, settings=QualitySettings())
    assert (result.compared, result.differing, result.result) == (1, 1, {"sex": {"type": "select_one",
                                                                                 "differs": True}})


@pytest.mark.django_db
class TestThroughProcessing:
    def _backcheck(self, item, answers):
        sender = Sender(user=UserFactory(username="checker"))
        sub = submission_ingest_xml(xml=backcheck_xml(item, answers), sender=sender).submission
        submission_process(submission_id=sub.pk)
        return Submission.objects.get(pk=sub.pk)

    def test_a_back_check_within_the_threshold_and_one_above_it(self, collected):
        _, sent = collected
        instance_id, item = next(iter(sent.items()))
        original = Submission.objects.get(instance_id=instance_id)
        check = self._backcheck(item, dict(item.answers))
        row = BackCheck.objects.get(original=original)
        assert (row.backcheck_id, row.sampled, row.differing, row.flagged) == (check.pk, False, 0, False)
        assert row.compared == sum(1 for n in ("sex", "age", "worked", "months", "remit", "docs", "comment")
                                   if item.answers.get(n))
        assert not original.flags.filter(check_name="backcheck_differs").exists()

        changed = {**item.answers, "sex": "female" if item.answers["sex"] == "male" else "male",
                   "age": str(int(item.answers["age"]) + 20)}
        self._backcheck(item, changed)
        row.refresh_from_db()
        assert (row.differing, row.flagged) == (2, True)
        assert original.flags.get(check_name="backcheck_differs").reason == (
            f"The back-check differs on 2 of {row.compared} questions compared "
            f"({100 * 2 / row.compared:.0f} %): age, sex.")
        # The dashboard's flag counts take it in, as a recount does.
        kept = _flag_counts(original.round_id)
        assert (original.submitted_by_id, original.review_status or "", "backcheck_differs", 1) in kept
        round_progress_rebuild(round_id=original.round_id)
        assert _flag_counts(original.round_id) == kept
        # Processing the original again keeps the flag (the check reads the comparison).
        submission_process(submission_id=original.pk)
        assert original.flags.filter(check_name="backcheck_differs").exists()
        # The back-check interview itself is not counted in the scorecard.
        assert not check.quality.counted

    def test_a_back_check_within_the_threshold_again_clears_the_flag_and_its_count(self, collected):
        _, sent = collected
        instance_id, item = next(iter(sent.items()))
        original = Submission.objects.get(instance_id=instance_id)
        before = _flag_counts(original.round_id)
        changed = {**item.answers, "sex": "female" if item.answers["sex"] == "male" else "male",
                   "age": str(int(item.answers["age"]) + 20)}
        self._backcheck(item, changed)
        assert _flag_counts(original.round_id) != before

        self._backcheck(item, dict(item.answers))

        assert not original.flags.filter(check_name="backcheck_differs").exists()
        assert _flag_counts(original.round_id) == before

    def test_an_original_and_its_back_check_writing_one_flag_in_a_batch_are_processed_one_by_one(self, collected):
        """An original whose stored flag is gone while its comparison still differs, processed again in one
        batch with its back-check: both would add the flag (the batch's bulk write breaks the one-flag-per-check
        constraint). The batch is rolled back and its interviews processed one by one: the flag once, every
        interview processed, the flag counts as a recount gives them."""
        from django.db import transaction

        from surveys.services.counts import counts_flag_changed
        from surveys.services.pending import submissions_pending_again
        from surveys.services.processing import submissions_process_pending

        _, sent = collected
        instance_id, item = next(iter(sent.items()))
        original = Submission.objects.get(instance_id=instance_id)
        changed = {**item.answers, "sex": "female" if item.answers["sex"] == "male" else "male",
                   "age": str(int(item.answers["age"]) + 20)}
        check = self._backcheck(item, changed)
        with transaction.atomic():
            locked = Submission.objects.select_for_update().get(pk=original.pk)
            counts_flag_changed(locked, check="backcheck_differs", added=False)
            locked.flags.filter(check_name="backcheck_differs").delete()
            submissions_pending_again(Submission.objects.select_for_update().filter(pk__in=[original.pk, check.pk]))

        outcomes = submissions_process_pending(limit=50)

        assert sorted((o.submission_id, o.state) for o in outcomes) == [(original.pk, "processed"),
                                                                        (check.pk, "processed")]
        assert original.flags.filter(check_name="backcheck_differs").count() == 1
        kept = _flag_counts(original.round_id)
        assert (original.submitted_by_id, "has_issues", "backcheck_differs", 1) in kept
        round_progress_rebuild(round_id=original.round_id)
        assert _flag_counts(original.round_id) == kept

    def test_a_back_check_naming_an_unknown_interview_is_left_alone(self, collected):
        _, sent = collected
        item = next(iter(sent.values()))
        from dataclasses import replace

        stranger = replace(item, instance_id="uuid:00000000-0000-0000-0000-000000000000")
        check = self._backcheck(stranger, dict(item.answers))
        assert check.processing == "processed" and not BackCheck.objects.exists()


def _flag_counts(round_id):
    from surveys.models import FlagCount

    return sorted(FlagCount.objects.filter(round_id=round_id).values_list("user_id", "review_status", "check_name",
                                                                          "count"))
