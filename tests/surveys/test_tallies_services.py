"""Tallies against the real services: a real worker (two processes) counts
concurrent posts into the same cells on PostgreSQL while a supervisor
rejects some; the result equals a rebuild, and the report reads it."""

import threading
import time
from decimal import Decimal

import pytest
import requests
from django.db import connection

from enumerators.models import User
from surveys.models import RoundNumberTally, RoundTally, Submission
from surveys.selectors.reports import round_tabulate
from surveys.services.questionnaires import questionnaire_import
from surveys.services.review import submission_review
from surveys.services.tallies import round_tally_rebuild
from tests.factories import PASSWORD, AssignmentFactory, EnumeratorFactory, RoundFactory, UserFactory
from tests.forms import form_bytes
from tests.submissions import new_instance_id

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def report_xml(n: int) -> bytes:
    sex = "female" if n % 4 == 0 else "male"
    pregnant = "no" if sex == "female" else ""
    return (f'<data id="report" version="1"><start>2024-05-02T10:00:00.000+05:00</start>'
            f"<end>2024-05-02T10:30:00.000+05:00</end><sex>{sex}</sex><age>{20 + n}</age>"
            f"<marital>{'married' if n % 2 else 'single'}</marital><reasons>work{' family' if n % 3 == 0 else ''}"
            f"</reasons><pregnant>{pregnant}</pregnant><remit>yes</remit><share>low</share>"
            f"<meta><instanceID>{new_instance_id()}</instanceID></meta></data>").encode()


def snapshot(round_id):
    """The cells (with a number cell's number) and the number questions' running sums."""
    cells = {(t.dimension, t.group, t.path, t.value): t.count if t.number is None else (t.count, t.number)
             for t in RoundTally.objects.filter(round_id=round_id)}
    sums = {("sums", t.dimension, t.group, t.path): (t.n, Decimal(t.total), Decimal(t.squares))
            for t in RoundNumberTally.objects.filter(round_id=round_id)}
    return {**cells, **sums}


def test_concurrent_processing_and_reviews_equal_a_rebuild(live_server, celery_worker_process):
    assert connection.vendor == "postgresql"
    round_ = RoundFactory(number=4)
    questionnaire_import(source=form_bytes("report.md"), filename="report.md", survey_slug="mtm-kz", round_number=4)
    AssignmentFactory(enumerator=EnumeratorFactory(user=UserFactory(username="enum01")), round=round_)
    boss = UserFactory(username="boss", is_superuser=True)
    codes = []

    def send(numbers):
        for n in numbers:
            parts = [("xml_submission_file", ("submission.xml", report_xml(n), "text/xml"))]
            codes.append(requests.post(f"{live_server.url}/submission", files=parts, auth=("enum01", PASSWORD),
                                       timeout=60).status_code)

    threads = [threading.Thread(target=send, args=(range(k, 24, 4),)) for k in range(4)]
    for thread in threads:
        thread.start()
    rejected = 0
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        # Reject interviews as they get processed, while the worker is still counting others.
        for sub in Submission.objects.filter(processing="processed", review_status__isnull=True)[:2]:
            if rejected < 5:
                submission_review(submission_id=sub.pk, status="not_approved", by=User.objects.get(pk=boss.pk))
                rejected += 1
        if Submission.objects.filter(processing="processed").count() == 24 and rejected == 5:
            break
        time.sleep(0.1)
    for thread in threads:
        thread.join()

    assert codes == [201] * 24
    assert Submission.objects.filter(processing="processed").count() == 24
    live = snapshot(round_.pk)
    assert live[("", "", "", "@n")] == 19
    assert live[("sums", "", "", "age")][0] == 19
    assert sum(v for (d, g, p, val), v in live.items() if (d, p, val) == ("sex", "", "@n")) == 19
    report = round_tabulate(form_id="report", by="sex")
    round_tally_rebuild(round_id=round_.pk)
    assert snapshot(round_.pk) == live
    assert round_tabulate(form_id="report", by="sex") == report
    assert report["submissions"] == 19
