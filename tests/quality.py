"""Simulated interviews of the quality form (tests/fixtures/forms/quality.md) with the audit logs ODK Collect
writes: honest enumerators and a fabricator."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import random
import uuid
from dataclasses import dataclass, field

from django.core.files.uploadedfile import SimpleUploadedFile

from surveys.models import Submission
from surveys.services.ingest import Sender, submission_ingest_xml
from surveys.services.processing import submission_process

#: The questions in the form's order, with the seconds an honest enumerator takes on each.
QUESTIONS = [("place", 6), ("sex", 5), ("age", 8), ("worked", 9), ("months", 10), ("country", 9), ("remit", 9),
             ("amount", 14), ("return", 9), ("docs", 10), ("contract", 10), ("sat/sat1", 7), ("sat/sat2", 7),
             ("sat/sat3", 7), ("sat/sat4", 7), ("comment", 25)]
HEADER = ["event", "node", "start", "end", "latitude", "longitude", "accuracy", "old-value", "new-value"]
ALMATY = (43.25, 76.90)
ASTANA = (51.15, 71.45)


@dataclass
class Interview:
    answers: dict[str, str]
    audit: bytes
    start: dt.datetime
    end: dt.datetime
    instance_id: str = field(default_factory=lambda: f"uuid:{uuid.uuid4()}")


def honest_answers(rng: random.Random) -> dict[str, str]:
    a = {"place": "kz_75", "sex": rng.choice(["male", "male", "female"]), "age": str(rng.randint(19, 60))}
    a["worked"] = "yes" if rng.random() < 0.7 else "no"
    if a["worked"] == "yes":
        a["months"] = str(rng.randint(1, 12))
        a["country"] = rng.choices(["ru", "kz", "tr"], [5, 3, 2])[0]
    a["remit"] = "yes" if rng.random() < 0.6 else "no"
    if a["remit"] == "yes":
        a["amount"] = str(rng.randint(50, 900))
    for name in ("return", "docs", "contract"):
        a[name] = rng.choices(["yes", "no", "dk"], [3, 3, 2])[0]
    for item in range(1, 5):
        a[f"sat/sat{item}"] = str(rng.randint(1, 4))
    a["comment"] = rng.choice(["", "ok", "long interview"])
    return a


def fabricated_answers(rng: random.Random) -> dict[str, str]:
    """Everyone alike: no to every gate (the follow-ups vanish), never "don't know", one answer down the scale."""
    return {"place": "kz_75", "sex": "male", "age": str(rng.randint(30, 33)), "worked": "no", "remit": "no",
            "return": "yes", "docs": "yes", "contract": "yes", "sat/sat1": "3", "sat/sat2": "3", "sat/sat3": "3",
            "sat/sat4": "3", "comment": ""}


def audit_csv(answers: dict[str, str], *, start: dt.datetime, rng: random.Random, speed: float,
              where: tuple[float, float], change_one: bool = False) -> tuple[bytes, dt.datetime]:
    """The audit log Collect writes for ``answers`` (track-changes and location columns), and the end time."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    t = int(start.timestamp() * 1000)

    def position() -> list[str]:
        return [f"{where[0] + rng.uniform(-0.01, 0.01):.6f}", f"{where[1] + rng.uniform(-0.01, 0.01):.6f}", "12.0"]

    writer.writerow(["form start", "", t, "", "", "", "", "", ""])
    writer.writerow(["location tracking enabled", "", t, "", "", "", "", "", ""])
    writer.writerow(["location permissions granted", "", t, "", "", "", "", "", ""])
    writer.writerow(["location providers enabled", "", t, "", "", "", "", "", ""])
    shown = [(path, base) for path, base in QUESTIONS if path in answers]
    for index, (path, base) in enumerate(shown):
        took = int(1000 * base * speed * math.exp(rng.gauss(0, 0.3)))
        if index % 4 == 0:
            writer.writerow(["location changed", "", t, "", *position(), "", ""])
        writer.writerow(["question", f"/data/{path}", t, t + took, *position(), "", answers[path]])
        t += took + 300
    if change_one:  # back to the second question, change it, and on to the end again
        path = shown[1][0]
        writer.writerow(["jump", "", t, "", *position(), "", ""])
        writer.writerow(["question", f"/data/{path}", t, t + 4000, *position(), answers[path], "female"])
        answers[path] = "female"
        t += 4300
    writer.writerow(["end screen", "", t, t + 2000, *position(), "", ""])
    writer.writerow(["form save", "", t + 2000, "", *position(), "", ""])
    writer.writerow(["form exit", "", t + 2100, "", *position(), "", ""])
    writer.writerow(["form finalize", "", t + 2100, "", *position(), "", ""])
    end = dt.datetime.fromtimestamp((t + 2100) / 1000, tz=dt.UTC)
    return out.getvalue().encode(), end


def interview(rng: random.Random, *, day: dt.date, hour: int, fabricator: bool = False) -> Interview:
    answers = fabricated_answers(rng) if fabricator else honest_answers(rng)
    almaty = dt.timezone(dt.timedelta(hours=5))
    start = dt.datetime(day.year, day.month, day.day, hour, rng.randint(0, 50), tzinfo=almaty)
    speed = 0.2 if fabricator else math.exp(rng.gauss(0, 0.2))
    data, end = audit_csv(answers, start=start, rng=rng, speed=speed, where=ASTANA if fabricator else ALMATY,
                          change_one=not fabricator and rng.random() < 0.1)
    if not fabricator:  # honest interviews also take the time to talk: 20 minutes or more
        end = max(end, start + dt.timedelta(minutes=20 + rng.randint(0, 20)))
    return Interview(answers, data, start, end)


def instance_xml(item: Interview, *, form_id: str = "quality", extra: str = "", deprecated: str = "") -> bytes:
    def value(path: str) -> str:
        return item.answers.get(path, "")

    plain = "".join(f"<{name}>{value(name)}</{name}>" for name in (
        "place", "sex", "age", "worked", "months", "country", "remit", "amount", "return", "docs", "contract"))
    scale = "".join(f"<sat{n}>{value(f'sat/sat{n}')}</sat{n}>" for n in range(1, 5))
    return (f'<data id="{form_id}" version="1"><start>{item.start.isoformat()}</start>'
            f"<end>{item.end.isoformat()}</end>{plain}<sat>{scale}</sat><comment>{value('comment')}</comment>{extra}"
            f"<meta><audit>audit.csv</audit><instanceID>{item.instance_id}</instanceID>"
            f"{f'<deprecatedID>{deprecated}</deprecatedID>' if deprecated else ''}</meta></data>").encode()


def send(item: Interview, username: str, *, audit: bytes | None = None) -> Submission:
    from enumerators.models import User

    files = [SimpleUploadedFile("audit.csv", item.audit if audit is None else audit, content_type="text/csv")]
    sub = submission_ingest_xml(xml=instance_xml(item), sender=Sender(user=User.objects.get(username=username)),
                                attachments=files).submission
    submission_process(submission_id=sub.pk)
    return Submission.objects.get(pk=sub.pk)


def backcheck_xml(original: Interview, answers: dict[str, str]) -> bytes:
    """The back-check form (tests/fixtures/forms/quality_backcheck.md) filled with ``answers``."""
    names = ("sex", "age", "worked", "months", "remit", "docs", "comment")
    body = "".join(f"<{n}>{answers.get(n, '')}</{n}>" for n in names)
    return (f'<data id="quality_bc" version="1"><start>{original.start.isoformat()}</start>'
            f"<end>{original.end.isoformat()}</end><original_instance_id>{original.instance_id}"
            f"</original_instance_id>{body}<meta><instanceID>uuid:{uuid.uuid4()}</instanceID></meta></data>").encode()
