"""ODK Collect's form audit log (``audit.csv``), read into an interview's facts. Pure: bytes in, facts out.

A form with the XLSForm ``audit`` meta question makes Collect attach ``audit.csv`` (the ODK XForms
"Client Audit Logs" specification; ODK documentation, "Form audit log"): UTF-8, a header row, one row
per event. Columns: ``event,node,start,end``; with location tracking (``location-priority``,
``location-min-interval``, ``location-max-age``) also ``latitude,longitude,accuracy``; with
``track-changes=true`` also ``old-value,new-value``; with ``identify-user`` / ``track-changes-reasons``
also ``user,change-reason``. Times are milliseconds since the epoch (UTC); ``end`` is blank for
instantaneous events (``form start``, ``jump``, ``location changed`` …).

Events read here: ``question`` and ``group questions`` (a screen shown from ``start`` to ``end``:
the active time), ``form exit`` → ``form resume`` (a pause), ``jump`` and any screen earlier in the form
than the one before it (a backward move), ``old-value``/``new-value`` of a question on a later visit
than its first (an answer changed after the enumerator moved on), and every row with a position (the
location trail). Other events (``form save``, ``form finalize``, ``end screen``, ``location tracking
enabled`` …) are counted only.

Old and new values are answers: they are compared here and never kept, so that nothing of them leaves
the raw store. The trail is returned for the processing step to test against the interview's area and
is not stored either. A file that is not an audit log in this format gives :class:`AuditFacts` with
``available=False`` and a reason (which never quotes the file), never an exception."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

#: The largest audit log read (Collect's are a few hundred kB for a long interview).
MAX_BYTES = 20 * 1024 * 1024
#: The columns every audit log has.
REQUIRED = ("event", "node", "start", "end")
#: Screen events: their duration is time the enumerator spent on the form.
SCREEN_EVENTS = frozenset({"question", "group questions"})
#: A gap longer than this between two screens (without a form exit) is a pause too.
IDLE_MS = 5 * 60 * 1000

_INDEX = re.compile(r"\[\d+\]")


@dataclass(frozen=True)
class TrailPoint:
    at_ms: int
    latitude: float
    longitude: float
    accuracy: float | None


@dataclass(frozen=True)
class AuditFacts:
    """What an interview's audit log says about how it was filled."""

    available: bool
    #: Why the log could not be read (``available`` false); never quotes the file.
    problem: str = ""
    events: int = 0
    #: Seconds on question screens (``question`` and ``group questions`` events; a field-list screen's
    #: ``group questions`` row and its questions' rows cover the same time, counted once).
    active_seconds: float = 0.0
    #: Seconds per question (``question`` events; path under the root, repeat indexes dropped), summed
    #: over visits.
    question_seconds: dict[str, float] = field(default_factory=dict)
    #: Form exits followed by a resume, and idle gaps over :data:`IDLE_MS` between screens.
    pauses: int = 0
    paused_seconds: float = 0.0
    #: Moves to a screen earlier in the form than the one before it (including ``jump`` events that do).
    backward_jumps: int = 0
    #: Questions whose answer was changed on a later visit than the first (needs ``track-changes``).
    changed_answers: int = 0
    #: Whether the log has the track-changes columns.
    tracks_changes: bool = False
    trail: tuple[TrailPoint, ...] = ()
    started_ms: int | None = None
    ended_ms: int | None = None


def unavailable(problem: str) -> AuditFacts:
    return AuditFacts(available=False, problem=problem)


def audit_log_read(data: bytes, *, order: Sequence[str] = (), root: str = "data") -> AuditFacts:
    """The facts of one ``audit.csv``. ``order`` lists the form's question paths in the form's order
    (for backward moves; without it, the order in which screens were first seen); ``root`` is the
    instance's root element, dropped from node paths."""
    if len(data) > MAX_BYTES:
        return unavailable("The audit log is larger than the server reads.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return unavailable("The audit log is not UTF-8 text.")
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error:
        return unavailable("The audit log is not a CSV file.")
    if not rows:
        return unavailable("The audit log is empty.")
    header = [name.strip().lower() for name in rows[0]]
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        return unavailable(f"The audit log has no {', '.join(missing)} column.")
    column = {name: index for index, name in enumerate(header)}
    try:
        events = [_event(row, column, root) for row in rows[1:] if any(cell.strip() for cell in row)]
    except ValueError as err:
        return unavailable(str(err))
    return _facts(events, order=order, tracks_changes="old-value" in column and "new-value" in column)


@dataclass(frozen=True)
class _Event:
    name: str
    node: str
    start: int | None
    end: int | None
    old: str | None
    new: str | None
    point: TrailPoint | None


def _event(row: list[str], column: dict[str, int], root: str) -> _Event:
    def cell(name: str) -> str | None:
        index = column.get(name)
        return row[index].strip() if index is not None and index < len(row) else None

    name = (cell("event") or "").lower()
    if not name:
        raise ValueError("An audit log row has no event.")
    start, end = _millis(cell("start")), _millis(cell("end"))
    if start is None and name != "form start":
        # Every event Collect writes has a start; "form start" always has one too, but be lenient there.
        raise ValueError("An audit log row has no start time.")
    if start is not None and end is not None and end < start:
        raise ValueError("An audit log row ends before it starts.")
    point = None
    lat, lon = cell("latitude"), cell("longitude")
    if lat and lon and start is not None:
        try:
            latitude, longitude = float(lat), float(lon)
            accuracy = float(cell("accuracy") or "nan")
        except ValueError:
            raise ValueError("An audit log row has a position that is not a number.") from None
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise ValueError("An audit log row has a position out of range.")
        point = TrailPoint(start, latitude, longitude, None if accuracy != accuracy else accuracy)
    return _Event(name, _node(cell("node") or "", root), start, end, cell("old-value"), cell("new-value"),
                  point)


def _millis(value: str | None) -> int | None:
    if not value:
        return None
    try:
        moment = int(value)
    except ValueError:
        raise ValueError("An audit log time is not a number of milliseconds.") from None
    if not 0 <= moment < 10**14:
        raise ValueError("An audit log time is out of range.")
    return moment


def _node(node: str, root: str) -> str:
    """``/data/household[2]/age`` → ``household/age``."""
    path = _INDEX.sub("", node).strip("/")
    first, _, rest = path.partition("/")
    return rest if first == root else path


def _facts(events: list[_Event], *, order: Sequence[str], tracks_changes: bool) -> AuditFacts:
    rank = {path: index for index, path in enumerate(order)}
    question_seconds: dict[str, float] = {}
    paused = 0.0
    screens: list[tuple[int, int]] = []
    pauses = backward = 0
    visits: dict[str, int] = {}
    changed: set[str] = set()
    previous_rank: int | None = None
    last_screen_end: int | None = None
    exit_at: int | None = None
    for event in events:
        if event.name == "form exit" and event.start is not None:
            exit_at = event.start
        elif event.name == "form resume" and event.start is not None and exit_at is not None:
            pauses += 1
            paused += max(0, event.start - exit_at) / 1000
            exit_at, last_screen_end = None, None
        if event.name not in SCREEN_EVENTS or event.start is None:
            continue
        if last_screen_end is not None and event.start - last_screen_end > IDLE_MS:
            pauses += 1
            paused += (event.start - last_screen_end) / 1000
        duration = max(0, (event.end or event.start) - event.start) / 1000
        screens.append((event.start, event.end or event.start))
        last_screen_end = event.end or event.start
        if event.name == "question":
            question_seconds[event.node] = question_seconds.get(event.node, 0.0) + duration
        here = rank.setdefault(event.node, len(rank)) if not order else rank.get(event.node)
        if here is not None:
            if previous_rank is not None and here < previous_rank:
                backward += 1
            previous_rank = here
        seen = visits.get(event.node, 0)
        visits[event.node] = seen + 1
        if (seen and event.name == "question" and event.old is not None and event.new is not None
                and event.old != "" and event.old != event.new):
            changed.add(event.node)
    times = [t for e in events for t in (e.start, e.end) if t is not None]
    active = _covered(screens) / 1000
    return AuditFacts(
        available=True, events=len(events), active_seconds=round(active, 3),
        question_seconds={path: round(seconds, 3) for path, seconds in question_seconds.items()},
        pauses=pauses, paused_seconds=round(paused, 3), backward_jumps=backward, changed_answers=len(changed),
        tracks_changes=tracks_changes, trail=tuple(e.point for e in events if e.point is not None),
        started_ms=min(times) if times else None, ended_ms=max(times) if times else None)


def _covered(spans: list[tuple[int, int]]) -> int:
    """Milliseconds covered by the spans, overlaps counted once."""
    total, reach = 0, None
    for start, end in sorted(spans):
        if reach is None or start > reach:
            total += end - start
            reach = end
        elif end > reach:
            total += end - reach
            reach = end
    return total
