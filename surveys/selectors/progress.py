"""Reads for the collection dashboard: a round's progress against its targets,
as a supervisor (their team only) or a coordinator (everyone) sees it.

The counts come from the running counts of :class:`ProgressCount` and
:class:`FlagCount` (kept by :mod:`surveys.services.progress` at every change of
a submission or of its flags), a few thousand cells for a round of any size,
cut to a supervisor's team by their senders (``user_id``).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db.models import Max, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from surveys.models import FlagCount, Location, ProgressCount, Round, Submission
from surveys.round_settings import CHECK_LABELS
from surveys.selectors.review import WAITING_STATES, Standing, cell_standing, is_waiting
from surveys.selectors.scope import assignments_for_user, ensure_submission_viewer, round_for_user, within_scope

if TYPE_CHECKING:
    from enumerators.models import AnyUser, Assignment

#: The days of the timeline at most (the latest ones).
TIMELINE_DAYS = 92


@dataclass
class Quota:
    """Interviews done against a target, overall and by the respondent's sex."""

    done: int = 0
    target: int = 0
    male: int = 0
    male_target: int = 0
    female: int = 0
    female_target: int = 0

    @property
    def percent(self) -> int | None:
        return round(100 * self.done / self.target) if self.target else None

    @property
    def bar(self) -> int:
        """The bar's width in percent, at most 100."""
        return min(self.percent or 0, 100)

    @property
    def male_percent(self) -> int | None:
        return round(100 * self.male / self.male_target) if self.male_target else None

    @property
    def female_percent(self) -> int | None:
        return round(100 * self.female / self.female_target) if self.female_target else None

    @property
    def male_share(self) -> int | None:
        """Men among the interviews whose respondent's sex is known, in percent."""
        known = self.male + self.female
        return round(100 * self.male / known) if known else None


@dataclass
class EnumeratorProgress:
    user_id: int
    username: str
    name: str
    quota: Quota = field(default_factory=Quota)
    expected: int | None = None
    waiting_review: int = 0
    last_submission: dt.datetime | None = None
    last_sync: dt.datetime | None = None

    @property
    def behind(self) -> bool:
        return self.expected is not None and self.quota.done < self.expected

    @property
    def shortfall(self) -> int:
        """How many interviews short of what is expected by today (0 when on schedule)."""
        return max(0, (self.expected or 0) - self.quota.done)


@dataclass
class LocationProgress:
    location_id: int | None
    code: str
    name: str
    quota: Quota = field(default_factory=Quota)


@dataclass
class RoundProgress:
    round: Round
    today: dt.date
    received_today: int
    received_week: int
    received_total: int
    quota: Quota
    expected: int | None
    review: dict[str, int]
    #: Current interviews by where they stand against the count (:class:`Standing`); they add up to received.
    standing: dict[str, int]
    flags: list[tuple[str, int]]
    timeline: list[tuple[dt.date, int]]
    enumerators: list[EnumeratorProgress]
    locations: list[LocationProgress]
    team_only: bool

    @property
    def waiting_review(self) -> int:
        """Waiting for review (:mod:`surveys.selectors.review`): never reviewed plus has issues."""
        return self.review.get("none", 0) + self.review.get(Submission.Review.HAS_ISSUES, 0)

    @property
    def behind(self) -> list[EnumeratorProgress]:
        """Those behind schedule, the furthest behind first."""
        return sorted((e for e in self.enumerators if e.behind), key=lambda e: (-e.shortfall, e.username))

    @property
    def not_counted(self) -> list[tuple[str, str, int]]:
        """``(standing, label, interviews)`` of the received interviews that do not count, in
        :class:`Standing`'s order, zeros included."""
        return [(s.value, str(s.label), self.standing.get(s.value, 0)) for s in Standing if s != Standing.COUNTED]

    @property
    def timeline_bars(self) -> list[tuple[dt.date, int, int]]:
        """``(day, received, bar height in percent of the busiest day)``."""
        top = max((n for _, n in self.timeline), default=0)
        return [(day, n, round(100 * n / top) if top else 0) for day, n in self.timeline]

    @property
    def busiest_day(self) -> tuple[dt.date, int] | None:
        """The day with the most interviews (the earliest of equals), None before any."""
        return max(reversed(self.timeline), key=lambda day: day[1], default=None) if self.timeline else None

    @property
    def flag_rows(self) -> list[tuple[str, str, int]]:
        """``(check, what it is called, interviews)`` of the flags waiting for review."""
        return [(check, str(CHECK_LABELS.get(check, check)), n) for check, n in self.flags]

    @property
    def expected_percent(self) -> int | None:
        return round(100 * self.expected / self.quota.target) if self.expected is not None and self.quota.target \
            else None


def round_progress(*, user: AnyUser, round_id: int, today: dt.date | None = None) -> RoundProgress:
    """The dashboard of one round as ``user`` may see it (:func:`round_for_user`:
    :class:`NotFound` outside a supervisor's team, :class:`Forbidden` for an
    account that may not see submissions). Counted towards quotas: what the
    round's tables count (:class:`~surveys.selectors.review.Standing`): current,
    processed, not refused, not rejected, valid or approved despite problems. Two
    GROUP BY queries over the running counts (every count; the days) and one
    over the flag counts of interviews waiting for review."""
    from surveys.selectors.scope import team_scoped

    round_ = round_for_user(user=user, round_id=round_id)
    today = today or timezone.localdate()
    cells = scoped_progress_counts(user=user).filter(round_id=round_.pk)
    assignments = list(assignments_for_user(user=user).filter(round_id=round_.pk)
                       .prefetch_related("quotas__location", "locations").order_by("enumerator__user__username"))
    fraction = _elapsed_fraction(round_, today)
    enumerators = _enumerators(assignments, fraction)
    locations: dict[int | None, LocationProgress] = {}
    for assignment in assignments:
        for quota in assignment.quotas.all():
            _location_row(locations, quota.location_id, quota.location).quota.target += quota.target
        for location in assignment.locations.all():
            _location_row(locations, location.pk, location)

    counts = _counts(cells, today)
    review: dict[str, int] = defaultdict(int)
    received = {"today": 0, "week": 0, "total": 0}
    standing: dict[str, int] = defaultdict(int)
    for row in counts:
        user_id, location_id, sex, status = row["user_id"] or None, row["location_id"] or None, \
            row["respondent_sex"], row["review_status"] or None
        review[status or "none"] += row["total"]
        for key in received:
            received[key] += row[key]
        person = enumerators.get(user_id) or enumerators.setdefault(
            user_id, EnumeratorProgress(user_id=user_id or 0, username="", name=""))
        person.last_submission = max(filter(None, [person.last_submission, row["last"]]), default=None)
        if is_waiting(status):
            person.waiting_review += row["total"]
        where = cell_standing(validation=row["validation"], refused=row["refused"], review_status=status or "")
        standing[where] += row["total"]
        if where != Standing.COUNTED:
            continue
        _add(person.quota, sex, row["total"])
        _add(_location_row(locations, location_id, None).quota, sex, row["total"])
    _name_people(enumerators)
    _name_locations(locations)
    _last_sync(enumerators)

    total = Quota(target=round_.target_sample if not team_scoped(user) and round_.target_sample else
                  sum(a.target_total for a in assignments),
                  male_target=sum(a.target_male for a in assignments),
                  female_target=sum(a.target_female for a in assignments))
    for person in enumerators.values():
        total.done += person.quota.done
        total.male += person.quota.male
        total.female += person.quota.female
    flags = list(scoped_flag_counts(user=user).filter(round_id=round_.pk, review_status__in=WAITING_STATES)
                 .values_list("check_name").annotate(n=Sum("count")).order_by("-n", "check_name"))
    return RoundProgress(
        round=round_, today=today, received_today=received["today"], received_week=received["week"],
        received_total=received["total"], quota=total,
        expected=None if fraction is None else int(total.target * fraction),
        review=dict(review), standing=dict(standing), flags=flags, timeline=_filled(_timeline(cells))[-TIMELINE_DAYS:],
        enumerators=sorted(enumerators.values(), key=lambda e: e.username),
        locations=sorted(locations.values(), key=lambda loc: (loc.location_id is None, loc.code)),
        team_only=team_scoped(user),
    )


def _counts(cells: QuerySet[ProgressCount], today: dt.date) -> list[Mapping[str, Any]]:
    """Per enumerator, location, respondent's sex, review state, refusal and validation: how many (received today,
    this week, in all) and the latest received."""
    monday = today - dt.timedelta(days=today.weekday())
    return list(cells.values("user_id", "location_id", "respondent_sex", "review_status", "refused", "validation")
                .annotate(total=Sum("count"), today=Sum("count", filter=Q(received_day=today), default=0),
                          week=Sum("count", filter=Q(received_day__gte=monday, received_day__lte=today), default=0),
                          last=Max("last_received"))
                .order_by())


def _name_people(rows: dict[int | None, EnumeratorProgress]) -> None:
    """Usernames of those who submitted without an assignment here (read only for them)."""
    from enumerators.models import User

    nameless = [user_id for user_id, row in rows.items() if user_id is not None and not row.username]
    for user_id, username in User.objects.filter(pk__in=nameless).values_list("pk", "username"):
        rows[user_id].username = username
    for row in rows.values():
        row.username = row.username or "(anonymous)"


def _elapsed_fraction(round_: Round, today: dt.date) -> float | None:
    """The share of the round's days gone by, today included; None without both dates."""
    if not (round_.start_date and round_.end_date):
        return None
    days = (round_.end_date - round_.start_date).days + 1
    gone = (min(today, round_.end_date) - round_.start_date).days + 1
    return max(0, min(gone, days)) / days


def _timeline(cells: QuerySet[ProgressCount]) -> list[tuple[dt.date, int]]:
    """Interviews per day they were done (the local date the interview started; set by processing)."""
    rows = cells.exclude(interview_day="").values_list("interview_day").annotate(n=Sum("count"))
    return [(dt.date.fromisoformat(day), n) for day, n in rows.order_by("interview_day")]


def _filled(timeline: list[tuple[dt.date, int]]) -> list[tuple[dt.date, int]]:
    if not timeline:
        return []
    counts = dict(timeline)
    first, last = timeline[0][0], timeline[-1][0]
    return [(first + dt.timedelta(days=i), counts.get(first + dt.timedelta(days=i), 0))
            for i in range((last - first).days + 1)]


def _enumerators(assignments: Iterable[Assignment], fraction: float | None) -> dict[int | None, EnumeratorProgress]:
    """The assigned enumerators by user id (those who submitted without an assignment join them; None:
    anonymous senders)."""
    rows: dict[int | None, EnumeratorProgress] = {}
    for assignment in assignments:
        user = assignment.enumerator.user
        quota = Quota(target=assignment.target_total, male_target=assignment.target_male,
                      female_target=assignment.target_female)
        rows[user.pk] = EnumeratorProgress(
            user_id=user.pk, username=user.username, name=user.get_full_name(), quota=quota,
            expected=None if fraction is None or not assignment.target_total else
            int(assignment.target_total * fraction))
    return rows


def _location_row(rows: dict[int | None, LocationProgress], location_id: int | None,
                  location: Location | None) -> LocationProgress:
    if location_id not in rows:
        rows[location_id] = LocationProgress(
            location_id=location_id, code=location.code if location else "",
            name=location.local_name if location else (_("(not recorded)") if location_id is None else ""))
    return rows[location_id]


def _name_locations(rows: dict[int | None, LocationProgress]) -> None:
    nameless = [pk for pk, row in rows.items() if pk is not None and not row.code]
    for location in Location.objects.filter(pk__in=nameless):
        rows[location.pk].code, rows[location.pk].name = location.code, location.local_name


def _add(quota: Quota, sex: str, n: int) -> None:
    quota.done += n
    if sex == "m":
        quota.male += n
    elif sex == "f":
        quota.female += n


def _last_sync(rows: dict[int | None, EnumeratorProgress]) -> None:
    """The last time each enumerator's tablet spoke to the server (device), else their last submission."""
    from enumerators.models import Device

    seen = dict(Device.objects.filter(enumerator__user_id__in=list(rows)).values_list("enumerator__user_id")
                .annotate(last=Max("last_seen")).order_by())
    for user_id, row in rows.items():
        row.last_sync = max(filter(None, [seen.get(user_id), row.last_submission]), default=None)

def scoped_progress_counts(*, user: AnyUser) -> QuerySet[ProgressCount]:
    """The dashboard's running counts (:class:`ProgressCount`) within ``user``'s scope."""
    ensure_submission_viewer(user)
    return within_scope(ProgressCount.objects.all(), user=user, field="user_id")


def scoped_flag_counts(*, user: AnyUser) -> QuerySet[FlagCount]:
    """The dashboard's flag counts (:class:`FlagCount`) within ``user``'s scope."""
    ensure_submission_viewer(user)
    return within_scope(FlagCount.objects.all(), user=user, field="user_id")
