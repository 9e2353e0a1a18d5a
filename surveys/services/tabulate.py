"""Round tables: the round report of INTERFACES.md, computed from the
anonymised records of a round.

For every question of the form (outside repeats): ``asked`` is the number of
counted submissions where it was relevant, ``base`` those that answered it
(the denominator). select_one: every choice, zeros included, count, percent
of base, a 95 % Wilson interval and the small-cell flag; select_multiple:
respondents choosing each option (percentages may add to more than 100) and
the mean number chosen; integer/decimal: n, mean, median, min, max, sd.
Optional disaggregation by a select_one question (or ``location``) and the
same question in another round of the survey, matched by name.

Counted submissions: current (not replaced by an edit), not rejected, and not
a refused interview.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from mtm.errors import InvalidInput, NotFound
from surveys.models import Questionnaire, Round
from surveys.selectors import counted_submissions
from surveys.services.anonymise import round_privacy_settings

TABULATED = {"select_one", "select_multiple", "integer", "decimal", "range"}
Z95 = 1.959963984540054


@dataclass(frozen=True)
class Record:
    answers: dict[str, Any]
    unanswered: frozenset[str]
    location: str | None


def wilson(count: int, base: int, z: float = Z95) -> list[float] | None:
    """The 95 % Wilson score interval of count/base, in percent, one decimal."""
    if base == 0:
        return None
    p = count / base
    centre = (p + z * z / (2 * base)) / (1 + z * z / base)
    half = z * math.sqrt(p * (1 - p) / base + z * z / (4 * base * base)) / (1 + z * z / base)
    return [round(100 * max(0.0, centre - half), 1), round(100 * min(1.0, centre + half), 1)]


def round_records(round_: Round, form_id: str) -> list[Record]:
    qs = counted_submissions(round_id=round_.pk, form_id=form_id).values_list("answers", "unanswered",
                                                                              "location__code")
    return [Record(answers or {}, frozenset(unanswered or ()), code) for answers, unanswered, code in qs.iterator()]


def round_tabulate(*, form_id: str, round_number: int | None = None, by: str | None = None,
                   compare: int | None = None, lang: str | None = None) -> dict[str, Any]:
    questionnaire = _questionnaire(form_id, round_number)
    round_ = questionnaire.round
    schema = questionnaire.schema
    language = _language(schema, lang)
    small = int(round_privacy_settings(round_)["small_cell"])
    records = round_records(round_, form_id)
    groups = _groups(records, schema, by, language) if by else None
    previous = None
    if compare is not None:
        other = Round.objects.filter(survey=round_.survey, number=compare).first()
        if other is None:
            raise NotFound(f"Survey '{round_.survey.slug}' has no round {compare}.")
        previous = _previous_questions(other, small)
    questions = []
    for f in _questions(schema):
        table = _table(f, records, schema, language, small)
        if groups is not None:
            table["by"] = {name: _table(f, members, schema, language, small, summary=True)
                           for name, members in groups.items()}
        if previous is not None and f["name"] in previous:
            table["compare"] = _compare(table, previous[f["name"]])
        questions.append(table)
    return {"form_id": form_id, "round": round_.number, "submissions": len(records), "by": by,
            "language": language, "questions": questions}


def _questionnaire(form_id: str, round_number: int | None) -> Questionnaire:
    qs = Questionnaire.objects.filter(form_id=form_id).select_related("round__survey")
    if round_number is not None:
        qs = qs.filter(round__number=round_number)
    questionnaire = qs.order_by("-created_at", "-id").first()
    if questionnaire is None:
        where = f" in round {round_number}" if round_number is not None else ""
        raise NotFound(f"No form '{form_id}'{where}.")
    return questionnaire


def _language(schema: dict[str, Any], lang: str | None) -> str:
    languages = schema.get("languages") or ["default"]
    if not lang:
        return schema.get("default_language") or languages[0]
    for language in languages:
        if language == lang or language.endswith(f"({lang})"):
            return language
    raise InvalidInput(f"The form has no language '{lang}'; it has {', '.join(languages)}.")


def _label(texts: dict[str, str] | None, language: str, fallback: str) -> str:
    texts = texts or {}
    return texts.get(language) or texts.get("default") or next(iter(texts.values()), fallback)


def _questions(schema: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in schema.get("fields", []) if f["type"] in TABULATED and not f.get("repeat")
            and f.get("privacy") not in ("identifier", "pseudonym", "location")]


def _groups(records: list[Record], schema: dict[str, Any], by: str,
            language: str) -> dict[str, list[Record]]:
    if by == "location":
        keys = sorted({r.location for r in records if r.location})
        return {key: [r for r in records if r.location == key] for key in keys}
    field = next((f for f in schema.get("fields", []) if by in (f["name"], f["path"])
                  and f["type"] == "select_one"), None)
    if field is None:
        raise InvalidInput(f"'{by}' is not a select_one question of the form (or 'location').")
    names = [c["name"] for c in schema.get("choices", {}).get(field["list_name"], [])]
    return {name: [r for r in records if r.answers.get(field["path"]) == name] for name in names}


def _table(f: dict[str, Any], records: list[Record], schema: dict[str, Any], language: str, small: int,
           summary: bool = False) -> dict[str, Any]:
    path = f["path"]
    answered = [r.answers[path] for r in records if path in r.answers]
    asked = len(answered) + sum(1 for r in records if path in r.unanswered)
    out: dict[str, Any] = {} if summary else {
        "name": f["name"], "path": path, "label": _label(f.get("label"), language, f["name"]), "type": f["type"],
        "asked": asked}
    out["base"] = len(answered)
    if f["type"] in ("select_one", "select_multiple"):
        choices = schema.get("choices", {}).get(f.get("list_name") or "", [])
        chosen = Counter()
        for value in answered:
            chosen.update(value if isinstance(value, list) else [value])
        out["rows"] = [_row(c["name"], _label(c.get("label"), language, c["name"]), chosen[c["name"]], len(answered),
                            small) for c in choices]
        if f["type"] == "select_multiple":
            out["mean_selected"] = round(sum(len(v) for v in answered) / len(answered), 2) if answered else None
    else:
        out.update(_numbers([float(v) for v in answered if isinstance(v, (int, float))]))
    return out


def percent(count: int, base: int) -> float | None:
    """100·count/base to one decimal, halves rounded up (6.25 → 6.3), from the exact fraction."""
    if not base:
        return None
    return float((Decimal(100 * count) / Decimal(base)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _row(value: str, label: str, count: int, base: int, small: int) -> dict[str, Any]:
    row = {"value": value, "label": label, "count": count, "percent": percent(count, base),
           "ci": wilson(count, base)}
    if count < small:
        row["small"] = True
    return row


def _numbers(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"mean": None, "median": None, "min": None, "max": None, "sd": None}
    return {"mean": round(statistics.fmean(values), 2), "median": _plain(statistics.median(values)),
            "min": _plain(min(values)), "max": _plain(max(values)),
            "sd": round(statistics.stdev(values), 2) if len(values) > 1 else 0.0}


def _plain(value: float) -> float | int:
    return int(value) if float(value).is_integer() else round(value, 2)


def _previous_questions(round_: Round, small: int) -> dict[str, dict[str, Any]]:
    """Every question of the other round's forms, by name (latest version first)."""
    out: dict[str, dict[str, Any]] = {}
    records_by_form: dict[str, list[Record]] = {}
    for questionnaire in Questionnaire.objects.filter(round=round_).order_by("-created_at", "-id"):
        if questionnaire.form_id not in records_by_form:
            records_by_form[questionnaire.form_id] = round_records(round_, questionnaire.form_id)
        records = records_by_form[questionnaire.form_id]
        for f in _questions(questionnaire.schema):
            if f["name"] not in out:
                table = _table(f, records, questionnaire.schema, questionnaire.schema.get("default_language")
                               or "default", small)
                out[f["name"]] = table | {"round": round_.number}
    return out


def _compare(now: dict[str, Any], then: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"round": then["round"], "base": then["base"]}
    if "rows" in now and "rows" in then:
        before = {row["value"]: row for row in then["rows"]}
        out["rows"] = []
        for row in now["rows"]:
            old = before.get(row["value"])
            if old is None:
                continue
            change = (float((Decimal(100 * row["count"]) / now["base"] - Decimal(100 * old["count"]) / then["base"])
                            .quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))
                      if now["base"] and then["base"] else None)
            out["rows"].append({"value": row["value"], "count": old["count"], "percent": old["percent"],
                                "change_pp": change})
    elif "mean" in now and "mean" in then:
        out["mean"] = then["mean"]
        out["change"] = (round(now["mean"] - then["mean"], 2)
                         if now["mean"] is not None and then["mean"] is not None else None)
    return out
