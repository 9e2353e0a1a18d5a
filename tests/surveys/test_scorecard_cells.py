"""The scorecard's running cells: an edit replaces its version's share, a refusal and a back-check add none,
and a rebuild from the stored facts gives the same rows."""

import datetime as dt
import random
from dataclasses import replace

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from enumerators.models import User
from surveys.models import InterviewQuality, ScoreCell, Submission
from surveys.services.ingest import Sender, submission_ingest_xml
from surveys.services.processing import submission_process
from surveys.services.quality.cells import round_scorecard_rebuild
from tests.quality import instance_xml, interview, send
from tests.surveys.test_audit_log import quality_form  # noqa: F401 - the fixture


def cells(round_id):
    return sorted(ScoreCell.objects.filter(round_id=round_id).values_list("enumerator_id", "kind", "key", "n"))


@pytest.mark.django_db
def test_an_edit_replaces_the_share_of_the_version_it_replaces(quality_form):  # noqa: F811
    rng = random.Random(9)
    first = send(interview(rng, day=dt.date(2024, 5, 2), hour=10), "enum01")
    item = interview(rng, day=dt.date(2024, 5, 2), hour=11)
    original = send(item, "enum01")
    one_each = cells(quality_form.pk)
    assert dict((k, n) for _, kind, k, n in one_each if kind == "s")["n"] == 2

    edited = replace(item, instance_id="uuid:11111111-2222-3333-4444-555555555555",
                     answers={**item.answers, "worked": "no"})
    edited.answers.pop("months", None)
    edited.answers.pop("country", None)
    files = [SimpleUploadedFile("audit.csv", item.audit, content_type="text/csv")]
    sub = submission_ingest_xml(xml=instance_xml(edited, deprecated=original.instance_id),
                                sender=Sender(user=User.objects.get(username="enum01")), attachments=files).submission
    submission_process(submission_id=sub.pk)

    summary = {k: n for _, kind, k, n in cells(quality_form.pk) if kind == "s"}
    assert summary["n"] == 2  # the first interview and the edit; the replaced version no longer counts
    assert not InterviewQuality.objects.get(submission=original).counted
    assert InterviewQuality.objects.get(submission_id=sub.pk).counted
    assert summary.get("a:worked=no", 0) == (first.quality.contribution["s"].get("a:worked=no", 0) + 1)
    running = cells(quality_form.pk)
    assert round_scorecard_rebuild(round_id=quality_form.pk) == len(running)
    assert cells(quality_form.pk) == running
    assert Submission.objects.get(pk=original.pk).is_current is False
