"""Processing after storage: process_pending, the sweep, idempotence."""

import pytest
from django.core.management import call_command

from surveys.models import Submission
from surveys.tasks import submissions_sweep_task
from tests.submissions import auth, instance_xml, multipart


@pytest.mark.django_db
class TestProcessPending:
    def test_processes_what_no_worker_processed_and_is_idempotent(self, client, enumerator, capsys):
        for age in ("20", "30"):
            xml = instance_xml(form_id="household", version="2024050101", age=age)
            assert client.post("/submission", multipart(xml), **auth()).status_code == 201
        assert list(Submission.objects.values_list("processing", flat=True)) == ["pending", "pending"]

        call_command("process_pending")
        call_command("process_pending", "--form", "household")

        assert capsys.readouterr().out == "pending 2: processed 2, failed 0\npending 0: processed 0, failed 0\n"
        assert sorted(Submission.objects.values_list("processing", flat=True)) == ["processed", "processed"]

    def test_sweep_enqueues_pending_submissions_past_the_grace_period(self, client, enumerator, settings):
        settings.MTM_SWEEP_GRACE_SECONDS = 0
        client.post("/submission", multipart(instance_xml(form_id="household", version="2024050101")), **auth())

        assert submissions_sweep_task.delay().get() == 1
        assert Submission.objects.get().processing == "processed"
        assert submissions_sweep_task.delay().get() == 0

    def test_sweep_leaves_recent_submissions_to_their_own_task(self, client, enumerator, settings):
        settings.MTM_SWEEP_GRACE_SECONDS = 3600
        client.post("/submission", multipart(instance_xml(form_id="household", version="2024050101")), **auth())
        assert submissions_sweep_task.delay().get() == 0
        assert Submission.objects.get().processing == "pending"
