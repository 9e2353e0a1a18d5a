"""The hand-computed report fixture: two rounds of the report form (tests/fixtures/forms/report.md)."""

from tests.submissions import ingest_processed, new_instance_id

ROUND4 = [  # sex, age, marital, reasons, pregnant, remit, share
    ("male", 30, "married", "work family", "", "yes", "low"),
    ("male", 40, "single", "work", "", "yes", ""),
    ("male", 50, "married", "work", "", "no", ""),
    ("female", 20, "single", "family study", "no", "yes", "high"),
    ("female", 36, "married", "study", "yes", "no", ""),
    ("male", 28, "divorced", "work", "", "yes", "high"),
    ("female", 33, "married", "family", "no", "no", ""),  # rejected below: never counted
    ("male", 36, "married", "", "", "no", ""),
]
ROUND3 = [("male", 30, "married", "work", "", "no", ""), ("male", 40, "single", "work", "", "no", ""),
          ("female", 20, "single", "family", "no", "no", ""), ("male", 50, "married", "work", "", "no", "")]


def send_report_row(form_id, row, *, deprecated=None):
    """Ingest and process one interview of the report form (an edit of ``deprecated`` when given)."""
    sex, age, marital, reasons, pregnant, remit, share = row
    meta = f"<instanceID>{new_instance_id()}</instanceID>"
    if deprecated:
        meta += f"<deprecatedID>{deprecated}</deprecatedID>"
    xml = (f'<data id="{form_id}" version="1"><start>2024-05-02T10:00:00.000+05:00</start>'
           f"<end>2024-05-02T10:30:00.000+05:00</end><sex>{sex}</sex><age>{age}</age><marital>{marital}</marital>"
           f"<reasons>{reasons}</reasons><pregnant>{pregnant}</pregnant><remit>{remit}</remit><share>{share}</share>"
           f"<meta>{meta}</meta></data>").encode()
    return ingest_processed(xml)
