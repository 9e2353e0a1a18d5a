"""REST services deliver each processed interview's released record to a real HTTP receiver (started by
the test): once per submission version, JSON or XML, signed, retried after failures with every attempt
logged, and never an identifier or a raw answer."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from urllib.parse import urlsplit

import pytest
from django.db import IntegrityError, transaction
from lxml import etree

from enumerators.models import User
from surveys.models import HookDelivery, HookLog, Questionnaire, RestHook, Submission
from surveys.selectors.kobo.assets import asset_of_form
from surveys.services.hooks.config import HookInput, hook_create
from surveys.services.hooks.delivery import deliveries_plan
from surveys.services.hooks.sealing import secrets_open
from surveys.services.ingest import Sender, submission_ingest_xml
from surveys.services.processing import submission_process
from tests.clients import token_client
from tests.factories import UserFactory
from tests.receivers import receiving
from tests.surveys.api.kobo.conftest import household_instance

pytestmark = pytest.mark.django_db

SECRET = "s3cret-key-of-the-receiver"
RAW = ("Ali Valiev", "N123", "43.2500 76.9000")


@pytest.fixture
def analyst(db):
    return token_client("analyst1", "view_submission")


@pytest.fixture
def owner(db):
    return UserFactory(username="owner1", is_superuser=True)


@pytest.fixture
def hook_for(household, owner):
    def make(url: str, **values) -> RestHook:
        asset = asset_of_form(form_id="household")
        values.setdefault("name", "receiver")
        return hook_create(user=owner, asset=asset, data=HookInput(endpoint=url, secret=SECRET, **values))

    return make


@pytest.fixture
def deliver(enumerator, django_capture_on_commit_callbacks):
    """Ingest and process a household interview, running what is enqueued on commit (the deliveries)."""
    def send(**answers) -> Submission:
        with django_capture_on_commit_callbacks(execute=True):
            sub = submission_ingest_xml(xml=household_instance(**answers),
                                        sender=Sender(user=User.objects.get(username="enum01"))).submission
            submission_process(submission_id=sub.pk)
        return Submission.objects.get(pk=sub.pk)

    return send


def api_record(client, submission: Submission) -> dict:
    response = client.get(f"/api/v2/assets/{submission.questionnaire.kobo_uid}/data/{submission.pk}/")
    assert response.status_code == 200, response.content
    return response.json()


def test_every_processed_interview_reaches_a_json_and_an_xml_receiver_once(hook_for, deliver, analyst):
    with receiving() as as_json, receiving() as as_xml:
        hook_for(as_json.url, name="json")
        hook_for(as_xml.url, name="xml", export_type="xml")
        subs = [deliver(age=str(age), sex="female", reasons="work") for age in (30, 41, 52)]

    assert len(as_json.received) == len(as_xml.received) == 3
    for sub, received in zip(subs, as_json.received, strict=True):
        assert received.headers["content-type"] == "application/json"
        assert json.loads(received.body) == api_record(analyst, sub)  # exactly what the data endpoint releases
    for sub, received in zip(subs, as_xml.received, strict=True):
        root = etree.fromstring(received.body)
        assert (root.tag, root.get("id"), root.get("version")) == ("household", "household", "2024050101")
        assert root.findtext("meta/instanceID") == sub.instance_id
        assert root.findtext("resp/age") == sub.answers["resp/age"].__str__()
        assert root.findtext("resp/gps") == api_record(analyst, sub)["resp/gps"]
        assert root.find("resp/name") is None
    assert list(HookDelivery.objects.order_by().values_list("status", "tries").distinct()) == [(2, 1)]
    assert HookDelivery.objects.count() == 6


def test_no_identifier_and_no_raw_answer_in_any_payload(hook_for, deliver):
    with receiving() as as_json, receiving() as as_xml:
        hook_for(as_json.url, name="json")
        hook_for(as_xml.url, name="xml", export_type="xml")
        sub = deliver(name="Ali Valiev", passport="N123")

    bodies = [r.body.decode() for r in as_json.received + as_xml.received]
    assert len(bodies) == 2
    for body in bodies:
        assert not [raw for raw in RAW if raw in body]
        assert "resp/name" not in body and "<name>" not in body
        assert sub.answers["resp/passport"] in body  # the keyed pseudonym is what goes out


def test_the_signature_verifies_with_the_hooks_secret(hook_for, deliver):
    with receiving() as receiver:
        hook_for(receiver.url)
        deliver()

    received = receiver.received[0]
    expected = hmac.new(SECRET.encode(), received.body, hashlib.sha256).hexdigest()
    assert received.headers["x-mtm-signature-256"] == f"sha256={expected}"
    assert not hmac.compare_digest(received.headers["x-mtm-signature-256"],
                                   "sha256=" + hmac.new(b"another secret!!", received.body, "sha256").hexdigest())
    delivery = HookDelivery.objects.get()
    assert (received.headers["x-mtm-delivery"], received.headers["x-mtm-attempt"]) == (delivery.uid, "1")


def test_three_failures_then_success_is_one_delivery_and_four_logs(hook_for, deliver):
    with receiving(codes=(500, 503, 502, 200)) as receiver:
        hook = hook_for(receiver.url)
        sub = deliver()

    assert len(receiver.received) == 4
    assert len({r.body for r in receiver.received}) == 1  # the same record each time
    assert [r.headers["x-mtm-attempt"] for r in receiver.received] == ["1", "2", "3", "4"]
    delivery = HookDelivery.objects.get()
    assert (delivery.hook_id, delivery.submission_id, delivery.status, delivery.tries, delivery.status_code) == (
        hook.pk, sub.pk, HookDelivery.Status.SUCCESS, 4, 200)
    logs = list(HookLog.objects.order_by("attempt").values_list("attempt", "status", "status_code", "message"))
    assert logs == [(1, 1, 500, "answer 1: 500"), (2, 1, 503, "answer 2: 503"), (3, 1, 502, "answer 3: 502"),
                    (4, 2, 200, "answer 4: 200")]


def test_a_receiver_that_never_succeeds_ends_failed_and_a_retry_sends_again(hook_for, deliver, owner, settings,
                                                                            django_capture_on_commit_callbacks):
    from surveys.services.hooks.config import hook_log_retry

    with receiving(codes=(500, 500, 500, 500, 200)) as receiver:
        hook = hook_for(receiver.url)
        deliver()
        delivery = HookDelivery.objects.get()
        assert (delivery.status, delivery.tries) == (HookDelivery.Status.FAILED, 4)
        last = HookLog.objects.get(attempt=4)
        assert (last.status, last.status_code) == (HookDelivery.Status.FAILED, 500)

        with django_capture_on_commit_callbacks(execute=True):
            hook_log_retry(user=owner, asset=asset_of_form(form_id="household"), hook_uid=hook.uid, log_uid=last.uid)

    delivery.refresh_from_db()
    assert (delivery.status, delivery.tries, len(receiver.received)) == (HookDelivery.Status.SUCCESS, 5, 5)


def test_a_refusal_that_cannot_change_is_failed_at_once(hook_for, deliver):
    with receiving(codes=(400, 200)) as receiver:
        hook_for(receiver.url)
        deliver()

    assert len(receiver.received) == 1
    assert list(HookLog.objects.values_list("status", "status_code")) == [(HookDelivery.Status.FAILED, 400)]


def test_a_dead_endpoint_is_logged_and_retried(hook_for, deliver):
    with receiving() as receiver:
        url = receiver.url
    hook_for(url)  # the receiver is gone: connection refused

    deliver()

    logs = list(HookLog.objects.order_by("attempt").values_list("status", "status_code"))
    assert logs == [(1, None), (1, None), (1, None), (0, None)]
    assert "ConnectionRefusedError" in HookLog.objects.get(attempt=1).message or \
        "Connection refused" in HookLog.objects.get(attempt=1).message


def test_once_per_version_resends_and_reprocessing_send_nothing_more_an_edit_is_a_new_record(
        hook_for, deliver, django_capture_on_commit_callbacks):
    with receiving() as receiver:
        hook_for(receiver.url)
        first = deliver(age="30")
        with django_capture_on_commit_callbacks(execute=True):
            submission_process(submission_id=first.pk)  # processed again: already delivered
            deliveries_plan(submission=first)
            Submission.objects.filter(pk=first.pk).update(processing="pending")
            submission_process(submission_id=first.pk)
        edit = household_instance(age="31", instance_id="uuid:edit-1").replace(
            b"<meta>", f"<meta><deprecatedID>{first.instance_id}</deprecatedID>".encode())
        with django_capture_on_commit_callbacks(execute=True):
            edited = submission_ingest_xml(xml=edit, sender=Sender(user=User.objects.get(username="enum01")))
            submission_process(submission_id=edited.submission.pk)

    records = [json.loads(r.body) for r in receiver.received]
    assert [(r["_id"], r["meta/instanceID"], r["resp/age"]) for r in records] == [
        (first.pk, first.instance_id, "30"), (edited.submission.pk, "uuid:edit-1", "31")]
    with pytest.raises(IntegrityError), transaction.atomic():
        HookDelivery.objects.create(hook=RestHook.objects.get(), submission=first)


def test_inactive_hooks_and_other_forms_get_nothing(hook_for, deliver):
    with receiving() as receiver:
        hook_for(receiver.url, active=False)
        deliver()

    assert (receiver.received, HookDelivery.objects.count()) == ([], 0)


def test_basic_auth_and_custom_headers_are_sent_and_the_password_is_sealed(hook_for, deliver):
    with receiving() as receiver:
        hook = hook_for(receiver.url, auth_level="basic_auth", username="kobo", password="pa55word",
                        custom_headers={"X-Api-Key": "k-1"})
        deliver()

    headers = receiver.received[0].headers
    assert headers["authorization"] == "Basic " + base64.b64encode(b"kobo:pa55word").decode()
    assert headers["x-api-key"] == "k-1"
    stored = RestHook.objects.get(pk=hook.pk)
    assert b"pa55word" not in bytes(stored.sealed) and SECRET.encode() not in bytes(stored.sealed)
    assert "pa55word" not in json.dumps(stored.settings)
    assert secrets_open(stored.sealed) == {"password": "pa55word", "secret": SECRET}


def test_subset_fields_and_payload_template(hook_for, deliver):
    with receiving() as receiver:
        hook_for(receiver.url, subset_fields=["age", "country"],
                 payload_template='{"form": "hh", "data": %SUBMISSION%}')
        sub = deliver(age="44")

    body = json.loads(receiver.received[0].body)
    assert body == {"form": "hh", "data": {"_id": sub.pk, "meta/instanceID": sub.instance_id,
                                           "_uuid": sub.instance_id.removeprefix("uuid:"), "resp/age": "44",
                                           "country": "uz"}}


def test_a_refused_address_is_logged_without_a_request(hook_for, deliver, settings):
    with receiving() as receiver:
        hook_for(receiver.url)
        settings.MTM_HOOK_PRIVATE_ADDRESSES = False  # switched off after the hook was saved
        deliver()

    assert receiver.received == []
    assert HookLog.objects.filter(attempt=1).values_list("message", flat=True).get() == (
        "The endpoint's host '127.0.0.1' is a private or loopback address (MTM_HOOK_PRIVATE_ADDRESSES is off); "
        "this server does not post there.")


@pytest.mark.django_db(transaction=True)
def test_without_a_broker_a_hanging_receiver_never_holds_processing(household, settings):
    """The embedded default: deliveries run on the process's background thread, so the interview is
    processed and committed while the receiver still holds its request."""
    from surveys.background import background_deliveries
    from tests.factories import AssignmentFactory, EnumeratorFactory

    settings.MTM_HOOK_IN_PROCESS = "thread"
    AssignmentFactory(enumerator=EnumeratorFactory(user=UserFactory(username="enum01")), round=household.round)
    owner = UserFactory(username="owner1", is_superuser=True)
    hold = threading.Event()
    with receiving(hold=hold) as receiver:
        hook_create(user=owner, asset=asset_of_form(form_id="household"),
                    data=HookInput(name="slow", endpoint=receiver.url))
        # Stored, then processed in the same request (no broker): it returns although the receiver has not answered.
        sub = submission_ingest_xml(xml=household_instance(),
                                    sender=Sender(user=User.objects.get(username="enum01"))).submission

        assert receiver.arrived.wait(10)
        assert Submission.objects.get(pk=sub.pk).processing == "processed"
        assert HookDelivery.objects.get().status == HookDelivery.Status.PENDING
        hold.set()
        assert background_deliveries().wait_idle(10)

    assert list(HookDelivery.objects.values_list("status", "tries")) == [(HookDelivery.Status.SUCCESS, 1)]


def test_the_sweep_sends_a_delivery_whose_message_was_lost_and_only_that(hook_for, enumerator,
                                                                         django_capture_on_commit_callbacks):
    import datetime as dt

    from django.utils import timezone

    from surveys.tasks import submissions_sweep_task

    with receiving() as receiver:
        hook_for(receiver.url)
        with django_capture_on_commit_callbacks(execute=False):  # the broker is down: the messages are lost
            for age in ("30", "31"):
                sub = submission_ingest_xml(xml=household_instance(age=age),
                                            sender=Sender(user=User.objects.get(username="enum01"))).submission
                submission_process(submission_id=sub.pk)
        lost, _recent = HookDelivery.objects.order_by("id")
        HookDelivery.objects.filter(pk=lost.pk).update(next_attempt_at=timezone.now() - dt.timedelta(hours=2))

        with django_capture_on_commit_callbacks(execute=True):
            submissions_sweep_task(0)
            submissions_sweep_task(0)  # a second sweep: it is sent, nothing more

    assert [json.loads(r.body)["_id"] for r in receiver.received] == [lost.submission_id]
    assert list(HookDelivery.objects.order_by("id").values_list("status", flat=True)) == [2, 1]


def test_failed_deliveries_are_e_mailed_once_in_each_recipients_language(hook_for, deliver, owner, household,
                                                                        mailoutbox):
    from django.utils import timezone

    from surveys.services.hooks.failures import hook_failures_report

    owner.email, owner.language = "owner@example.org", ""
    owner.save()
    uploader = UserFactory(username="designer", email="designer@example.org", language="ru")
    Questionnaire.objects.filter(pk=household.pk).update(created_by=uploader)
    with receiving(codes=(400,)) as receiver:
        hook = hook_for(receiver.url + "/in?token=abc")
        hook_for(receiver.url, name="quiet", email_notification=False)
        first, second = deliver(), deliver()
        report = hook_failures_report(now=timezone.now())
        again = hook_failures_report(now=timezone.now())
        third = deliver()
        later = hook_failures_report(now=timezone.now())

    host = urlsplit(receiver.url).netloc
    assert (report.hooks, report.messages, again.messages, later.messages) == (1, 2, 0, 2)
    english, russian, english_later, russian_later = mailoutbox
    assert (english.to, russian.to, english_later.to, russian_later.to) == (
        ["owner@example.org"], ["designer@example.org"], ["owner@example.org"], ["designer@example.org"])
    assert english.subject == "REST service “receiver”: 2 deliveries failed"
    assert russian.subject == "REST-сервис «receiver»: не доставлено интервью — 2"
    lines = english.body.splitlines()
    assert lines[0] == (f"The REST service “receiver” of form household could not deliver these interviews to "
                        f"{host}, after every retry:")
    assert [line.split()[1] for line in lines[2:4]] == [first.instance_id, second.instance_id]
    assert [line.split()[4] for line in lines[2:4]] == ["400", "400"]
    assert english_later.subject == "REST service “receiver”: 1 delivery failed"
    assert russian_later.subject == "REST-сервис «receiver»: не доставлено интервью — 1"
    assert english_later.body.splitlines()[2].split()[1] == third.instance_id
    assert "token" not in english.body and "/hook" not in english.body
    assert "Ali" not in english.body and "N123" not in english.body
    assert RestHook.objects.get(pk=hook.pk).failures_reported_at is not None
