"""A poison submission against the real worker (issue 13, item 2): it is marked failed, the next one is
processed, the sweep leaves it alone, and once the fault is fixed it is processed again from the service
the admin calls."""


import pytest
import requests

from surveys.models import Round, Submission
from surveys.services.processing import submissions_retry
from surveys.tasks import submissions_sweep_task
from tests.factories import PASSWORD, UserFactory
from tests.submissions import household_xml, new_instance_id, wait_for

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def post(url, xml):
    return requests.post(f"{url}/submission", files=[("xml_submission_file", ("submission.xml", xml, "text/xml"))],
                         auth=("enum01", PASSWORD), timeout=60)


def test_the_worker_marks_a_poison_submission_failed_and_goes_on(live_server, enumerator, celery_worker_process):
    round_ = enumerator.assignments.get().round
    Round.objects.filter(pk=round_.pk).update(checks={"timezone": "Mars/Olympus_Mons"})  # a fault in the settings
    poison = new_instance_id()
    assert post(live_server.url, household_xml(instance_id=poison)).status_code == 201
    assert wait_for(poison, "failed") == "failed"
    assert Submission.objects.get(instance_id=poison).processing_error == (
        "Processing stopped at the interview facts step (ZoneInfoNotFoundError); the server log has the details.")

    Round.objects.filter(pk=round_.pk).update(checks={})
    fine = new_instance_id()
    assert post(live_server.url, household_xml(instance_id=fine)).status_code == 201
    assert wait_for(fine, "processed") == "processed"
    assert submissions_sweep_task.delay(0).get(timeout=30) == 0  # the failed one is not sent again

    assert submissions_retry(submission_ids=[Submission.objects.get(instance_id=poison).pk],
                             by=UserFactory(username="admin", is_superuser=True)) == 1
    assert wait_for(poison, "processed") == "processed"
    assert Submission.objects.get(instance_id=poison).processing_error == ""
