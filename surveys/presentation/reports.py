"""The round report rendered as JSON (the schema), CSV, Markdown, XLSX (one
block per question as in the seed appendix: label, options, frequency,
% by column, total — with a column pair per group when disaggregated) and
the HTML page supervisors read (a bar chart per question)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from surveys.round_report import QuestionTable, RoundReport


def _json(report: RoundReport) -> bytes:
    return (json.dumps(report, ensure_ascii=False, indent=1) + "\n").encode()


def _lines(report: RoundReport) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for q in report["questions"]:
        rows.append([q["label"], q["path"], f"asked {q['asked']}", f"base {q['base']}"])
        if "rows" in q:
            for row in q["rows"]:
                low, high = row["ci"] or ("", "")
                rows.append(["", row["label"], row["count"], row["percent"], low, high, "small" if row.get("small")
                             else ""])
            rows.append(["", "Total", q["base"], 100.0 if q["base"] and q["type"] == "select_one" else ""])
        else:
            rows.append(["", "mean / median / min / max / sd", q["mean"], q["median"], q["min"], q["max"], q["sd"]])
    return rows


def _csv(report: RoundReport) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["question", "option", "frequency", "% by column", "ci low", "ci high", "note"])
    writer.writerows(_lines(report))
    return out.getvalue().encode("utf-8")


def _title(report: RoundReport) -> str:
    """``mtm_kz_r4 — round 4: 1845 submissions[, by sex]``, in the active language."""
    title = ngettext("%(form_id)s — round %(round)s: %(count)s submission",
                     "%(form_id)s — round %(round)s: %(count)s submissions", report["submissions"]) % {
        "form_id": report["form_id"], "round": report["round"], "count": report["submissions"]}
    return title + (_(", by %(by)s") % {"by": report["by"]} if report["by"] else "")


def _asked(q: QuestionTable) -> str:
    return _("Asked %(asked)s, answered %(base)s.") % {"asked": q["asked"], "base": q["base"]}


def _md(report: RoundReport) -> bytes:
    """Markdown for people: headings and headers in the active language."""
    out = [f"# {_title(report)}", ""]
    for q in report["questions"]:
        out += [f"## {q['label']}", "", _asked(q), ""]
        if "rows" in q:
            out += ["| " + " | ".join([_("Option"), _("Frequency"), "%", _("95% CI")]) + " |", "|---|---:|---:|---|"]
            small = " (" + _("small cell") + ")"
            for row in q["rows"]:
                ci = f"{row['ci'][0]}–{row['ci'][1]}" if row["ci"] else ""
                mark = small if row.get("small") else ""
                percent = "" if row["percent"] is None else row["percent"]
                out.append(f"| {row['label']}{mark} | {row['count']} | {percent} | {ci} |")
        else:
            out.append(_("Mean %(mean)s, median %(median)s, min %(min)s, max %(max)s, sd %(sd)s.") % {
                key: q[key] for key in ("mean", "median", "min", "max", "sd")})
        out.append("")
    return "\n".join(out).encode("utf-8")


#: The number statistics' row names in the XLSX report (translated when written).
STATISTICS = {"mean": gettext_noop("Mean"), "median": gettext_noop("Median"), "min": gettext_noop("Min"),
              "max": gettext_noop("Max"), "sd": gettext_noop("SD")}


def _xlsx(report: RoundReport) -> bytes:
    """The printed appendix's layout, its headers in the active language; numbers stay numbers (Excel shows
    them in the reader's own format)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.worksheets[0]  # the new workbook's one (active) sheet
    sheet.title = (_("Round %(round)s") % {"round": report["round"]})[:31]
    bold = Font(bold=True)
    groups = list((report["questions"][0].get("by") or {}).keys()) if report["questions"] else []
    sheet.append([_title(report)])
    sheet["A1"].font = bold
    for q in report["questions"]:
        sheet.append([])
        sheet.append([q["label"], _("asked %(count)s") % {"count": q["asked"]},
                      _("answered %(count)s") % {"count": q["base"]}])
        sheet.cell(row=sheet.max_row, column=1).font = bold
        heading = ["", _("Frequency"), _("% by column")] + [h for g in groups for h in (f"{g}: n", f"{g}: %")]
        sheet.append(heading)
        if "rows" in q:
            for n, row in enumerate(q["rows"]):
                cells = [row["label"], row["count"], row["percent"]]
                for g in groups:
                    sub = q["by"][g]["rows"][n]
                    cells += [sub["count"], sub["percent"]]
                sheet.append(cells)
            total = [_("Total"), q["base"], 100.0 if q["type"] == "select_one" and q["base"] else None]
            for g in groups:
                total += [q["by"][g]["base"], 100.0 if q["type"] == "select_one" and q["by"][g]["base"] else None]
            sheet.append(total)
            sheet.cell(row=sheet.max_row, column=1).font = bold
        else:
            for stat in ("mean", "median", "min", "max", "sd"):
                figures = [v for g in groups for v in (q["by"][g][stat], None)]
                sheet.append([_(STATISTICS[stat]), q[stat], None, *figures])
    sheet.column_dimensions["A"].width = 60
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def for_page(report: RoundReport) -> dict[str, Any]:
    """The report with each row's percentage per group beside it, for templates."""
    questions = []
    for q in report["questions"]:
        groups = list((q.get("by") or {}).items())
        page_q = {**q, "groups": [name for name, _ in groups]}
        if "rows" in q:
            page_q["rows"] = [{**row, "by": [g["rows"][n]["percent"] for _, g in groups]}
                              for n, row in enumerate(q["rows"])]
        else:
            page_q["group_means"] = [(name, g["mean"]) for name, g in groups]
        questions.append(page_q)
    return {**report, "questions": questions}


def _html(report: RoundReport) -> bytes:
    from django.template.loader import render_to_string

    return render_to_string("surveys/round_report_standalone.html", {"report": for_page(report)}).encode("utf-8")


FORMATS = {"json": _json, "csv": _csv, "md": _md, "xlsx": _xlsx, "html": _html}


def render_report(report: RoundReport, fmt: str) -> bytes:
    return FORMATS[fmt](report)
