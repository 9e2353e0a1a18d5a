"""The one mapping of domain errors per protocol: the APIs' exception handler,
OpenRosa's envelope, the pages' middleware, the admin's messages and the
commands' exit code all read :data:`mtm.errors.HTTP_STATUS`."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.signed_cookies import SessionStore
from django.core.management import CommandError
from django.test import RequestFactory
from rest_framework.exceptions import NotFound as DRFNotFound

from mtm.admin import domain_errors
from mtm.commands import DomainCommand
from mtm.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    TooLarge,
    TooManyAttempts,
    Unavailable,
    http_status,
)
from mtm.middleware import DomainErrorMiddleware
from surveys.api.exceptions import exception_handler
from surveys.openrosa.http import openrosa_domain_error
from surveys.services.raw_store import RawStoreLocked


@pytest.mark.parametrize(("error", "status"), [
    (NotFound("no"), 404), (Forbidden("no"), 403), (Conflict("no"), 409), (TooLarge("no"), 413),
    (Unavailable("no"), 503), (RawStoreLocked("no"), 503), (InvalidInput("no"), 400),
    (TooManyAttempts("no", retry_after=60), 429),
])
def test_every_kind_has_one_status(error, status):
    assert http_status(error) == status
    assert exception_handler(error, {}).status_code == status
    assert openrosa_domain_error(error).status_code == status


def test_the_api_answers_detail_or_the_field_the_error_names():
    class UploadView:
        domain_error_field = "file"

    assert exception_handler(Conflict("taken"), {}).data == {"detail": "taken"}
    assert exception_handler(InvalidInput("taken", field="name"), {}).data == {"name": ["taken"]}
    assert exception_handler(InvalidInput("[row : 3] bad", field=None), {"view": UploadView()}).data == {
        "file": ["[row : 3] bad"]}
    assert exception_handler(Conflict("same version"), {"view": UploadView()}).data == {"detail": "same version"}
    assert exception_handler(DRFNotFound("drf's own"), {}).data == {"detail": "drf's own"}


def test_openrosa_wraps_the_message_in_its_envelope():
    response = openrosa_domain_error(NotFound("No form 'x' on this server."))

    assert response["X-OpenRosa-Version"] == "1.0"
    assert b'<message nature="error">No form \'x\' on this server.</message>' in response.content


@pytest.mark.parametrize(("error", "status"), [(NotFound("gone"), 404), (Forbidden("not yours"), 403),
                                               (InvalidInput("bad"), 400)])
def test_a_page_that_lets_a_domain_error_escape_gets_djangos_page(error, status):
    middleware = DomainErrorMiddleware(lambda request: None)

    response = middleware.process_exception(RequestFactory().get("/admin/x/"), error)

    assert response.status_code == status
    assert middleware.process_exception(RequestFactory().get("/"), ValueError("not ours")) is None


def test_the_admin_shows_a_domain_error_as_a_message_and_stops_the_block():
    request = RequestFactory().post("/admin/")
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    reached = []

    with domain_errors(request) as outcome:
        raise Forbidden("This account may not review submissions.")
        reached.append(True)
    with domain_errors() as fine:
        reached.append("ran")

    assert (outcome.ok, outcome.message, fine.ok, reached) == (
        False, "This account may not review submissions.", True, ["ran"])
    assert [m.message for m in get_messages(request)] == ["This account may not review submissions."]


def test_a_command_exits_2_with_the_message():
    class Command(DomainCommand):
        error_prefix = "form.xlsx"

        def handle(self, *args, **options):
            raise InvalidInput("[row : 3] On the 'survey' sheet, …")

    with pytest.raises(CommandError) as raised:
        Command().execute(no_color=True, force_color=False, skip_checks=True, stdout=None, stderr=None)

    assert (raised.value.returncode, str(raised.value)) == (2, "form.xlsx: [row : 3] On the 'survey' sheet, …")
