"""The address a request comes from, for counting failed logins per client."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """``REMOTE_ADDR``, or behind ``MTM_TRUSTED_PROXIES`` reverse proxies the address the outermost of
    them saw (that many entries from the right of ``X-Forwarded-For``; a client can prepend entries but
    cannot change the ones the proxies append)."""
    proxies = settings.MTM_TRUSTED_PROXIES
    if proxies > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies][:45]
    return str(request.META.get("REMOTE_ADDR") or "unknown")[:45]
