"""Disclosure risk of a round over its ``quasi`` fields, and the release
step that generalises and suppresses until every combination of quasi
values is shared by at least k records (k-anonymity).

The records are the round's anonymised records that count: current, not
rejected, consent not refused."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db.models.fields.json import KeyTransform

from surveys.models import Questionnaire, Round
from surveys.round_settings import round_privacy_settings
from surveys.selectors.submissions import counted_submissions

OTHER = "other"
#: A record's quasi values, in the order of the round's quasi fields (lists as tuples).
Combination = tuple[Any, ...]


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
    risk: RiskReport
    changes: list[str] = field(default_factory=list)


def round_quasi_fields(round_: Round) -> list[tuple[str, str]]:
    """(path, type) of every field tagged ``quasi`` in the round's questionnaire versions."""
    found: dict[str, str] = {}
    for schema in Questionnaire.objects.filter(round=round_).values_list("schema", flat=True):
        for f in schema.get("fields", []):
            if f.get("privacy") == "quasi" and not f.get("repeat"):
                found.setdefault(f["path"], f["type"])
    return sorted(found.items())


def round_records(round_: Round) -> list[dict[str, Any]]:
    qs = counted_submissions(round_id=round_.pk)  # counted: processed, so answers are never null
    return [answers for answers in qs.values_list("answers", flat=True).iterator(chunk_size=2000)
            if answers is not None]


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
    k = k or round_privacy_settings(round_).k
    return disclosure_risk(round_records(round_), [p for p, _ in round_quasi_fields(round_)], k)


def _key(record: dict[str, Any], paths: list[str]) -> Combination:
    return tuple(_hashable(record.get(p)) for p in paths)


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


@dataclass
class ReleaseMap:
    """The release step as a function of a record's quasi values: ``paths``
    and, for each combination found, the combination released (a value
    generalised, recoded or ``None`` where suppressed). Records sharing a
    combination are treated alike, so the step needs only the class sizes,
    never the records themselves (a round of a million interviews fits)."""

    paths: list[str]
    mapping: dict[Combination, Combination]
    changes: list[str]
    risk: RiskReport

    def apply(self, record: dict[str, Any]) -> dict[str, Any]:
        """``record`` with its quasi values as released (a copy when any changes)."""
        if not self.paths:
            return record
        key = _key(record, self.paths)
        released = self.mapping.get(key, key)
        if released == key:
            return record
        out = dict(record)
        for path, value in zip(self.paths, released, strict=True):
            out[path] = list(value) if isinstance(value, tuple) else value
        return out


def release_classes(sizes: Counter[Combination], quasi: list[tuple[str, str]], k: int) -> ReleaseMap:
    """Generalise, then suppress, until no combination of quasi values is
    shared by fewer than k records; say what was changed. ``sizes`` counts
    the records of each combination. A record whose quasi values are all
    suppressed reveals nothing through them and counts as safe."""
    paths = [p for p, _ in quasi]
    numeric = [i for i, (_, t) in enumerate(quasi) if t in ("integer", "decimal")]
    categorical = [i for i, (_, t) in enumerate(quasi) if t not in ("integer", "decimal")]
    state = _Classes(sizes)
    changes: list[str] = []
    # Global recoding first (numbers in bands of 5, rare categories merged, bands of 10, of 20), coarser
    # only while many records are at risk; a few unique records are better suppressed than everyone's age
    # blurred.
    for step, width in enumerate([5, None, 10, 20]):
        at_risk = sum(n for _, n in state.offenders(k))
        if at_risk == 0 or (step >= 2 and at_risk < 2 * k):
            break
        if width is not None:
            changes += [f"{paths[i]}: generalised into bands of {width}" for i in numeric if state.band(i, width)]
        else:
            for i in categorical:
                rare = state.recode_rare(i, k)
                if rare:
                    changes.append(f"{paths[i]}: {rare} rare value(s) recoded to '{OTHER}'")
    suppressed: Counter[str] = Counter()
    while True:
        offenders = state.offenders(k)
        if not offenders:
            break
        i = max(range(len(paths)), key=lambda j: (len({key[j] for key, _ in offenders if key[j] is not None}),
                                                  paths[j]))
        hits = [(key, n) for key, n in offenders if key[i] is not None]
        if not hits:
            break
        state.suppress(i, {key for key, _ in hits})
        suppressed[paths[i]] += sum(n for _, n in hits)
    changes += [f"{path}: {n} value(s) suppressed" for path, n in sorted(suppressed.items())]
    live = Counter({key: n for key, n in state.current().items() if any(v is not None for v in key)})
    return ReleaseMap(paths=paths, mapping=state.mapping, changes=changes, risk=_risk(live, paths, k))


class _Classes:
    """Combinations of quasi values (original → current) with their record counts."""

    def __init__(self, sizes: Counter[Combination]) -> None:
        self.sizes = sizes
        self.mapping: dict[Combination, Combination] = {key: key for key in sizes}

    def current(self) -> Counter[Combination]:
        out: Counter[Combination] = Counter()
        for key, n in self.sizes.items():
            out[self.mapping[key]] += n
        return out

    def offenders(self, k: int) -> list[tuple[Combination, int]]:
        return [(key, n) for key, n in self.current().items() if n < k and any(v is not None for v in key)]

    def _recode(self, i: int, change: Callable[[Any], Any]) -> bool:
        changed = False
        for original, key in self.mapping.items():
            value = change(key[i])
            if value is not _SAME:
                self.mapping[original] = (*key[:i], value, *key[i + 1:])
                changed = True
        return changed

    def band(self, i: int, width: int) -> bool:
        def change(value: Any) -> Any:
            if isinstance(value, str) and "–" in value:
                value = int(value.split("–")[0])
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                low = int(value // width * width)
                return f"{low}–{low + width - 1}"
            return _SAME

        return self._recode(i, change)

    def recode_rare(self, i: int, k: int) -> int:
        """Values held by fewer than k records become 'other' — when there are at
        least two of them to merge (one value alone renamed stays as rare)."""
        counts: Counter[Any] = Counter()
        for key, n in self.current().items():
            if key[i] is not None:
                counts[key[i]] += n
        rare = {value for value, n in counts.items() if n < k}
        if len(rare) < 2:
            return 0
        self._recode(i, lambda value: OTHER if value in rare else _SAME)
        return len(rare)

    def suppress(self, i: int, keys: set[Combination]) -> None:
        for original, key in self.mapping.items():
            if key in keys:
                self.mapping[original] = (*key[:i], None, *key[i + 1:])


_SAME = object()


def _risk(sizes: Counter[Combination], paths: list[str], k: int) -> RiskReport:
    records = sum(sizes.values())
    return RiskReport(records=records, quasi_fields=list(paths), k=k,
                      records_below_k=sum(n for n in sizes.values() if n < k),
                      expected_reidentifications=float(len(sizes)),
                      max_individual_risk=max((1 / n for n in sizes.values()), default=0.0), classes=len(sizes))


def release(records: list[dict[str, Any]], quasi: list[tuple[str, str]], k: int) -> Release:
    """The release step applied to ``records`` (see :func:`release_classes`)."""
    paths = [p for p, _ in quasi]
    released = release_classes(Counter(_key(r, paths) for r in records), quasi, k)
    return Release(records=[dict(released.apply(r)) for r in records], changes=released.changes,
                   risk=released.risk)


def round_release(*, round_id: int, k: int | None = None) -> Release:
    round_ = Round.objects.get(pk=round_id)
    k = k or round_privacy_settings(round_).k
    return release(round_records(round_), round_quasi_fields(round_), k)


def round_release_map(*, round_id: int, k: int | None = None) -> ReleaseMap:
    """The round's release step, from the quasi values alone (one query, no records in memory)."""
    round_ = Round.objects.get(pk=round_id)
    k = k or round_privacy_settings(round_).k
    quasi = round_quasi_fields(round_)
    paths = [p for p, _ in quasi]
    sizes: Counter[Combination] = Counter()
    if paths:
        names = [f"q{i}" for i in range(len(paths))]
        rows = (counted_submissions(round_id=round_id)
                .annotate(**{name: KeyTransform(path, "answers") for name, path in zip(names, paths, strict=True)})
                .values_list(*names))
        for row in rows.iterator(chunk_size=5000):
            sizes[tuple(_hashable(v) for v in row)] += 1
    return release_classes(sizes, quasi, k)
