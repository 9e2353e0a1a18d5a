"""Where a REST service may post: http(s) only, no credentials in the URL, and an address that is
public — or private / loopback where ``MTM_HOOK_PRIVATE_ADDRESSES`` allows (a field server posting to its
LAN). Link-local (cloud metadata), multicast, reserved and unspecified addresses are always refused. The
address is checked when the hook is saved and again before every attempt (a name may resolve elsewhere
later); redirects are never followed."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

from mtm.errors import InvalidInput

MAX_ENDPOINT = 2000


def endpoint_checked(url: object) -> str:
    """``url`` if a hook may post to it; :class:`InvalidInput` (field ``endpoint``) saying why not."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidInput("This field is required.", field="endpoint")
    url = url.strip()
    if len(url) > MAX_ENDPOINT:
        raise InvalidInput(f"At most {MAX_ENDPOINT} characters.", field="endpoint")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidInput("Enter a valid URL.", field="endpoint") from None
    if parts.scheme not in ("http", "https"):
        raise InvalidInput("The endpoint must be an http:// or https:// URL.", field="endpoint")
    if not parts.hostname:
        raise InvalidInput("Enter a valid URL.", field="endpoint")
    if parts.username is not None or parts.password is not None:
        raise InvalidInput("Put credentials in settings (basic_auth), not in the URL.", field="endpoint")
    address_refusal = endpoint_refusal(parts.hostname, port or (443 if parts.scheme == "https" else 80))
    if address_refusal:
        raise InvalidInput(address_refusal, field="endpoint")
    return url


def endpoint_refusal(host: str, port: int) -> str | None:
    """Why the server will not post to ``host`` (every address it resolves to is checked); None if it may."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return f"The endpoint's host '{host}' cannot be found."
    for info in infos:
        refusal = _address_refusal(ipaddress.ip_address(str(info[4][0]).split("%")[0]))
        if refusal:
            return f"The endpoint's host '{host}' is {refusal}; this server does not post there."
    return None


def _address_refusal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast or address.is_unspecified or (address.is_reserved and not address.is_private):
        return "not a unicast address"
    if (address.is_loopback or address.is_private) and not settings.MTM_HOOK_PRIVATE_ADDRESSES:
        return "a private or loopback address (MTM_HOOK_PRIVATE_ADDRESSES is off)"
    return None
