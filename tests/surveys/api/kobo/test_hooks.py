"""/api/v2/assets/<uid>/hooks/: KoboToolbox's REST services — create, list, change, delete, logs and
retry; who may manage them; bad input is DRF's 400 and changes nothing; secrets are write-only."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from enumerators.models import User
from enumerators.services.roles import roles_ensure
from surveys.models import HookDelivery, HookLog, Questionnaire, RestHook
from surveys.services.hooks.sealing import secrets_open
from tests.clients import token_client
from tests.receivers import receiving

pytestmark = pytest.mark.django_db

BODY = {"name": "Partner DB", "endpoint": "http://127.0.0.1:9/records", "export_type": "json",
        "auth_level": "basic_auth", "settings": {"username": "kobo", "password": "pa55word",
                                                  "custom_headers": {"X-Api-Key": "k-1"}},
        "subset_fields": ["age"], "email_notification": False, "secret": "0123456789abcdef-secret"}


@pytest.fixture
def admin(db):
    return token_client("boss", superuser=True)


def hooks_url(uid: str, *rest: str) -> str:
    return "/".join([f"/api/v2/assets/{uid}/hooks", *rest, ""])


def stored() -> list[tuple]:
    return list(RestHook.objects.order_by("id").values_list("name", "endpoint", "active", "export_type",
                                                           "auth_level", "settings", "sealed", "subset_fields"))


def test_create_read_list_change_delete(household, admin, uid):
    created = admin.post(hooks_url(uid), BODY, format="json")

    assert created.status_code == 201, created.content
    body = created.json()
    hook = RestHook.objects.get()
    url = f"http://testserver/api/v2/assets/{uid}/hooks/{hook.uid}/"
    assert body == {
        "url": url, "logs_url": url + "logs/", "asset": uid, "uid": hook.uid, "name": "Partner DB",
        "endpoint": "http://127.0.0.1:9/records", "active": True, "export_type": "json", "auth_level": "basic_auth",
        "settings": {"username": "kobo", "custom_headers": {"X-Api-Key": "k-1"}},
        "date_modified": hook.date_modified.isoformat(), "email_notification": False, "subset_fields": ["age"],
        "payload_template": "", "signed": True, "failed_count": 0, "pending_count": 0, "success_count": 0}
    assert "pa55word" not in created.content.decode() and "0123456789abcdef" not in created.content.decode()
    assert secrets_open(hook.sealed) == {"password": "pa55word", "secret": "0123456789abcdef-secret"}
    assert admin.get(hooks_url(uid, hook.uid)).json() == body
    listing = admin.get(hooks_url(uid)).json()
    assert (listing["count"], listing["next"], listing["previous"], listing["results"]) == (1, None, None, [body])

    changed = admin.patch(hooks_url(uid, hook.uid), {"active": False, "export_type": "xml"}, format="json")

    assert changed.status_code == 200, changed.content
    assert (changed.json()["active"], changed.json()["export_type"], changed.json()["signed"]) == (False, "xml", True)
    hook.refresh_from_db()
    assert secrets_open(hook.sealed) == {"password": "pa55word", "secret": "0123456789abcdef-secret"}  # kept
    assert admin.patch(hooks_url(uid, hook.uid), {"secret": ""}, format="json").json()["signed"] is False

    assert admin.delete(hooks_url(uid, hook.uid)).status_code == 204
    assert RestHook.objects.count() == 0
    assert admin.get(hooks_url(uid, hook.uid)).status_code == 404


@pytest.mark.parametrize(("change", "errors"), [
    ({"endpoint": "ftp://example.org/x"}, {"endpoint": ["The endpoint must be an http:// or https:// URL."]}),
    ({"endpoint": "file:///etc/passwd"}, {"endpoint": ["The endpoint must be an http:// or https:// URL."]}),
    ({"endpoint": "http://user:pw@127.0.0.1/"}, {"endpoint": ["Put credentials in settings (basic_auth), not in "
                                                               "the URL."]}),
    ({"endpoint": "http://169.254.169.254/latest/meta-data"},
     {"endpoint": ["The endpoint's host '169.254.169.254' is a link-local address; this server does not post "
                   "there."]}),
    ({"endpoint": "http://no-such-host.invalid/"},
     {"endpoint": ["The endpoint's host 'no-such-host.invalid' cannot be found."]}),
    ({"name": ""}, {"name": ["This field may not be blank."]}),
    ({"export_type": "csv"}, {"export_type": ['"csv" is not a valid choice.']}),
    ({"auth_level": "basic_auth", "settings": {}}, {"settings": ["Basic authorization needs a username."]}),
    ({"secret": "short"}, {"secret": ["At least 16 characters (or empty: no signature)."]}),
    ({"settings": {"custom_headers": {"Authorization": "x"}}}, {"settings": ["The server sets 'Authorization' "
                                                                              "itself."]}),
    ({"payload_template": '{"a": 1}'}, {"payload_template": ["The template must contain %SUBMISSION%."]}),
    ({"payload_template": '{"a": %SUBMISSION%'},
     {"payload_template": ["The template must be JSON once %SUBMISSION% is replaced by the record."]}),
    ({"subset_fields": "age"}, {"subset_fields": ['Expected a list of items but got type "str".']}),
])
def test_bad_input_is_a_400_and_changes_nothing(household, admin, uid, change, errors):
    admin.post(hooks_url(uid), {"name": "kept", "endpoint": "http://127.0.0.1:9/"}, format="json")
    hook = RestHook.objects.get()
    before = stored()

    created = admin.post(hooks_url(uid), {"name": "new", "endpoint": "http://127.0.0.1:9/", **change}, format="json")
    patched = admin.patch(hooks_url(uid, hook.uid), change, format="json")

    assert (created.status_code, created.json()) == (400, errors)
    assert (patched.status_code, patched.json()) == (400, errors)
    assert stored() == before


def test_a_second_hook_of_the_same_name_is_refused(household, admin, uid):
    admin.post(hooks_url(uid), {"name": "one", "endpoint": "http://127.0.0.1:9/"}, format="json")
    before = stored()

    response = admin.post(hooks_url(uid), {"name": "one", "endpoint": "http://127.0.0.1:8/"}, format="json")

    assert (response.status_code, response.json()) == (
        400, {"name": ["A REST service named 'one' already exists for this asset."]})
    assert stored() == before


def test_private_addresses_are_refused_when_the_setting_is_off(household, admin, uid, settings):
    settings.MTM_HOOK_PRIVATE_ADDRESSES = False

    responses = [admin.post(hooks_url(uid), {"name": host, "endpoint": f"http://{host}/"}, format="json")
                 for host in ("127.0.0.1", "10.0.0.5", "192.168.1.20")]

    assert [(r.status_code, r.json()) for r in responses] == [
        (400, {"endpoint": [f"The endpoint's host '{host}' is a private or loopback address "
                            "(MTM_HOOK_PRIVATE_ADDRESSES is off); this server does not post there."]})
        for host in ("127.0.0.1", "10.0.0.5", "192.168.1.20")]
    assert RestHook.objects.count() == 0


def test_who_may_manage_hooks(household, admin, uid):
    roles_ensure()
    admin.post(hooks_url(uid), {"name": "one", "endpoint": "http://127.0.0.1:9/"}, format="json")
    hook = RestHook.objects.get()
    analyst = token_client("analyst1", "view_submission")
    supervisor = token_client("sup1", "view_submission", "review_submission")
    User.objects.get(username="sup1").groups.add(Group.objects.get(name="Supervisors"))
    manager = token_client("manager1")
    User.objects.get(username="manager1").groups.add(Group.objects.get(name="Data managers"))
    owner = token_client("owner1", "view_submission")
    Questionnaire.objects.update(created_by=User.objects.get(username="owner1"))
    outsider = token_client("enum99")
    before = stored()

    refused = [client.get(hooks_url(uid)) for client in (analyst, supervisor)] + [
        client.patch(hooks_url(uid, hook.uid), {"active": False}, format="json") for client in (analyst, supervisor)]
    unknown = [outsider.get(hooks_url(uid)), outsider.delete(hooks_url(uid, hook.uid))]

    message = {"detail": "Only the form's owner or a data manager may manage its REST services (they send the "
                         "whole form's records)."}
    assert [(r.status_code, r.json()) for r in refused] == [(403, message)] * 4
    assert [(r.status_code, r.json()) for r in unknown] == [(404, {"detail": f"No asset '{uid}'."})] * 2
    assert stored() == before
    assert manager.get(hooks_url(uid)).json()["count"] == 1
    assert owner.patch(hooks_url(uid, hook.uid), {"name": "renamed"}, format="json").json()["name"] == "renamed"
    assert manager.delete(hooks_url(uid, hook.uid)).status_code == 204


def test_logs_list_filter_and_retry(household, send, admin, uid, django_capture_on_commit_callbacks):
    with receiving(codes=(500, 500, 500, 500, 201)) as receiver:
        admin.post(hooks_url(uid), {"name": "one", "endpoint": receiver.url}, format="json")
        hook = RestHook.objects.get()
        with django_capture_on_commit_callbacks(execute=True):
            sub = send()

        logs = admin.get(hooks_url(uid, hook.uid, "logs")).json()
        failed = admin.get(hooks_url(uid, hook.uid, "logs") + "?status=0").json()
        assert [(r["tries"], r["status"], r["status_str"], r["status_code"], r["submission_id"])
                for r in logs["results"]] == [(4, 0, "failed", 500, sub.pk), (3, 1, "pending", 500, sub.pk),
                                              (2, 1, "pending", 500, sub.pk), (1, 1, "pending", 500, sub.pk)]
        last = logs["results"][0]
        assert failed["count"] == 1 and failed["results"] == [last]
        assert admin.get(hooks_url(uid, hook.uid)).json()["failed_count"] == 1
        assert admin.get(last["url"]).json() == last

        with django_capture_on_commit_callbacks(execute=True):
            retried = admin.patch(hooks_url(uid, hook.uid, "logs", last["uid"], "retry"))

        assert (retried.status_code, retried.json()["detail"]) == (200, "The submission is being sent again.")
        assert len(receiver.received) == 5
        delivery = HookDelivery.objects.get()
        assert (delivery.status, delivery.tries, delivery.status_code) == (HookDelivery.Status.SUCCESS, 5, 201)
        again = admin.post(hooks_url(uid, hook.uid, "logs", last["uid"], "retry"))
        assert (again.status_code, again.json()) == (400, {"detail": "Only a failed delivery can be sent again."})
        assert (HookLog.objects.count(), len(receiver.received)) == (5, 5)
        assert admin.get(hooks_url(uid, hook.uid)).json()["success_count"] == 1


@pytest.mark.parametrize(("query", "errors"), [
    ("status=7", {"status": ["0 (failed), 1 (pending) or 2 (success)."]}),
    ("start=yesterday", {"start": ["An ISO 8601 date and time."]}),
    ("limit=-1", {"limit": ["Zero or more."]}),
])
def test_bad_log_filters_are_400(household, admin, uid, query, errors):
    admin.post(hooks_url(uid), {"name": "one", "endpoint": "http://127.0.0.1:9/"}, format="json")
    hook = RestHook.objects.get()

    response = admin.get(hooks_url(uid, hook.uid, "logs") + "?" + query)

    assert (response.status_code, response.json()) == (400, errors)


def test_unknown_hook_and_log_are_404(household, admin, uid):
    admin.post(hooks_url(uid), {"name": "one", "endpoint": "http://127.0.0.1:9/"}, format="json")
    hook = RestHook.objects.get()

    assert admin.get(hooks_url(uid, "hNOPE")).json() == {"detail": "No REST service 'hNOPE' of this asset."}
    assert admin.post(hooks_url(uid, hook.uid, "logs", "hlNOPE", "retry")).json() == {
        "detail": "No log 'hlNOPE' of this REST service."}
