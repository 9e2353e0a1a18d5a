"""Round tables: the round report of INTERFACES.md, served from the round's
tallies (:mod:`surveys.services.tallies`, kept current by processing and
review), so that it costs the same for 300 or 1,000,000 interviews.

For every question of the form (outside repeats): ``asked`` is the number of
counted submissions where it was relevant, ``base`` those that answered it
(the denominator). select_one: every choice, zeros included, count, percent
of base, a 95 % Wilson interval and the small-cell flag; select_multiple:
respondents choosing each option (percentages may add to more than 100) and
the mean number chosen; integer/decimal: n, mean, median, min, max, sd.
Optional disaggregation by a select_one question (or ``location``) and the
same question in another round of the survey, matched by name.

Counted submissions (:func:`surveys.selectors.submissions.counted_submissions`): current
(not replaced by an edit), not a refused interview, not rejected, and valid
or approved by a supervisor despite its problems.

Who sees which tables (:func:`round_report_for_user`, the one read every
interface uses): a round outside a supervisor's team is refused as unknown
(404, :func:`surveys.selectors.scope.round_for_user`); inside it, a supervisor's
tables are counted from their team's counted records only
(:func:`surveys.selectors.scope.within_scope`, in memory as for a breakdown not
kept as tallies), the compared round's too; everyone else who may open the
round reads the whole round's tallies.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from django.utils.translation import gettext as _

from mtm.errors import InvalidInput, NotFound
from surveys.form_schema import FormSchema, SchemaField, Texts
from surveys.models import Questionnaire, Round
from surveys.round_report import ComparedRow, Comparison, GroupTable, QuestionTable, ReportRow, RoundReport
from surveys.round_settings import kept_breakdowns, round_privacy_settings
from surveys.selectors.scope import round_for_user, team_scoped, within_scope
from surveys.selectors.submissions import counted_submissions
from surveys.selectors.tallies import (
    NUMERIC,
    TOTAL,
    Record,
    Tallies,
    records_tallies,
    round_tallies,
    tabulated_questions,
)

if TYPE_CHECKING:
    from enumerators.models import AnyUser

Z95 = 1.959963984540054


def wilson(count: int, base: int, z: float = Z95) -> list[float] | None:
    """The 95 % Wilson score interval of count/base, in percent, one decimal."""
    if base == 0:
        return None
    p = count / base
    centre = (p + z * z / (2 * base)) / (1 + z * z / base)
    half = z * math.sqrt(p * (1 - p) / base + z * z / (4 * base * base)) / (1 + z * z / base)
    return [round(100 * max(0.0, centre - half), 1), round(100 * min(1.0, centre + half), 1)]


def round_records(round_: Round, form_id: str, *, team_of: AnyUser | None = None) -> Iterator[Record]:
    """The round's counted records of ``form_id``; only those of ``team_of``'s scope when given."""
    qs = counted_submissions(round_id=round_.pk, form_id=form_id)
    if team_of is not None:
        qs = within_scope(qs, user=team_of)
    for answers, unanswered, code in qs.values_list("answers", "unanswered", "location__code").iterator(
            chunk_size=2000):
        yield answers or {}, unanswered or [], code


def round_report_for_user(*, user: AnyUser, round_id: int, form_id: str | None = None, by: str | None = None,
                          compare: int | None = None, lang: str | None = None) -> RoundReport:
    """The round tables ``user`` may open (every interface: the v1 API, KoBo's
    asset reports, the admin's report page): :class:`NotFound` for a round
    outside a supervisor's team (as for an unknown one); a supervisor's tables
    are of their team's counted records only, the compared round's too; other
    roles that may open the round read the whole round. ``form_id`` defaults
    to the round's latest imported form."""
    round_ = round_for_user(user=user, round_id=round_id)
    chosen = round_report_choices(round_=round_, form_id=form_id).form_id
    return round_tabulate(form_id=chosen, round_number=round_.number, by=by, compare=compare, lang=lang,
                          team_of=user if team_scoped(user) else None)


def round_tabulate(*, form_id: str, round_number: int | None = None, by: str | None = None,
                   compare: int | None = None, lang: str | None = None,
                   team_of: AnyUser | None = None) -> RoundReport:
    """The round report, read from the round's tallies (a breakdown the
    round does not keep current is counted from the records). With
    ``team_of`` (a supervisor), counted from that team's records alone; no
    scope check here — interfaces call :func:`round_report_for_user`."""
    questionnaire = _questionnaire(form_id, round_number)
    round_ = questionnaire.round
    schema = questionnaire.schema
    language = _language(schema, lang)
    small = round_privacy_settings(round_).small_cell
    dimension, names = _breakdown(schema, by) if by else ("", [])
    questions = tabulated_questions(schema)
    numeric = [f["path"] for f in questions if f["type"] in NUMERIC]
    if team_of is not None:
        tallies = records_tallies(round_records(round_, form_id, team_of=team_of), schema=schema,
                                  by=dimension or None)
    elif not by or dimension == "location" or dimension in kept_breakdowns(round_):
        tallies = round_tallies(round_id=round_.pk, form_ids=[form_id], dimensions=["", dimension],
                                numeric_paths=numeric)
    else:
        tallies = records_tallies(round_records(round_, form_id), schema=schema, by=dimension)
    if dimension == "location":
        names = sorted(group for dim, group in tallies.counts if dim == "location")
    previous: _Previous | None = None
    if compare is not None:
        other = Round.objects.filter(survey=round_.survey, number=compare).first()
        if other is None:
            raise NotFound(_("Survey '%(survey)s' has no round %(round)s.") % {"survey": round_.survey.slug,
                                                                                   "round": compare})
        previous = _previous_questions(other, small, team_of, dimension=dimension, names=names)
    tables = []
    for f in questions:
        table = _table(f, tallies, schema, language, small)
        if by:
            table["by"] = {name: _group_table(f, tallies, (dimension, name), schema, language, small)
                           for name in names}
        if previous is not None and f["name"] in previous.totals:
            table["compare"] = _compare(table, previous.totals[f["name"]], previous.round)
            for name, group in table.get("by", {}).items():
                then = previous.groups.get(f["name"], {}).get(name)
                if then is not None:
                    group["compare"] = _compare(group, then, previous.round)
        tables.append(table)
    return {"form_id": form_id, "round": round_.number, "submissions": tallies.counted(TOTAL, "")["@n"], "by": by,
            "language": language, "questions": tables}


def _questionnaire(form_id: str, round_number: int | None) -> Questionnaire:
    qs = Questionnaire.objects.filter(form_id=form_id).select_related("round__survey")
    if round_number is not None:
        qs = qs.filter(round__number=round_number)
    questionnaire = qs.order_by("-created_at", "-id").first()
    if questionnaire is None:
        if round_number is not None:
            raise NotFound(_("No form '%(form_id)s' in round %(round)s.") % {"form_id": form_id, "round": round_number})
        raise NotFound(_("No form '%(form_id)s'.") % {"form_id": form_id})
    return questionnaire


def _language(schema: FormSchema, lang: str | None) -> str:
    languages = schema.get("languages") or ["default"]
    if not lang:
        return schema.get("default_language") or languages[0]
    for language in languages:
        if language == lang or language.endswith(f"({lang})"):
            return language
    raise InvalidInput(_("The form has no language '%(language)s'; it has %(languages)s.")
                       % {"language": lang, "languages": ", ".join(languages)})


def _label(texts: Texts | None, language: str, fallback: str) -> str:
    texts = texts or {}
    return texts.get(language) or texts.get("default") or next(iter(texts.values()), fallback)


def _breakdown(schema: FormSchema, by: str) -> tuple[str, list[str]]:
    """The tallies' dimension for ``by`` and its groups (every choice, for a question)."""
    if by == "location":
        return "location", []
    field = next((f for f in schema.get("fields", []) if by in (f["name"], f["path"])
                  and f["type"] == "select_one" and not f.get("repeat")), None)
    if field is None:
        raise InvalidInput(_("'%(by)s' is not a select_one question of the form (or 'location').") % {"by": by})
    return field["name"], [c["name"] for c in schema.get("choices", {}).get(field["list_name"] or "", [])]


def _table(f: SchemaField, tallies: Tallies, schema: FormSchema, language: str, small: int) -> QuestionTable:
    """A question of the report, over the whole round."""
    counts = tallies.counted(TOTAL, f["path"])
    table: QuestionTable = {"name": f["name"], "path": f["path"], "label": _label(f.get("label"), language, f["name"]),
                            "type": f["type"], "asked": counts["@asked"], "base": counts["@base"]}
    _add_figures(table, f, tallies, TOTAL, schema, language, small)
    return table


def _group_table(f: SchemaField, tallies: Tallies, group: tuple[str, str], schema: FormSchema, language: str,
                 small: int) -> GroupTable:
    """A question's figures in one group of a breakdown."""
    out: GroupTable = {"base": tallies.counted(group, f["path"])["@base"]}
    _add_figures(out, f, tallies, group, schema, language, small)
    return out


def _add_figures(out: GroupTable, f: SchemaField, tallies: Tallies, group: tuple[str, str], schema: FormSchema,
                 language: str, small: int) -> None:
    """A choice question's rows (and mean number chosen), or a number question's figures, in ``group``."""
    counts = tallies.counted(group, f["path"])
    base = out["base"]
    if f["type"] in ("select_one", "select_multiple"):
        choices = schema.get("choices", {}).get(f.get("list_name") or "", [])
        out["rows"] = [_row(c["name"], _label(c.get("label"), language, c["name"]), counts[c["name"]], base, small)
                       for c in choices]
        if f["type"] == "select_multiple":
            out["mean_selected"] = round(counts["@chosen"] / base, 2) if base else None
    else:
        numbers = tallies.summary(group, f["path"])
        out["mean"], out["median"], out["min"], out["max"], out["sd"] = (
            numbers["mean"], numbers["median"], numbers["min"], numbers["max"], numbers["sd"])


def percent(count: int, base: int) -> float | None:
    """100·count/base to one decimal, halves rounded up (6.25 → 6.3), from the exact fraction."""
    if not base:
        return None
    return float((Decimal(100 * count) / Decimal(base)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _row(value: str, label: str, count: int, base: int, small: int) -> ReportRow:
    row: ReportRow = {"value": value, "label": label, "count": count, "percent": percent(count, base),
                      "ci": wilson(count, base)}
    if count < small:
        row["small"] = True
    return row


@dataclass
class _Previous:
    """The compared round's questions by name: over the round, and in each group of the breakdown."""

    round: int
    totals: dict[str, QuestionTable] = field(default_factory=dict)
    groups: dict[str, dict[str, GroupTable]] = field(default_factory=dict)


def _previous_questions(round_: Round, small: int, team_of: AnyUser | None, *, dimension: str = "",
                        names: list[str] | None = None) -> _Previous:
    """Every question of the other round's forms, by name (latest version first), from its tallies
    (from ``team_of``'s team's records when given); with ``dimension``, also in each of the groups
    ``names`` — where that round's form has the breakdown question too (or the breakdown is location)."""
    out = _Previous(round=round_.number)
    seen: dict[str, Tallies] = {}
    for questionnaire in Questionnaire.objects.filter(round=round_).order_by("-created_at", "-id"):
        schema = questionnaire.schema
        questions = tabulated_questions(schema)
        grouped = bool(dimension) and (dimension == "location" or any(
            f["name"] == dimension and f["type"] == "select_one" and not f.get("repeat")
            for f in schema.get("fields", [])))
        if questionnaire.form_id not in seen:
            seen[questionnaire.form_id] = _other_round_tallies(
                round_, questionnaire.form_id, schema, questions, team_of, dimension if grouped else "")
        tallies, language = seen[questionnaire.form_id], schema.get("default_language") or "default"
        for f in questions:
            if f["name"] in out.totals:
                continue
            out.totals[f["name"]] = _table(f, tallies, schema, language, small)
            if grouped:
                out.groups[f["name"]] = {name: _group_table(f, tallies, (dimension, name), schema, language, small)
                                         for name in names or []}
    return out


def _other_round_tallies(round_: Round, form_id: str, schema: FormSchema, questions: list[SchemaField],
                         team_of: AnyUser | None, dimension: str) -> Tallies:
    if team_of is not None:
        return records_tallies(round_records(round_, form_id, team_of=team_of), schema=schema, by=dimension or None)
    if not dimension or dimension == "location" or dimension in kept_breakdowns(round_):
        return round_tallies(round_id=round_.pk, form_ids=[form_id], dimensions=["", dimension],
                             numeric_paths=[f["path"] for f in questions if f["type"] in NUMERIC])
    return records_tallies(round_records(round_, form_id), schema=schema, by=dimension)


def _compare(now: GroupTable, then: GroupTable, round_number: int) -> Comparison:
    """``then`` (the question in round ``round_number``) beside ``now``."""
    out: Comparison = {"round": round_number, "base": then["base"]}
    if "rows" in now and "rows" in then:
        before = {row["value"]: row for row in then["rows"]}
        rows: list[ComparedRow] = []
        for row in now["rows"]:
            old = before.get(row["value"])
            if old is None:
                continue
            change = (float((Decimal(100 * row["count"]) / now["base"] - Decimal(100 * old["count"]) / then["base"])
                            .quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))
                      if now["base"] and then["base"] else None)
            rows.append({"value": row["value"], "count": old["count"], "percent": old["percent"],
                         "change_pp": change})
        out["rows"] = rows
    elif "mean" in now and "mean" in then:
        now_mean, then_mean = now["mean"], then["mean"]
        out["mean"] = then_mean
        out["change"] = round(now_mean - then_mean, 2) if now_mean is not None and then_mean is not None else None
    return out

@dataclass(frozen=True)
class ReportChoices:
    """What a round's report can be asked for: its forms, and for one form its languages and groupings."""

    forms: list[str]
    form_id: str
    languages: list[str]
    by_options: list[str]


def round_report_choices(*, round_: Round, form_id: str | None = None) -> ReportChoices:
    """The round's forms (the latest imported first when none is asked for)."""
    versions = list(round_.questionnaires.order_by("-created_at", "-id").values_list("form_id", "schema"))
    forms = sorted({f for f, _ in versions})
    chosen = form_id or (versions[0][0] if versions else "")
    schema = next((schema for f, schema in versions if f == chosen), None)
    fields = schema["fields"] if schema else []
    by = ["location"] + [f["name"] for f in fields if f["type"] == "select_one"
                         and f.get("privacy") not in ("identifier", "pseudonym")]
    return ReportChoices(forms=forms, form_id=chosen, languages=schema.get("languages", []) if schema else [],
                         by_options=by)
