"""XLSForms for tests, written in pyxform's markdown table format."""

from pathlib import Path

FORMS = Path(__file__).parent / "fixtures" / "forms"


def form_bytes(name: str) -> bytes:
    return (FORMS / name).read_bytes()


def simple_form(*, form_id: str = "simple", version: str = "1", extra_rows: str = "",
                title: str = "Simple form") -> bytes:
    """A one-question form; ``extra_rows`` are more survey rows (type | name | label)."""
    return f"""
| survey |
| | type | name | label |
| | text | q1 | Question one |
{extra_rows}
| settings |
| | form_id | version | form_title |
| | {form_id} | {version} | {title} |
""".encode()


SHARED_XLSFORMS = Path(__file__).resolve().parents[2] / "shared" / "xlsforms"


def shared_xlsform(name: str, **settings: str) -> bytes:
    """A published XLSForm from ../shared/xlsforms/, read where it lies, with ``settings`` set on its settings
    sheet (e.g. a ``version``, which the importer needs until forms without one import as published)."""
    import io
    import warnings

    import openpyxl

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "Workbook contains no default style"
        workbook = openpyxl.load_workbook(SHARED_XLSFORMS / name)
    sheet = workbook["settings"]
    header = [cell.value for cell in sheet[1]]
    for key, value in settings.items():
        if key not in header:
            header.append(key)
            sheet.cell(row=1, column=len(header), value=key)
        sheet.cell(row=2, column=header.index(key) + 1, value=value)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
