"""``/v1/sessions`` (log in, log out) and ``/v1/users/current``."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from enumerators.models import User
from enumerators.services.central_sessions import central_session_close, central_session_open
from mtm.client_address import client_address
from mtm.errors import InvalidInput
from surveys.api.central.base import CentralView, problem
from surveys.api.central.shapes import stamp, user_json


class MissingParameter(InvalidInput):
    central_code = 400.2


class Sessions(CentralView):
    """``POST /v1/sessions`` with ``{"email": <username or e-mail>, "password": …}``: a bearer token."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    def post(self, request: Request) -> Response:
        body = request.data if isinstance(request.data, dict) else {}
        login, password = body.get("email"), body.get("password")
        for name, value in (("email", login), ("password", password)):
            if not isinstance(value, str) or not value:
                raise MissingParameter(f"Required parameter {name} missing.")
        assert isinstance(login, str) and isinstance(password, str)
        opened = central_session_open(login=login, password=password, address=client_address(request._request))
        return Response({"createdAt": stamp(opened.created_at), "expiresAt": stamp(opened.expires_at),
                         "token": opened.token, "csrf": ""})


class SessionDetail(CentralView):
    """``DELETE /v1/sessions/<token>`` (or ``current``): log out."""

    def delete(self, request: Request, token: str) -> Response:
        user = request.user
        assert isinstance(user, User)
        if token == "current":
            if not isinstance(request.auth, str):
                return problem(404.1, "Could not find the resource you were looking for.")
            token = request.auth
        central_session_close(token=token, by=user)
        return Response({"success": True})


class CurrentUser(CentralView):
    def get(self, request: Request) -> Response:
        user = request.user
        assert isinstance(user, User)
        return Response(user_json(user))
