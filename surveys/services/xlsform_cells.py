"""Settings cells as Excel shows them.

pyxform reads a workbook's cells as Python values and prints them as Python
does: a ``version`` typed as a date (``=NOW()``, a date picked in Excel)
becomes ``2022-04-11 16:26:28.971000``, a number ``2024050101.0`` may lose
its format. A form designer reads the cell as Excel shows it — the cell's
number format applied to its value — and that is the version the form must
carry. Formula cells are read through the value Excel saved with them
(openpyxl ``data_only=True``; xlrd reads only saved values); a formula saved
without one (a file written by a library, never opened in a spreadsheet) has
no value.

:func:`settings_cells_shown` reads the first row under the ``settings``
sheet's header of an .xlsx/.xlsm/.xls workbook; :func:`excel_shown` renders
one value with a number format (General, ``0``/``0.00``/``#,##0``, text ``@``
and date/time formats with ``yyyy mm dd hh mm ss AM/PM``).
"""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

#: The settings whose cell is read as Excel shows it.
SHOWN_SETTINGS = ("form_id", "id_string", "version")

_DATE_TOKEN = re.compile(r"(\\.|\"[^\"]*\"|yyyy|yy|mmmm|mmm|mm|m|dd|d|hh|h|ss|s|AM/PM|A/P|\.0+|\[[^\]]*\]|.)",
                         re.IGNORECASE)
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)


def settings_cells_shown(*, source: bytes, file_type: str) -> dict[str, str | None]:
    """``{setting: text}`` for the :data:`SHOWN_SETTINGS` present on the settings sheet of a workbook, as
    Excel shows them (None for a formula saved without its value). Empty for .csv/.md and for workbooks
    without a settings sheet; a workbook that cannot be read is pyxform's to refuse."""
    try:
        if file_type in (".xlsx", ".xlsm"):
            return _xlsx_settings(source)
        if file_type == ".xls":
            return _xls_settings(source)
    except Exception:  # noqa: BLE001 - pyxform reports an unreadable workbook in its own words
        return {}
    return {}


def _wanted(header: Any) -> str | None:
    name = str(header or "").strip().lower()
    return name if name in SHOWN_SETTINGS else None


def _xlsx_settings(source: bytes) -> dict[str, str | None]:
    shown: dict[str, str | None] = {}
    empty: list[str] = []
    for key, cell in _xlsx_setting_cells(source, data_only=True):
        if cell.value is not None:
            shown[key] = excel_shown(cell.value, getattr(cell, "number_format", "General") or "General")
        else:
            empty.append(key)
    if empty:  # a formula saved without its value reads as empty: look at the formula itself
        for key, cell in _xlsx_setting_cells(source, data_only=False):
            if key in empty and isinstance(cell.value, str) and cell.value.startswith("="):
                shown[key] = None
    return shown


def _xlsx_setting_cells(source: bytes, *, data_only: bool) -> list[tuple[str, Any]]:
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(source), data_only=data_only, read_only=True)
    try:
        sheet = next((book[n] for n in book.sheetnames if n.strip().lower() == "settings"), None)
        if sheet is None:
            return []
        rows = sheet.iter_rows(min_row=1, max_row=2)
        header, values = next(rows, ()), next(rows, ())
        return [(key, cell) for head, cell in zip(header, values, strict=False)
                if (key := _wanted(head.value)) is not None]
    finally:
        book.close()


def _xls_settings(source: bytes) -> dict[str, str | None]:
    import xlrd  # type: ignore[import-untyped]  # pyxform's own .xls reader; no stubs

    book = xlrd.open_workbook(file_contents=source, formatting_info=True)
    name = next((n for n in book.sheet_names() if n.strip().lower() == "settings"), None)
    if name is None:
        return {}
    sheet = book.sheet_by_name(name)
    if sheet.nrows < 2:
        return {}
    shown: dict[str, str | None] = {}
    for col in range(sheet.ncols):
        key = _wanted(sheet.cell_value(0, col))
        if key is None:
            continue
        cell = sheet.cell(1, col)
        if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
            continue
        fmt = book.format_map[book.xf_list[cell.xf_index].format_key].format_str
        value: Any = cell.value
        if cell.ctype == xlrd.XL_CELL_DATE:
            value = _EXCEL_EPOCH + dt.timedelta(days=value) if book.datemode == 0 else (
                dt.datetime(1904, 1, 1) + dt.timedelta(days=value))
        elif cell.ctype == xlrd.XL_CELL_BOOLEAN:
            value = bool(value)
        shown[key] = excel_shown(value, fmt)
    return shown


def excel_shown(value: Any, number_format: str) -> str:
    """``value`` as Excel shows it under ``number_format``."""
    fmt = (number_format or "General").split(";")[0]
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return _date_shown(value, fmt if _is_date_format(fmt) else "yyyy-mm-dd hh:mm:ss")
    if isinstance(value, int | float):
        if _is_date_format(fmt):
            return _date_shown(_EXCEL_EPOCH + dt.timedelta(days=float(value)), fmt)
        return _number_shown(value, fmt)
    return str(value).replace("\xa0", " ")


def _is_date_format(fmt: str) -> bool:
    bare = re.sub(r"\"[^\"]*\"|\\.|\[[^\]]*\]", "", fmt)
    return bool(re.search(r"[ydhs]", bare, re.IGNORECASE)) or bool(re.search(r"m", bare) and ":" in bare)


def _number_shown(value: float, fmt: str) -> str:
    if fmt.lower() in ("general", "@", ""):
        if float(value).is_integer():
            return str(int(value))
        return f"{value:.15g}" if "e" not in f"{value:.15g}" else repr(value)
    match = re.fullmatch(r"(#,##)?(0+)(\.(0+))?", fmt.replace("\\", ""))
    if match is None:
        return _number_shown(value, "General")
    decimals = len(match.group(4) or "")
    text = f"{value:,.{decimals}f}" if match.group(1) else f"{value:.{decimals}f}"
    integer, _, fraction = text.partition(".")
    integer = integer.zfill(len(match.group(2))) if not match.group(1) else integer
    return f"{integer}.{fraction}" if fraction else integer


def _date_shown(value: dt.date | dt.time, fmt: str) -> str:
    if isinstance(value, dt.time):
        value = dt.datetime.combine(dt.date(1899, 12, 30), value)
    elif not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    tokens = [t for t in _DATE_TOKEN.findall(fmt)]
    fraction_digits = max((len(t) - 1 for t in tokens if t.startswith(".0")), default=0)
    # Excel rounds to the precision it shows (whole seconds unless the format shows fractions).
    step = dt.timedelta(seconds=10 ** -fraction_digits)
    micro = value - dt.datetime.min
    value = dt.datetime.min + round(micro / step) * step
    twelve = any(t.upper() in ("AM/PM", "A/P") for t in tokens)
    out: list[str] = []
    for i, token in enumerate(tokens):
        low = token.lower()
        if token.startswith("\\"):
            out.append(token[1:])
        elif token.startswith('"'):
            out.append(token[1:-1])
        elif token.startswith("["):
            continue
        elif low == "yyyy":
            out.append(f"{value.year:04d}")
        elif low == "yy":
            out.append(f"{value.year % 100:02d}")
        elif low in ("mmmm", "mmm"):
            out.append(value.strftime("%B" if low == "mmmm" else "%b"))
        elif low in ("mm", "m"):
            minute = _is_minute(tokens, i)
            number = value.minute if minute else value.month
            out.append(f"{number:02d}" if low == "mm" else str(number))
        elif low in ("dd", "d"):
            out.append(f"{value.day:02d}" if low == "dd" else str(value.day))
        elif low in ("hh", "h"):
            hour = value.hour % 12 or 12 if twelve else value.hour
            out.append(f"{hour:02d}" if low == "hh" else str(hour))
        elif low in ("ss", "s"):
            out.append(f"{value.second:02d}" if low == "ss" else str(value.second))
        elif token.startswith(".0"):
            out.append("." + f"{value.microsecond:06d}"[: len(token) - 1])
        elif low == "am/pm":
            out.append("AM" if value.hour < 12 else "PM")
        elif low == "a/p":
            out.append("A" if value.hour < 12 else "P")
        else:
            out.append(token)
    return "".join(out)


def _is_minute(tokens: list[str], index: int) -> bool:
    """``m``/``mm`` is minutes right after an hour or right before seconds (Excel's rule), else the month."""
    for token in reversed(tokens[:index]):
        low = token.lower()
        if low in ("h", "hh"):
            return True
        if low.isalpha() and low not in ("m", "mm"):
            break
    for token in tokens[index + 1:]:
        low = token.lower()
        if low in ("s", "ss"):
            return True
        if low.isalpha():
            break
    return False
