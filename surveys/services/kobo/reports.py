"""The round tables (:func:`surveys.services.tabulate.round_tabulate`) in the
shape of KoboToolbox's asset reports: ``{"count": N, "list": [{"name",
"row": {"type", "label": [...]}, "data": {...}, "kuid", "style"}]}`` where
``data`` has ``total_count`` (submissions), ``provided`` / ``not_provided``,
and for choice questions ``responses`` (labels), ``frequencies`` and
``percentages``, for numbers ``stats`` (mean, median, stdev, min, max);
``split_by`` adds ``values``: per choice of the split question, its own
frequencies and percentages. Only counted records (current, not rejected,
consent not refused) are in it, as in every round table."""

from __future__ import annotations

from typing import Any

from surveys.services.kobo.assets import Asset, kuid
from surveys.services.tabulate import round_tabulate


def kobo_report(*, asset: Asset, split_by: str | None = None, lang: str | None = None) -> dict[str, Any]:
    current = asset.current
    report = round_tabulate(form_id=asset.form_id, round_number=current.round.number, by=split_by or None, lang=lang)
    total = report["submissions"]
    items = []
    for question in report["questions"]:
        data = _data(question, total)
        if "by" in question:
            data["values"] = [[name, _data(group, None)] for name, group in question["by"].items()]
        items.append({"name": question["name"], "row": {"type": question["type"], "label": [question["label"]]},
                      "data": data, "kuid": kuid(asset.form_id, question["path"]), "style": {}})
    return {"count": total, "list": items}


def _data(table: dict[str, Any], total: int | None) -> dict[str, Any]:
    base = table["base"]
    out: dict[str, Any] = {"provided": base}
    if total is not None:
        out.update(total_count=total, not_provided=total - base)
    if "rows" in table:
        out.update(show_graph=True, responses=[row["label"] for row in table["rows"]],
                   response_values=[row["value"] for row in table["rows"]],
                   frequencies=[row["count"] for row in table["rows"]],
                   percentages=[row["percent"] if row["percent"] is not None else 0 for row in table["rows"]])
    else:
        out.update(show_graph=False, stats={"mean": table.get("mean"), "median": table.get("median"),
                                            "stdev": table.get("sd"), "min": table.get("min"),
                                            "max": table.get("max")})
    return out
