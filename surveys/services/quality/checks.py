"""The round checks fed by an interview's audit log and by back-checks, run by
:func:`surveys.services.checks.submission_checks` with the others (same signature). The team they compare
with is the rest of the round's enumerators (the interview's own enumerator left out), read from the
scorecard's cells; until the rest of the team has ``team_minimum`` interviews (or timings of a question) the
comparison waits and only the form's own minimums apply."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from surveys.form_schema import FormSchema
from surveys.models import Submission
from surveys.round_settings import round_quality_settings
from surveys.services.quality.backchecks import backcheck_reason
from surveys.services.quality.cells import team_median_active, team_question_minimums
from surveys.services.quality.facts import related_or_none, trail_in_area

if TYPE_CHECKING:
    from surveys.services.checks import InterviewFacts

#: The fewest timed questions with a minimum before ``fast_answers`` judges an interview.
FEWEST_TIMED = 5


def fast_answers(*, submission: Submission, schema: FormSchema, facts: InterviewFacts, **_: Any) -> str | None:
    audit = facts.audit
    if audit is None or not audit.available or not audit.question_seconds:
        return None
    settings = round_quality_settings(submission.round)
    by_path = {f["path"]: f for f in schema.get("fields", [])}
    timed = {by_path[p]["name"]: s for p, s in audit.question_seconds.items() if p in by_path}
    minimums: dict[str, float] = {}
    for name in timed:
        field = next(f for f in by_path.values() if f["name"] == name)
        own = settings.min_seconds.get(name, field.get("min_seconds"))
        if own is not None:
            minimums[name] = float(own)
    missing = set(timed) - set(minimums)
    minimums |= team_question_minimums(round_id=submission.round_id, enumerator_id=submission.submitted_by_id or 0,
                                       names=missing, least=settings.team_minimum)
    judged = [name for name in timed if name in minimums]
    fast = [name for name in judged if timed[name] < minimums[name]]
    if len(judged) < FEWEST_TIMED or len(fast) < settings.fast_share * len(judged) or not fast:
        return None
    return f"{len(fast)} of {len(judged)} timed questions answered faster than their minimum."


def low_active_time(*, submission: Submission, facts: InterviewFacts, **_: Any) -> str | None:
    audit = facts.audit
    if audit is None or not audit.available:
        return None
    settings = round_quality_settings(submission.round)
    median = team_median_active(round_id=submission.round_id, enumerator_id=submission.submitted_by_id or 0,
                                least=settings.team_minimum)
    if median is None or audit.active_seconds >= settings.active_factor * median:
        return None
    return (f"Active time {audit.active_seconds / 60:.1f} minutes, less than {settings.active_factor:g} × the rest "
            f"of the team's median of {median / 60:.1f}.")


def changed_answers(*, submission: Submission, facts: InterviewFacts, **_: Any) -> str | None:
    audit = facts.audit
    if audit is None or not audit.available:
        return None
    settings = round_quality_settings(submission.round)
    if audit.changed_answers < settings.changed_answers_max:
        return None
    return f"{audit.changed_answers} answers changed after the enumerator had moved on."


def trail_outside_area(*, submission: Submission, facts: InterviewFacts, **_: Any) -> str | None:
    from surveys.services.checks import interview_areas

    areas = interview_areas(submission, facts)
    if trail_in_area(facts.audit, areas) is not False:
        return None
    names = ", ".join(a.name for a in areas)
    points = len(facts.audit.trail) if facts.audit else 0
    return f"None of the {points} points of the location trail is in the interview's area ({names})."


def backcheck_differs(*, submission: Submission, **_: Any) -> str | None:
    row = related_or_none(submission, "backcheck")  # processing reads it with the submission
    return backcheck_reason(row) if row is not None else None


RUNS = (("fast_answers", fast_answers), ("low_active_time", low_active_time), ("changed_answers", changed_answers),
        ("trail_outside_area", trail_outside_area), ("backcheck_differs", backcheck_differs))
