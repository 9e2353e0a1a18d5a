"""Automated quality checks of an interview, configurable per round
(:class:`surveys.round_settings.CheckSettings`). Each failed check is
a flag with a reason a supervisor reads; reasons never quote identifying
answers."""

from __future__ import annotations

import datetime as dt
import json
import statistics
from dataclasses import dataclass
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Count

from enumerators.models import User
from surveys.form_schema import FormSchema, SchemaField
from surveys.models import Location, Submission
from surveys.round_settings import CheckSettings
from surveys.services import geo
from surveys.services.anonymise import keyed_hash, normal_text
from surveys.services.audit_log import AuditFacts
from surveys.services.quality.checks import RUNS as QUALITY_RUNS

_NOT_RESPONDENT = {"deviceid", "phonenumber", "simserial", "subscriberid", "username", "email", "start-geopoint",
                   "geopoint", "geotrace", "geoshape", "start", "end", "today"}


@dataclass(frozen=True)
class Flag:
    check: str
    reason: str


@dataclass(frozen=True)
class InterviewFacts:
    """What the checks (and monitoring) read of an interview."""

    started_at: dt.datetime | None
    ended_at: dt.datetime | None
    interview_date: dt.date | None
    location: Location | None
    fingerprint: str
    respondent_sex: str = ""
    #: The time answers (``start``, ``end``) given but out of range (year 1 or 9999 with an offset): ignored.
    out_of_range: tuple[str, ...] = ()
    #: The interview's audit log read (:func:`surveys.services.quality.facts.submission_audit`); None: no log.
    audit: AuditFacts | None = None
    #: The interview's areas when already looked up (processing: once per sender in a batch); None: not yet.
    areas: tuple[Location, ...] | None = None


def interview_facts(*, answers: dict[str, Any], schema: FormSchema, config: CheckSettings,
                    locations: dict[str, Location | None] | None = None) -> InterviewFacts:
    """``locations``: the locations by code a batch has looked up already (filled as it goes)."""
    fields = schema.get("fields", [])
    zone = ZoneInfo(config.timezone)
    started, bad_start = _moment(next((answers.get(f["path"]) for f in fields if f["type"] == "start"), None), zone)
    ended, bad_end = _moment(next((answers.get(f["path"]) for f in fields if f["type"] == "end"), None), zone)
    location = None
    if config.location_field:
        value = answers.get(config.location_field)
        if isinstance(value, str):
            # Choice names cannot hold "-": kz_75 names the location KZ-75.
            code = value.upper().replace("_", "-")
            if locations is None or code not in locations:
                location = Location.objects.filter(code=code).first()
                if locations is not None:
                    locations[code] = location
            else:
                location = locations[code]
    day = started.astimezone(zone).date() if started else None
    return InterviewFacts(started_at=started, ended_at=ended, interview_date=day, location=location,
                          fingerprint=_fingerprint(answers, fields, config),
                          respondent_sex=_respondent_sex(answers, fields, config),
                          out_of_range=tuple(name for name, bad in (("start", bad_start), ("end", bad_end)) if bad))


def _respondent_sex(answers: dict[str, Any], fields: list[SchemaField], config: CheckSettings) -> str:
    """``m``, ``f`` or blank: the answer to the round's sex question (the select_one outside repeats named
    ``sex_question``) mapped by ``sex_values``."""
    path = next((f["path"] for f in fields if f["name"] == config.sex_question and f["type"] == "select_one"
                 and not f.get("repeat")), None) if config.sex_question else None
    value = answers.get(path) if path else None
    if not isinstance(value, str):
        return ""
    sex = config.sex_values.get(value.strip().lower(), "")
    return sex if sex in ("m", "f") else ""


def _moment(value: Any, zone: ZoneInfo) -> tuple[dt.datetime | None, bool]:
    """The moment a time answer names, in UTC (None when blank, unreadable or without an offset), and
    whether it was given but is out of range: a time that UTC or the round's time zone would push past
    year 1 or 9999 (``0001-01-01T00:00:00+05:00``) is no moment the checks can use."""
    if not isinstance(value, str):
        return None, False
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None, False
    if moment.tzinfo is None:
        return None, False
    try:
        moment.astimezone(zone)
        return moment.astimezone(dt.UTC), False
    except OverflowError:
        return None, True


def _fingerprint(answers: dict[str, Any], fields: list[SchemaField], config: CheckSettings) -> str:
    """Keyed hash of the answers that identify a respondent; blank when
    fewer than two of them are answered (too little to call a duplicate)."""
    paths = config.duplicate_fields or [
        f["path"] for f in fields
        if f.get("privacy") in ("identifier", "pseudonym", "quasi") and f["type"] not in _NOT_RESPONDENT
        and not f.get("repeat")
    ]
    values = [(p, normal_text(answers[p]) if isinstance(answers[p], str) else answers[p])
              for p in sorted(paths) if answers.get(p) not in (None, "", [])]
    if len(values) < 2:
        return ""
    return keyed_hash(json.dumps(values, ensure_ascii=False, sort_keys=True))


def submission_checks(*, submission: Submission, answers: dict[str, Any], schema: FormSchema,
                      facts: InterviewFacts, config: CheckSettings, daily: DailyCounts | None = None) -> list[Flag]:
    """The round's enabled checks' flags. ``daily``: a batch's interviews per enumerator and day, read
    once and kept in step by the batch (:class:`DailyCounts`)."""
    enabled = config.enabled
    flags: list[Flag] = []
    for check, run in (("short_interview", _short), ("outside_hours", _hours), ("gps_outside_area", _gps),
                       ("duplicate_respondent", _duplicate), ("outlier", _outliers),
                       ("high_daily_count", partial(_daily, daily=daily)), ("interview_dates", _dates),
                       *QUALITY_RUNS):
        if check in enabled:
            reason = run(submission=submission, answers=answers, schema=schema, facts=facts, config=config)
            if reason:
                flags.append(Flag(check, reason))
    return flags


def _short(*, facts: InterviewFacts, config: CheckSettings, **_: Any) -> str | None:
    if facts.started_at is None or facts.ended_at is None:
        return None
    minutes = (facts.ended_at - facts.started_at).total_seconds() / 60
    limit = config.min_duration_minutes
    if minutes < 0:
        return "The interview ends before it starts."
    if minutes < limit:
        return f"The interview took {minutes:.0f} minutes; the round expects at least {limit:g}."
    return None


def _dates(*, submission: Submission, facts: InterviewFacts, config: CheckSettings, **_: Any) -> str | None:
    """Dates no interview of the round can have: a start or end out of range (then ignored by the other
    checks), after the submission was received (beyond ``clock_skew_hours`` of a tablet's wrong clock), or
    a start before the round's first day (in the round's time zone)."""
    if facts.out_of_range:
        names = " and ".join(facts.out_of_range)
        return f"The interview's {names} {'time is' if len(facts.out_of_range) == 1 else 'times are'} out of range."
    moments = [m for m in (facts.started_at, facts.ended_at) if m is not None]
    if not moments:
        return None
    zone = ZoneInfo(config.timezone)
    reasons = []
    latest, received = max(moments), submission.received_at
    if latest > received + dt.timedelta(hours=config.clock_skew_hours):
        reasons.append(f"The interview is dated {latest.astimezone(zone):%Y-%m-%d %H:%M}, after it was received "
                       f"({received.astimezone(zone):%Y-%m-%d %H:%M}).")
    first_day, opens = min(moments).astimezone(zone).date(), submission.round.start_date
    if opens is not None and first_day < opens:
        reasons.append(f"The interview is dated {first_day:%Y-%m-%d}, before the round started ({opens:%Y-%m-%d}).")
    return " ".join(reasons) or None


def _hours(*, facts: InterviewFacts, config: CheckSettings, **_: Any) -> str | None:
    if facts.started_at is None:
        return None
    local = facts.started_at.astimezone(ZoneInfo(config.timezone))
    start, end = config.collection_hours
    if not start <= local.hour < end:
        return f"Started at {local:%H:%M}, outside collection hours {start:02d}:00–{end:02d}:00."
    return None


def _gps(*, submission: Submission, answers: dict[str, Any], schema: FormSchema, facts: InterviewFacts,
         config: CheckSettings) -> str | None:
    path = config.gps_field or next(
        (f["path"] for f in schema.get("fields", []) if f["type"] == "geopoint" and f.get("privacy") == "location"),
        None) or next((f["path"] for f in schema.get("fields", []) if f["type"] == "geopoint"), None)
    point = answers.get(path) if path else None
    if not isinstance(point, str):
        return None
    try:
        lat, lon = (float(x) for x in point.split(";")[0].split()[:2])
    except ValueError:
        return None
    areas = [a for a in interview_areas(submission, facts) if geo.has_area(a)]
    if not areas or any(geo.inside(a, lat, lon) for a in areas):
        return None
    names = ", ".join(a.name for a in areas)
    return f"The GPS point is outside the interview's area ({names})."


def interview_areas(submission: Submission, facts: InterviewFacts) -> list[Location]:
    """The interview's areas: its location, else its sender's assignment in the round (``facts.areas`` when
    processing has looked them up already)."""
    if facts.areas is not None:
        return list(facts.areas)
    return [facts.location] if facts.location is not None else assigned_locations(submission)


def assigned_locations(submission: Submission) -> list[Location]:
    """The locations of the sender's assignment in the submission's round."""
    if submission.submitted_by_id is None:
        return []
    return list(Location.objects.filter(assignments__enumerator__user_id=submission.submitted_by_id,
                                        assignments__round_id=submission.round_id))


def _duplicate(*, submission: Submission, facts: InterviewFacts, **_: Any) -> str | None:
    """The round's earliest other current interview with the same respondent fingerprint, not rejected,
    neither this interview's earlier version nor its later one: one statement, indexed by round and
    fingerprint (it runs for every interview processed)."""
    if not facts.fingerprint:
        return None
    with connection.cursor() as cursor:
        cursor.execute(_DUPLICATE, [facts.fingerprint, submission.round_id, True, submission.pk,
                                    Submission.Review.NOT_APPROVED, submission.pk,
                                    submission.previous_id or 0])
        row = cursor.fetchone()
    if row is None:
        return None
    instance_id, received_at, username = row
    if isinstance(received_at, str):  # SQLite without the ORM's converters
        received_at = dt.datetime.fromisoformat(received_at)
    who = username or "an anonymous sender"
    return f"The same respondent as {instance_id} (sent by {who} on {received_at:%Y-%m-%d})."


# Table names from the models; every value is bound.
_DUPLICATE = (
    f"SELECT s.instance_id, s.received_at, u.username FROM {Submission._meta.db_table} s "  # noqa: S608
    f"LEFT JOIN {User._meta.db_table} u ON u.id = s.submitted_by_id "
    "WHERE s.fingerprint = %s AND s.round_id = %s AND s.is_current = %s AND s.id <> %s "
    "AND (s.review_status IS NULL OR s.review_status <> %s) "
    "AND (s.previous_id IS NULL OR s.previous_id <> %s) AND s.id <> %s "
    "ORDER BY s.received_at, s.id LIMIT 1")


def _outliers(*, answers: dict[str, Any], schema: FormSchema, config: CheckSettings, **_: Any) -> str | None:
    ranges = config.ranges
    found = []
    for f in schema.get("fields", []):
        bounds = ranges.get(f["name"]) or ranges.get(f["path"])
        value = answers.get(f["path"])
        if bounds and isinstance(value, (int, float)) and not bounds[0] <= value <= bounds[1]:
            found.append(f"{f['name']} {value:g} is outside {bounds[0]:g}–{bounds[1]:g}")
    return ("; ".join(found) + ".") if found else None


def _daily(*, submission: Submission, facts: InterviewFacts, config: CheckSettings, daily: DailyCounts | None = None,
           **_: Any) -> str | None:
    if submission.submitted_by_id is None or facts.interview_date is None:
        return None
    day = facts.interview_date
    counts = daily.of(submission.round_id, day) if daily is not None else _daily_counts(submission.round_id, day)
    mine = counts.get(submission.submitted_by_id, 0)
    if len(counts) < 2 or mine < config.daily_minimum:
        return None
    typical = statistics.median(counts.values())
    if mine > config.daily_factor * typical:
        return (f"{mine} interviews on {day:%Y-%m-%d}, more than {config.daily_factor:g} times the team's "
                f"median of {typical:g}.")
    return None


def _daily_counts(round_id: int, day: dt.date) -> dict[int, int]:
    """Current interviews of the round on ``day`` per enumerator (user id)."""
    return dict(Submission.objects.filter(round_id=round_id, interview_date=day, is_current=True,
                                          submitted_by__isnull=False)
                .values_list("submitted_by_id").annotate(n=Count("id")).values_list("submitted_by_id", "n"))


class DailyCounts:
    """:func:`_daily_counts` for a batch: each (round, day) read once, then moved by the batch's own
    interviews as they are saved (:meth:`moved`), so the check counts what it would count one by one.
    :meth:`mark` and :meth:`rollback` undo what an interview whose savepoint rolled back did."""

    def __init__(self) -> None:
        self.known: dict[tuple[int, dt.date], dict[int, int]] = {}
        self._journal: list[tuple[tuple[int, dt.date], int, int]] = []  # (key, user, delta); user 0: loaded

    def of(self, round_id: int, day: dt.date) -> dict[int, int]:
        key = (round_id, day)
        if key not in self.known:
            self.known[key] = _daily_counts(round_id, day)
            self._journal.append((key, 0, 0))
        return self.known[key]

    def moved(self, *, round_id: int, user_id: int | None, before: dt.date | None, after: dt.date | None) -> None:
        """An interview of ``user_id`` saved, counted on ``before`` until now and on ``after`` from now
        (None: not counted)."""
        if user_id is None or before == after:
            return
        for day, delta in ((before, -1), (after, 1)):
            counts = self.known.get((round_id, day)) if day is not None else None
            if counts is not None and day is not None:
                counts[user_id] = counts.get(user_id, 0) + delta
                self._journal.append(((round_id, day), user_id, delta))

    def mark(self) -> int:
        return len(self._journal)

    def rollback(self, mark: int) -> None:
        while len(self._journal) > mark:
            key, user_id, delta = self._journal.pop()
            if not user_id:
                self.known.pop(key, None)
            elif key in self.known:
                self.known[key][user_id] -= delta
