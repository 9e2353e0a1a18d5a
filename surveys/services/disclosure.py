"""Disclosure risk of a round over its ``quasi`` fields, and the release
step that generalises and suppresses until every combination of quasi
values is shared by at least k records (k-anonymity).

The records are the round's anonymised records that count: current, not
rejected, consent not refused."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from surveys.models import Questionnaire, Round
from surveys.selectors import counted_submissions
from surveys.services.anonymise import round_privacy_settings

OTHER = "other"


@dataclass(frozen=True)
class RiskReport:
    records: int
    quasi_fields: list[str]
    k: int
    records_below_k: int
    expected_reidentifications: float
    max_individual_risk: float
    classes: int

    def as_dict(self) -> dict[str, Any]:
        return {"records": self.records, "quasi_fields": self.quasi_fields, "k": self.k,
                "records_below_k": self.records_below_k, "classes": self.classes,
                "expected_reidentifications": round(self.expected_reidentifications, 2),
                "max_individual_risk": round(self.max_individual_risk, 4)}


@dataclass
class Release:
    records: list[dict[str, Any]]
    changes: list[str] = field(default_factory=list)
    risk: RiskReport | None = None


def round_quasi_fields(round_: Round) -> list[tuple[str, str]]:
    """(path, type) of every field tagged ``quasi`` in the round's questionnaire versions."""
    found: dict[str, str] = {}
    for schema in Questionnaire.objects.filter(round=round_).values_list("schema", flat=True):
        for f in schema.get("fields", []):
            if f.get("privacy") == "quasi" and not f.get("repeat"):
                found.setdefault(f["path"], f["type"])
    return sorted(found.items())


def round_records(round_: Round) -> list[dict[str, Any]]:
    qs = counted_submissions(round_id=round_.pk)
    return list(qs.values_list("answers", flat=True).iterator(chunk_size=2000))


def disclosure_risk(records: list[dict[str, Any]], paths: list[str], k: int) -> RiskReport:
    """k-anonymity over ``paths``: f is the number of records sharing a
    record's combination; its individual risk is 1/f; the expected number of
    re-identifications is the sum of those risks."""
    keys = [_key(r, paths) for r in records]
    sizes = Counter(keys)
    risks = [1 / sizes[key] for key in keys]
    return RiskReport(records=len(records), quasi_fields=list(paths), k=k,
                      records_below_k=sum(1 for key in keys if sizes[key] < k),
                      expected_reidentifications=sum(risks), max_individual_risk=max(risks, default=0.0),
                      classes=len(sizes))


def round_disclosure_risk(*, round_id: int, k: int | None = None) -> RiskReport:
    round_ = Round.objects.get(pk=round_id)
    k = k or int(round_privacy_settings(round_)["k"])
    return disclosure_risk(round_records(round_), [p for p, _ in round_quasi_fields(round_)], k)


def _key(record: dict[str, Any], paths: list[str]) -> tuple:
    return tuple(_hashable(record.get(p)) for p in paths)


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def release(records: list[dict[str, Any]], quasi: list[tuple[str, str]], k: int) -> Release:
    """Generalise, then suppress, until no combination of quasi values is
    shared by fewer than k records; say what was changed. A record whose
    quasi values are all suppressed reveals nothing through them and counts
    as safe."""
    out = Release(records=[dict(r) for r in records])
    paths = [p for p, _ in quasi]
    numeric = [p for p, t in quasi if t in ("integer", "decimal")]
    categorical = [p for p, t in quasi if t not in ("integer", "decimal")]
    # Global recoding first, coarser only while many records are at risk; a
    # few unique records are better suppressed than everyone's age blurred.
    steps = [("band", 5), ("recode", None), ("band", 10), ("band", 20)]
    for step, (kind, width) in enumerate(steps):
        offenders = _below(out.records, paths, k)
        if offenders == 0 or (step >= 2 and offenders < 2 * k):
            break
        if kind == "band":
            out.changes += [f"{path}: generalised into bands of {width}" for path in numeric
                            if _band(out.records, path, width)]
        else:
            for path in categorical:
                rare = _recode_rare(out.records, path, k)
                if rare:
                    out.changes.append(f"{path}: {len(rare)} rare value(s) recoded to '{OTHER}'")
    suppressed: Counter = Counter()
    while True:
        offenders = _offenders(out.records, paths, k)
        if not offenders:
            break
        path = max(paths, key=lambda p: (len({_hashable(r.get(p)) for r in offenders if r.get(p) is not None}),
                                         p))
        hits = [r for r in offenders if r.get(path) is not None]
        if not hits:
            break
        for r in hits:
            r[path] = None
        suppressed[path] += len(hits)
    out.changes += [f"{path}: {n} value(s) suppressed" for path, n in sorted(suppressed.items())]
    out.risk = disclosure_risk([r for r in out.records if any(r.get(p) is not None for p in paths)], paths, k)
    return out


def round_release(*, round_id: int, k: int | None = None) -> Release:
    round_ = Round.objects.get(pk=round_id)
    k = k or int(round_privacy_settings(round_)["k"])
    return release(round_records(round_), round_quasi_fields(round_), k)


def _below(records: list[dict[str, Any]], paths: list[str], k: int) -> int:
    return len(_offenders(records, paths, k))


def _offenders(records: list[dict[str, Any]], paths: list[str], k: int) -> list[dict[str, Any]]:
    live = [r for r in records if any(r.get(p) is not None for p in paths)]
    sizes = Counter(_key(r, paths) for r in live)
    return [r for r in live if sizes[_key(r, paths)] < k]


def _band(records: list[dict[str, Any]], path: str, width: int) -> bool:
    changed = False
    for r in records:
        value = r.get(path)
        if isinstance(value, str) and "–" in value:
            value = int(value.split("–")[0])
        if isinstance(value, (int, float)):
            low = int(value // width * width)
            r[path] = f"{low}–{low + width - 1}"
            changed = True
    return changed


def _recode_rare(records: list[dict[str, Any]], path: str, k: int) -> list[Any]:
    """Values held by fewer than k records become 'other' — when there are at
    least two of them to merge (one value alone renamed stays as rare)."""
    counts = Counter(_hashable(r.get(path)) for r in records if r.get(path) is not None)
    rare = [value for value, n in counts.items() if n < k]
    if len(rare) < 2:
        return []
    for r in records:
        if _hashable(r.get(path)) in rare:
            r[path] = OTHER
    return rare
