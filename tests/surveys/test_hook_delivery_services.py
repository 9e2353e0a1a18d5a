"""REST deliveries with the real Celery workers (processing and hooks on their own queues): a receiver
that hangs never holds processing, and a receiver that fails three times ends with one delivery."""

from __future__ import annotations

import threading
import time

import pytest

from enumerators.models import User
from surveys.models import HookDelivery, HookLog, Submission
from surveys.selectors.kobo.assets import asset_of_form
from surveys.services.hooks.config import HookInput, hook_create
from surveys.services.ingest import Sender, submission_ingest_xml
from tests.factories import UserFactory
from tests.receivers import receiving
from tests.surveys.api.kobo.conftest import household_instance

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def until(check, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    return check()


def ingest(n: int) -> list[int]:
    user = User.objects.get(username="enum01")
    return [submission_ingest_xml(xml=household_instance(age=str(20 + i)), sender=Sender(user=user)).submission.pk
            for i in range(n)]


def test_a_hanging_receiver_never_holds_processing(enumerator, celery_worker_process):
    owner = UserFactory(username="owner1", is_superuser=True)
    hold = threading.Event()
    with receiving(hold=hold) as receiver:
        hook_create(user=owner, asset=asset_of_form(form_id="household"),
                    data=HookInput(name="slow", endpoint=receiver.url))
        ids = ingest(6)

        processed = until(lambda: Submission.objects.filter(pk__in=ids, processing="processed").count() == 6)
        assert processed, list(Submission.objects.filter(pk__in=ids).values_list("processing", flat=True))
        assert receiver.arrived.is_set() and not hold.is_set()  # the receiver still holds its requests
        assert HookDelivery.objects.filter(status=HookDelivery.Status.SUCCESS).count() == 0
        hold.set()
        assert until(lambda: HookDelivery.objects.filter(status=HookDelivery.Status.SUCCESS).count() == 6)

    assert sorted(HookDelivery.objects.values_list("submission_id", flat=True)) == sorted(ids)


def test_three_failures_then_success_with_the_real_workers(enumerator, celery_worker_process):
    owner = UserFactory(username="owner1", is_superuser=True)
    with receiving(codes=(500, 500, 500, 200)) as receiver:
        hook_create(user=owner, asset=asset_of_form(form_id="household"),
                    data=HookInput(name="flaky", endpoint=receiver.url))
        (sub_id,) = ingest(1)

        assert until(lambda: HookDelivery.objects.filter(status=HookDelivery.Status.SUCCESS).exists())

    assert len(receiver.received) == 4
    assert list(HookDelivery.objects.values_list("submission_id", "status", "tries")) == [(sub_id, 2, 4)]
    assert list(HookLog.objects.order_by("attempt").values_list("status", "status_code")) == [
        (1, 500), (1, 500), (1, 500), (2, 200)]
