"""Done when (issue 17): one honest team and one fabricator, audit logs in Collect's format; the checks and the
scorecard single out the fabricator on every measure while flagging fewer than 5 % of the honest interviews."""

import datetime as dt
import random
from collections import Counter

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from surveys.models import BackCheck, InterviewQuality, ReviewEvent, Round, ScoreCell, Submission, SubmissionFlag
from surveys.selectors.scorecard import MEASURES, round_scorecard
from surveys.services.ingest import Sender, submission_ingest_xml
from surveys.services.processing import submission_process
from surveys.services.quality.backchecks import backchecks_draw
from surveys.services.quality.cells import round_scorecard_rebuild
from surveys.services.questionnaires import questionnaire_import
from tests.factories import AssignmentFactory, EnumeratorFactory, RoundFactory, UserFactory, location
from tests.forms import form_bytes
from tests.quality import backcheck_xml, interview, send

HONEST = [f"honest{n}" for n in range(1, 7)]
FABRICATOR = "fab"
DAYS, PER_DAY = 8, 3


@pytest.fixture
def quality_round(db):
    round_ = RoundFactory()
    round_.checks = {"location_field": "place", "backcheck_percent": 20, "backcheck_seed": "issue17"}
    round_.save()
    for name in ("quality.md", "quality_backcheck.md"):
        questionnaire_import(source=form_bytes(name), filename=name, survey_slug="mtm-kz", round_number=4)
    for username in [*HONEST, FABRICATOR, "checker"]:
        assignment = AssignmentFactory(enumerator=EnumeratorFactory(user=UserFactory(username=username)),
                                       round=round_)
        assignment.locations.add(location("KZ-75"))
    return Round.objects.get(pk=round_.pk)


def _collect(rng):
    sent = {}
    for day in range(DAYS):
        for slot in range(PER_DAY):
            for username in [*HONEST, FABRICATOR]:
                item = interview(rng, day=dt.date(2024, 5, 2) + dt.timedelta(days=day), hour=9 + 3 * slot,
                                 fabricator=username == FABRICATOR)
                sent[send(item, username).pk] = (username, item)
    return sent


def _flagged(pk):
    return set(Submission.objects.get(pk=pk).flags.values_list("check_name", flat=True))


@pytest.mark.django_db
def test_the_fabricator_is_singled_out_and_the_honest_team_is_left_alone(quality_round):
    rng = random.Random(17)
    sent = _collect(rng)
    # Once the whole team has a baseline, every interview is processed again (as a supervisor's re-run would).
    for pk in sent:
        submission_process(submission_id=pk)

    honest = [pk for pk, (who, _) in sent.items() if who != FABRICATOR]
    fabricated = [pk for pk, (who, _) in sent.items() if who == FABRICATOR]
    honest_flagged = [pk for pk in honest if _flagged(pk)]
    assert len(honest_flagged) < 0.05 * len(honest), [_flagged(pk) for pk in honest_flagged]
    for pk in fabricated:
        assert {"fast_answers", "low_active_time", "trail_outside_area"} <= _flagged(pk)

    # Back-checks: 20 % of each enumerator's interviews, rounded up; a checker calls the respondents back.
    assert backchecks_draw(round_id=quality_round.pk) == 7 * 5
    checker = Sender(user=UserFactory(username="checker"))
    by_id = {item.instance_id: (who, item) for who, item in sent.values()}
    for row in BackCheck.objects.select_related("original"):
        who, item = by_id[row.original.instance_id]
        truth = item.answers if who != FABRICATOR else {**item.answers, "sex": "female", "worked": "yes",
                                                        "months": "7", "docs": "dk"}
        sub = submission_ingest_xml(xml=backcheck_xml(item, truth), sender=checker).submission
        submission_process(submission_id=sub.pk)
    assert BackCheck.objects.filter(backcheck__isnull=False, compared__gte=5).count() == 35
    fab_id = Submission.objects.get(pk=fabricated[0]).submitted_by_id
    assert sum(BackCheck.objects.exclude(enumerator_id=fab_id).values_list("differing", flat=True)) == 0
    assert set(BackCheck.objects.filter(flagged=True).values_list("enumerator_id", flat=True)) == {fab_id}
    assert all("backcheck_differs" in _flagged(row.original_id) for row in BackCheck.objects.filter(flagged=True))

    card = round_scorecard(round_id=quality_round.pk)
    fab_row = next(r for r in card.rows if r.username == FABRICATOR)
    assert {r.username for r in card.rows} == {*HONEST, FABRICATOR}  # the checker's interviews are not counted
    assert fab_row.interviews == DAYS * PER_DAY and card.interviews == 7 * DAYS * PER_DAY
    for measure in MEASURES:
        figure = fab_row.figures[measure]
        others = [abs(r.figures[measure].z or 0) for r in card.rows if r.username != FABRICATOR]
        assert figure.outlier, (measure, figure)
        assert abs(figure.z) > max(others), (measure, figure, others)
    assert fab_row.figures["gate_skip_share"].value == 1.0
    assert fab_row.figures["dont_know_share"].value == 0.0
    assert fab_row.figures["straight_lining_share"].value == 1.0
    assert fab_row.figures["flag_rate"].value == 1.0
    fab_checks = BackCheck.objects.filter(enumerator_id=fab_id)
    assert fab_row.figures["backcheck_difference_rate"].value == round(
        sum(c.differing for c in fab_checks) / sum(c.compared for c in fab_checks), 4)

    # The running cells equal a rebuild from the stored facts.
    running = sorted(ScoreCell.objects.filter(round=quality_round).values_list("enumerator_id", "kind", "key", "n"))
    round_scorecard_rebuild(round_id=quality_round.pk)
    assert sorted(ScoreCell.objects.filter(round=quality_round).values_list(
        "enumerator_id", "kind", "key", "n")) == running
    assert InterviewQuality.objects.filter(audit="read").count() == len(sent)


def _signature():
    flags = {s.instance_id: sorted(s.flags.values_list("check_name", "reason"))
             for s in Submission.objects.prefetch_related("flags")}
    cells = sorted(ScoreCell.objects.values_list("enumerator_id", "kind", "key", "n"))
    return flags, cells


@pytest.mark.django_db
def test_a_batch_flags_and_scores_the_team_as_one_by_one(quality_round):
    """Processing the team's interviews as one batch gives the flags and scorecard cells one by one gives: the
    team's figures a check reads add the cells the batch has not written yet (they are written once, at its
    end)."""
    from enumerators.models import User
    from surveys.services.processing import submissions_process_pending
    from tests.quality import instance_xml

    rng = random.Random(16)
    pending = []
    for day in range(2):
        for slot in range(PER_DAY):
            for username in [*HONEST, FABRICATOR]:
                item = interview(rng, day=dt.date(2024, 5, 2) + dt.timedelta(days=day), hour=9 + 3 * slot,
                                 fabricator=username == FABRICATOR)
                pending.append(submission_ingest_xml(
                    xml=instance_xml(item), sender=Sender(user=User.objects.get(username=username)),
                    attachments=[SimpleUploadedFile("audit.csv", item.audit, content_type="text/csv")]).submission)
    for sub in pending:
        submission_process(submission_id=sub.pk)
    one_by_one = _signature()
    # The team's baseline made up as the interviews came: the fabricator's later ones are flagged.
    flagged = Counter(check for found in one_by_one[0].values() for check, _ in found)
    assert (flagged["fast_answers"], flagged["low_active_time"], flagged["trail_outside_area"]) == (3, 3, 6)

    # The same interviews again, from where they were received, as one batch.
    for model in (SubmissionFlag, ReviewEvent, InterviewQuality, ScoreCell):
        model.objects.all().delete()
    Submission.objects.update(processing="pending", fingerprint="", interview_date=None, review_status=None,
                              answers=None)
    with CaptureQueriesContext(connection) as queries:
        assert len(submissions_process_pending(limit=500)) == len(pending)
    assert _signature() == one_by_one
    # The round's stored cells summed once per kind for the whole batch, not once per interview.
    sums = [q["sql"] for q in queries if "surveys_scorecell" in q["sql"] and "GROUP BY" in q["sql"]]
    assert len(sums) == 2
