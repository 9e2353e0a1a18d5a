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


def shared_xlsforms() -> Path | None:
    """The public XLSForms of ``../shared/xlsforms/``, read where they lie: ``MTM_SHARED_XLSFORMS``, else
    ``<repo>/../shared/xlsforms``, else ``/work/shared/xlsforms`` (a clone elsewhere, as CI's)."""
    import os

    candidates = [os.environ.get("MTM_SHARED_XLSFORMS"), Path(__file__).resolve().parents[2] / "shared" / "xlsforms",
                  "/work/shared/xlsforms"]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return None


SHARED_XLSFORMS = shared_xlsforms()


def shared_xlsform(name: str, **settings: str) -> bytes:
    """A published XLSForm from ../shared/xlsforms/, read where it lies, with ``settings`` set on its settings
    sheet (e.g. a ``version``, which the importer needs until forms without one import as published)."""
    import io
    import warnings

    import openpyxl

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "Workbook contains no default style"
        assert SHARED_XLSFORMS is not None, "the shared XLSForms are not here (MTM_SHARED_XLSFORMS)"
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
