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

#: The quality checks a round can run (``CheckSettings.enabled``), in the order they run.
CHECKS = ("short_interview", "outside_hours", "gps_outside_area", "duplicate_respondent", "outlier",
          "high_daily_count", "interview_dates")
#: What each check is called where a person reads it (the submission list's filter, the dashboard).
CHECK_LABELS: dict[str, Promise] = {
    "short_interview": _("Too short"), "outside_hours": _("Outside collection hours"),
    "gps_outside_area": _("GPS outside the location"), "duplicate_respondent": _("Same respondent twice"),
    "outlier": _("Impossible or unlikely answer"), "high_daily_count": _("Too many in a day"),
    "interview_dates": _("Impossible dates"),
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
