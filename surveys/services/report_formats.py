"""The round report rendered as JSON (the schema), CSV or Markdown — one
block per question as in the seed appendix: options, frequency, % by column,
total. (XLSX and the HTML page come with the aggregation issue.)"""

from __future__ import annotations

import csv
import io
import json
from typing import Any


def _json(report: dict[str, Any]) -> bytes:
    return (json.dumps(report, ensure_ascii=False, indent=1) + "\n").encode()


def _lines(report: dict[str, Any]) -> list[list[Any]]:
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


def _csv(report: dict[str, Any]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["question", "option", "frequency", "% by column", "ci low", "ci high", "note"])
    writer.writerows(_lines(report))
    return out.getvalue().encode("utf-8")


def _md(report: dict[str, Any]) -> bytes:
    out = [f"# {report['form_id']} — round {report['round']} ({report['submissions']} submissions)", ""]
    for q in report["questions"]:
        out += [f"## {q['label']}", "", f"Asked {q['asked']}, answered {q['base']}.", ""]
        if "rows" in q:
            out += ["| Option | Frequency | % | 95% CI |", "|---|---:|---:|---|"]
            for row in q["rows"]:
                ci = f"{row['ci'][0]}–{row['ci'][1]}" if row["ci"] else ""
                mark = " (small)" if row.get("small") else ""
                percent = "" if row["percent"] is None else row["percent"]
                out.append(f"| {row['label']}{mark} | {row['count']} | {percent} | {ci} |")
        else:
            out.append(f"Mean {q['mean']}, median {q['median']}, min {q['min']}, max {q['max']}, sd {q['sd']}.")
        out.append("")
    return "\n".join(out).encode("utf-8")


FORMATS = {"json": _json, "csv": _csv, "md": _md}


def render_report(report: dict[str, Any], fmt: str) -> bytes:
    return FORMATS[fmt](report)
