"""The round report (INTERFACES.md, "Round report JSON"): what
:func:`surveys.selectors.reports.round_tabulate` returns and
``round_report --format json``, ``GET /api/v1/rounds/<id>/report``, the round's
admin page, its XLSX/CSV/Markdown renderings and KoboToolbox's reports
(``/api/v2/assets/<uid>/reports/``) are made from. Example::

    {"form_id": "mtm_kz_r4", "round": 4, "submissions": 1845, "by": "sex", "language": "English (en)",
     "questions": [
      {"name": "marital", "path": "demographics/marital", "label": "Marital status", "type": "select_one",
       "asked": 1845, "base": 1845,
       "rows": [{"value": "married", "label": "Married", "count": 1015, "percent": 55.0, "ci": [52.7, 57.3]}],
       "by": {"male": {"base": 1525, "rows": [...]}, "female": {"base": 320, "rows": [...]}},
       "compare": {"round": 3, "base": 1700,
                   "rows": [{"value": "married", "count": 950, "percent": 55.9, "change_pp": -0.9}]}},
      {"name": "age", "path": "demographics/age", "label": "Age", "type": "integer", "asked": 1845, "base": 1845,
       "mean": 33.87, "median": 33, "min": 18, "max": 64, "sd": 9.1,
       "by": {"male": {"base": 1525, "mean": 33.0, ..., "compare": {"round": 3, "base": 1390, "mean": 35.6,
                                                                   "change": -2.6}}, ...},
       "compare": {"round": 3, "base": 1700, "mean": 36.0, "change": -2.13}}]}

Choice questions carry ``rows`` (every choice, zeros included; select_multiple
adds ``mean_selected``), number questions the :class:`NumberSummary` keys. With
a breakdown and a compared round, each group carries its own ``compare``: the
same question in the same group of that round (where that round's form has the
breakdown question).
"""

from __future__ import annotations

from typing import NotRequired, TypedDict


class ReportRow(TypedDict):
    """One choice of a question: how many of the base chose it."""

    value: str
    label: str
    count: int
    #: 100·count/base to one decimal (halves up); None when the base is 0.
    percent: float | None
    #: The 95 % Wilson interval in percent, one decimal; None when the base is 0.
    ci: list[float] | None
    #: Present (True) when the count is below the round's small-cell threshold.
    small: NotRequired[bool]


class NumberSummary(TypedDict):
    """A number question's figures (None where nobody answered it)."""

    mean: float | None
    median: float | int | None
    min: float | int | None
    max: float | int | None
    sd: float | None


class ComparedRow(TypedDict):
    """A choice in the compared round, and the change of its share since then."""

    value: str
    count: int
    percent: float | None
    #: Percentage points from the compared round to this one; None when either base is 0.
    change_pp: float | None


class Comparison(TypedDict):
    """The same question (by name) in another round of the survey."""

    round: int
    base: int
    rows: NotRequired[list[ComparedRow]]
    mean: NotRequired[float | None]
    #: This round's mean minus the compared round's.
    change: NotRequired[float | None]


class GroupTable(TypedDict):
    """A question's figures in one group of a breakdown (and the body of a :class:`QuestionTable`)."""

    #: Those who answered it: the denominator.
    base: int
    rows: NotRequired[list[ReportRow]]
    #: select_multiple: the mean number of options chosen (None when the base is 0).
    mean_selected: NotRequired[float | None]
    mean: NotRequired[float | None]
    median: NotRequired[float | int | None]
    min: NotRequired[float | int | None]
    max: NotRequired[float | int | None]
    sd: NotRequired[float | None]
    #: With a compared round: the same question in the same group of that round.
    compare: NotRequired[Comparison]


class QuestionTable(GroupTable):
    """One question of the report."""

    name: str
    path: str
    label: str
    type: str
    #: Counted submissions where the question was relevant.
    asked: int
    #: Its groups when the report is broken down (``by``), every choice of the breakdown question.
    by: NotRequired[dict[str, GroupTable]]


class RoundReport(TypedDict):
    """The round report of one form."""

    form_id: str
    round: int
    #: Counted submissions (current, processed, consent not refused, not rejected, valid or approved).
    submissions: int
    #: The breakdown asked for (a select_one's name or path, or ``location``), else None.
    by: str | None
    #: The language of the labels.
    language: str
    questions: list[QuestionTable]
