"""The admin's REST services: a form's hooks saved through the service (its errors on the form, nothing
stored), their deliveries with every attempt, and *Send again*."""

from __future__ import annotations

import pytest

from surveys.models import HookDelivery, HookLog, RestHook
from surveys.services.hooks.sealing import secrets_open
from tests.factories import UserFactory
from tests.receivers import receiving
from tests.surveys.api.kobo.conftest import send  # noqa: F401 - the fixture: ingest and process an interview

pytestmark = pytest.mark.django_db

FORM = {"form_id": "household", "name": "Partner", "endpoint": "http://127.0.0.1:9/in", "active": "on",
        "export_type": "json", "auth_level": "basic_auth", "username": "kobo", "password": "pa55word",
        "custom_headers": "{}", "secret": "0123456789abcdef-secret", "subset_fields_text": "age, country",
        "email_notification": "on", "payload_template": ""}


@pytest.fixture
def boss(client, db):
    client.force_login(UserFactory(username="boss", is_staff=True, is_superuser=True))
    return client


def test_a_hook_is_added_and_changed_in_the_admin_with_write_only_secrets(household, boss):
    response = boss.post("/admin/surveys/resthook/add/", FORM)

    assert response.status_code == 302, response.content.decode()[:3000]
    hook = RestHook.objects.get()
    assert (hook.form_id, hook.name, hook.subset_fields, hook.settings) == (
        "household", "Partner", ["age", "country"], {"username": "kobo", "custom_headers": {}})
    assert secrets_open(hook.sealed) == {"password": "pa55word", "secret": "0123456789abcdef-secret"}
    page = boss.get(f"/admin/surveys/resthook/{hook.pk}/change/").content.decode()
    assert "pa55word" not in page and "0123456789abcdef-secret" not in page

    changed = boss.post(f"/admin/surveys/resthook/{hook.pk}/change/",
                        {**FORM, "name": "Renamed", "password": "", "secret": ""})

    assert changed.status_code == 302
    hook.refresh_from_db()
    assert hook.name == "Renamed"
    assert secrets_open(hook.sealed) == {"password": "pa55word", "secret": "0123456789abcdef-secret"}


def test_a_refused_endpoint_is_the_forms_error_and_nothing_is_stored(household, boss):
    response = boss.post("/admin/surveys/resthook/add/", {**FORM, "endpoint": "http://169.254.169.254/x"})

    assert response.status_code == 200
    assert "is a link-local address; this server does not post there." in response.content.decode()
    assert RestHook.objects.count() == 0


def test_deliveries_show_every_attempt_and_failed_ones_are_sent_again(household, send, boss,  # noqa: F811
                                                                    django_capture_on_commit_callbacks):
    with receiving(codes=(500, 500, 500, 500, 200)) as receiver:
        boss.post("/admin/surveys/resthook/add/", {**FORM, "endpoint": receiver.url, "auth_level": "no_auth"})
        with django_capture_on_commit_callbacks(execute=True):
            send()
        delivery = HookDelivery.objects.get()
        page = boss.get(f"/admin/surveys/hookdelivery/{delivery.pk}/change/").content.decode()
        assert [n for n in range(1, 6) if f"answer {n}: 500" in page] == [1, 2, 3, 4]  # each attempt's answer
        hook_page = boss.get(f"/admin/surveys/resthook/{delivery.hook_id}/change/").content.decode()
        assert "Latest attempts" in hook_page

        with django_capture_on_commit_callbacks(execute=True):
            response = boss.post("/admin/surveys/hookdelivery/",
                                 {"action": "send_again", "_selected_action": [delivery.pk]}, follow=True)

    assert "1 delivery will be sent again" in response.content.decode()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.tries, HookLog.objects.count()) == (HookDelivery.Status.SUCCESS, 5, 5)


def test_a_supervisor_sees_no_hooks(household, client, db):
    from django.contrib.auth.models import Group, Permission

    from enumerators.services.roles import roles_ensure

    roles_ensure()
    supervisor = UserFactory(username="sup1", is_staff=True)
    supervisor.groups.add(Group.objects.get(name="Supervisors"))
    supervisor.user_permissions.add(*Permission.objects.filter(codename__in=["view_resthook", "view_hookdelivery"]))
    RestHook.objects.create(form_id="household", name="x", endpoint="http://127.0.0.1:9/")
    client.force_login(supervisor)

    response = client.get("/admin/surveys/resthook/")

    assert response.status_code == 200
    assert "0 REST services" in response.content.decode()
