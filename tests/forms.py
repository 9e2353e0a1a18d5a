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
