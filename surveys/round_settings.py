"""A round's settings, read from its columns into frozen dataclasses.

``Round.checks`` (quality checks) and ``Round.privacy`` (anonymisation,
release, retention) are JSON objects an administrator edits: a key left out
takes the default below, an unknown key is ignored. Services and selectors
read them only through :func:`round_check_settings` and
:func:`round_privacy_settings`, never the JSON itself.

The respondent's sex question is a column of its own (``Round.sex_question``,
see ADR 0005): the sex quotas count its answers (mapped by the checks'
``sex_values``) and its breakdown is always kept in the tallies, beside the
extra breakdowns of ``Round.report_by`` (:func:`kept_breakdowns`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from surveys.models import Round

#: The checks fed by an interview's audit log and by back-checks (issue 17: :mod:`surveys.services.quality`).
QUALITY_CHECKS = ("fast_answers", "low_active_time", "changed_answers", "trail_outside_area", "backcheck_differs")
#: The quality checks a round can run (``CheckSettings.enabled``), in the order they run.
CHECKS = ("short_interview", "outside_hours", "gps_outside_area", "duplicate_respondent", "outlier",
          "high_daily_count", "interview_dates", *QUALITY_CHECKS)
#: What each check is called where a person reads it (the submission list's filter, the dashboard).
CHECK_LABELS: dict[str, Promise] = {
    "short_interview": _("Too short"), "outside_hours": _("Outside collection hours"),
    "gps_outside_area": _("GPS outside the location"), "duplicate_respondent": _("Same respondent twice"),
    "outlier": _("Impossible or unlikely answer"), "high_daily_count": _("Too many in a day"),
    "interview_dates": _("Impossible dates"),
    "fast_answers": _("Questions answered too fast"), "low_active_time": _("Far less time than the team"),
    "changed_answers": _("Many answers changed afterwards"), "trail_outside_area": _("Never in the area"),
    "backcheck_differs": _("Back-check differs"),
}

#: A JSON scalar an answer is compared with.
Scalar = str | int | float | bool | None


def _sex_values() -> dict[str, str]:
    return {"male": "m", "female": "f", "m": "m", "f": "f"}


def _ranges() -> dict[str, tuple[float, float]]:
    return {"age": (14, 80), "hours_day": (0, 16), "hours_per_day": (0, 16)}


@dataclass(frozen=True)
class CheckSettings:
    """``Round.checks`` over its defaults, and the round's sex question."""

    #: The checks that run (:data:`CHECKS`); none when the JSON says ``null`` or ``[]``.
    enabled: frozenset[str] = frozenset(CHECKS)
    #: ``short_interview``: fewer minutes than this from start to end.
    min_duration_minutes: float = 10.0
    #: ``outside_hours``: the interview starts outside [start, end) local hours.
    collection_hours: tuple[int, int] = (7, 21)
    #: The local time zone of the collection hours and of an interview's day.
    timezone: str = "Asia/Almaty"
    #: The path of the select_one whose answer names the interview's location (a choice ``kz_75`` is KZ-75).
    location_field: str | None = None
    #: The name of the select_one holding the respondent's sex (``Round.sex_question``; blank: none).
    sex_question: str = "sex"
    #: The sex question's choice names → ``m`` / ``f`` (anything else: unknown).
    sex_values: Mapping[str, str] = field(default_factory=_sex_values)
    #: ``gps_outside_area``: the geopoint checked (default: the one tagged location, else the first).
    gps_field: str | None = None
    #: ``duplicate_respondent``: the paths compared (default: those tagged identifier, pseudonym or quasi).
    duplicate_fields: tuple[str, ...] = ()
    #: ``outlier``: [low, high] per question name or path.
    ranges: Mapping[str, tuple[float, float]] = field(default_factory=_ranges)
    #: ``high_daily_count``: more than ``daily_factor`` × the team's median, and at least ``daily_minimum``.
    daily_factor: float = 3.0
    daily_minimum: int = 10
    #: Who may edit an interview (``meta/deprecatedID``): its submitter, a superuser and — when ``true`` —
    #: an enumerator with the same supervisor as the submitter (``checks["team_edits"]``, default off).
    team_edits: bool = False
    #: ``interview_dates``: hours a tablet's clock may run ahead of the server before an interview dated
    #: after it was received is flagged.
    clock_skew_hours: float = 24.0

    @classmethod
    def from_json(cls, data: Mapping[str, object] | None, *, sex_question: str = "sex") -> CheckSettings:
        """The settings of a ``Round.checks`` object: keys left out take the defaults, unknown keys are
        ignored; values are read as the checks always read them (``int``/``float``/``str``)."""
        data = data or {}
        default = cls()
        return cls(
            enabled=frozenset(_strings(data["enabled"])) if "enabled" in data else default.enabled,
            min_duration_minutes=_float(data, "min_duration_minutes", default.min_duration_minutes),
            collection_hours=_hours(data["collection_hours"]) if "collection_hours" in data
            else default.collection_hours,
            timezone=str(data["timezone"]) if "timezone" in data else default.timezone,
            location_field=_optional_str(data.get("location_field")),
            sex_question=sex_question,
            sex_values=({str(k): str(v) for k, v in _mapping(data["sex_values"]).items()}
                        if "sex_values" in data else default.sex_values),
            gps_field=_optional_str(data.get("gps_field")),
            duplicate_fields=tuple(_strings(data.get("duplicate_fields"))),
            ranges=({str(k): _bounds(v) for k, v in _mapping(data["ranges"]).items() if v}
                    if "ranges" in data else default.ranges),
            daily_factor=_float(data, "daily_factor", default.daily_factor),
            daily_minimum=int(_number(data["daily_minimum"])) if "daily_minimum" in data else default.daily_minimum,
            team_edits=data.get("team_edits") is True,
            clock_skew_hours=_float(data, "clock_skew_hours", default.clock_skew_hours),
        )


@dataclass(frozen=True)
class PrivacySettings:
    """``Round.privacy`` over its defaults."""

    #: The path of the consent question; None: the round asks none (nobody refused).
    consent_field: str | None = None
    #: The answer to it that means consent; any other answer is a refusal.
    consent_value: Scalar = "yes"
    #: GPS answers tagged location: displaced within their area, or coarsened to the location's code.
    gps: Literal["displace", "coarsen"] = "displace"
    #: The least distance (km) a displaced GPS point lies from the true one (DHS draws from 0, which puts
    #: about 0.5 % of city points within 10 m of the truth); at most the urban maximum of 2 km.
    min_displacement_km: float = 0.5
    #: k of k-anonymity over the quasi-identifiers (risk and release).
    k: int = 3
    #: Round-table cells with fewer records than this are flagged small.
    small_cell: int = 10
    #: Days after which the raw store of a submission is purged; None: kept.
    retention_days: int | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, object] | None) -> PrivacySettings:
        """The settings of a ``Round.privacy`` object (keys left out take the defaults, unknown keys are
        ignored; a ``gps`` other than ``coarsen`` displaces)."""
        data = data or {}
        default = cls()
        consent_value = data.get("consent_value", default.consent_value)
        retention = data.get("retention_days")
        return cls(
            consent_field=_optional_str(data.get("consent_field")),
            consent_value=consent_value if isinstance(consent_value, Scalar) else str(consent_value),
            gps="coarsen" if data.get("gps") == "coarsen" else "displace",
            min_displacement_km=max(0.0, _float(data, "min_displacement_km", default.min_displacement_km)),
            k=int(_number(data["k"])) if "k" in data else default.k,
            small_cell=int(_number(data["small_cell"])) if "small_cell" in data else default.small_cell,
            retention_days=None if retention is None else int(_number(retention)),
        )


def _dont_know_values() -> frozenset[str]:
    return frozenset({"dk", "dont_know", "don_t_know", "do_not_know", "refused", "refuse", "refusal",
                      "no_answer", "prefer_not_to_say", "prefer_not", "98", "99", "-98", "-99", "888", "999"})


@dataclass(frozen=True)
class QualitySettings:
    """The keys of ``Round.checks`` read by the audit-log checks, the scorecard and back-checks (issue 17)."""

    #: ``fast_answers``: seconds per question name (else the XLSForm's ``min_seconds`` column, else the rest of
    #: the team's 5th percentile of that question, once they have ``team_minimum`` timings of it).
    min_seconds: Mapping[str, float] = field(default_factory=dict)
    #: ``fast_answers``: the share of an interview's timed questions below their minimum that flags it.
    fast_share: float = 0.25
    #: ``low_active_time``: active time below this share of the rest of the team's median.
    active_factor: float = 0.5
    #: How many interviews (or timings of a question) the rest of the team needs before it is compared with.
    team_minimum: int = 20
    #: ``changed_answers``: this many answers changed after the enumerator moved on, or more.
    changed_answers_max: int = 5
    #: Choice names that mean "don't know" or "refused".
    dont_know_values: frozenset[str] = field(default_factory=_dont_know_values)
    #: Back-checks: the percentage of each enumerator's interviews drawn (0: none).
    backcheck_percent: float = 0.0
    #: The seed of the draw (the same seed and interviews draw the same sample).
    backcheck_seed: str = "0"
    #: A flagged interview's weight in the draw (an unflagged one weighs 1).
    backcheck_flagged_weight: float = 3.0
    #: The back-check form's field that carries the original's instanceID.
    backcheck_link_field: str = "original_instance_id"
    #: The share of compared questions that may differ before the original is flagged.
    backcheck_threshold: float = 0.1
    #: Numbers: the relative difference (of the larger) still counted the same; per question name absolute.
    backcheck_tolerance: float = 0.1
    backcheck_tolerances: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, object] | None) -> QualitySettings:
        data = data or {}
        default = cls()
        return cls(
            min_seconds={str(k): float(_number(v)) for k, v in _mapping(data.get("min_seconds")).items()},
            fast_share=_float(data, "fast_share", default.fast_share),
            active_factor=_float(data, "active_factor", default.active_factor),
            team_minimum=int(_float(data, "team_minimum", default.team_minimum)),
            changed_answers_max=int(_float(data, "changed_answers_max", default.changed_answers_max)),
            dont_know_values=(frozenset(s.lower() for s in _strings(data["dont_know_values"]))
                              if "dont_know_values" in data else default.dont_know_values),
            backcheck_percent=min(100.0, max(0.0, _float(data, "backcheck_percent", default.backcheck_percent))),
            backcheck_seed=str(data.get("backcheck_seed", default.backcheck_seed)),
            backcheck_flagged_weight=max(1.0, _float(data, "backcheck_flagged_weight",
                                                     default.backcheck_flagged_weight)),
            backcheck_link_field=str(data.get("backcheck_link_field") or default.backcheck_link_field),
            backcheck_threshold=_float(data, "backcheck_threshold", default.backcheck_threshold),
            backcheck_tolerance=_float(data, "backcheck_tolerance", default.backcheck_tolerance),
            backcheck_tolerances={str(k): float(_number(v))
                                  for k, v in _mapping(data.get("backcheck_tolerances")).items()},
        )


def round_quality_settings(round_: Round) -> QualitySettings:
    """The round's audit-log, scorecard and back-check settings (``Round.checks``)."""
    return QualitySettings.from_json(round_.checks)


def round_check_settings(round_: Round) -> CheckSettings:
    """The round's quality-check settings (``Round.checks`` and ``Round.sex_question``)."""
    return CheckSettings.from_json(round_.checks, sex_question=round_.sex_question)


def round_privacy_settings(round_: Round) -> PrivacySettings:
    """The round's anonymisation, release and retention settings (``Round.privacy``)."""
    return PrivacySettings.from_json(round_.privacy)


def kept_breakdowns(round_: Round) -> tuple[str, ...]:
    """The select_one questions (by name) whose breakdowns the round's tallies keep besides location:
    its sex question first, then ``Round.report_by``; each once."""
    names = [round_.sex_question, *(round_.report_by or ())]
    return tuple(dict.fromkeys(str(name) for name in names if name))


# --- reading JSON values ------------------------------------------------------------------------

def _optional_str(value: object) -> str | None:
    """A path or name setting: blank and null mean none."""
    return str(value) if value else None


def _strings(value: object) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list | tuple) else []


def _mapping(value: object) -> Mapping[str, object]:
    return value if isinstance(value, Mapping) else {}


def _number(value: object) -> int | float | str:
    """A number as the JSON holds it (``int()``/``float()`` then fail as they always did on anything else)."""
    if isinstance(value, int | float | str):
        return value
    raise ValueError(f"{value!r} is not a number")


def _float(data: Mapping[str, object], key: str, default: float) -> float:
    return float(_number(data[key])) if key in data else default


def _bounds(value: object) -> tuple[float, float]:
    if not isinstance(value, list | tuple) or len(value) < 2:
        raise ValueError(f"a range is [low, high], not {value!r}")
    return float(_number(value[0])), float(_number(value[1]))


def _hours(value: object) -> tuple[int, int]:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ValueError(f"collection_hours must be [start, end], not {value!r}")
    start, end = value
    return int(_number(start)), int(_number(end))
