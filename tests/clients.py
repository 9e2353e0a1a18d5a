"""API clients with DRF tokens, for the API tests."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import UserFactory


def token_client(username: str, *codenames: str, superuser: bool = False) -> APIClient:
    """A new account ``username`` with these permission codenames, and a client sending its token."""
    user = UserFactory(username=username)
    if superuser:
        user.is_superuser = True
        user.save()
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    """A file as a multipart form's part."""
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def body(response) -> bytes:
    """A response's body, streamed (read once, then kept on the response) or not."""
    if not response.streaming:
        return response.content
    if not hasattr(response, "streamed_body"):
        response.streamed_body = b"".join(response.streaming_content)
    return response.streamed_body


def body_json(response) -> Any:
    return json.loads(body(response))
