"""HTTP Basic and Digest (RFC 7616, MD5, qop=auth) authentication for the
OpenRosa endpoints, as ODK Collect and KoboCollect speak them. Digest can be
switched off (``MTM_OPENROSA_DIGEST``, off by default in production): behind
HTTPS Collect sends Basic, and the server then needs no password-equivalent
HA1 at all.

Digest nonces are stateless: ``<unix time>:<HMAC of it>``; a nonce older than
``OPENROSA_DIGEST_NONCE_SECONDS`` is answered with ``stale=true`` so that the
client retries without asking the enumerator again.

Replays of a captured request are refused: with ``qop=auth`` the nonce count
of each (nonce, cnonce) must grow; without ``qop`` (RFC 2069) a nonce serves
one request, and its second use is answered ``stale=true``. The counts are
kept in the database (:func:`enumerators.services.logins.digest_nonce_count_grows`),
not the cache: a counter the cache forgot — Redis restarted, or evicted the
key — would accept a replay for the rest of the nonce's five minutes, which
no shortening of the nonce's life rules out, while a database row outlives
the nonce (it is deleted once the nonce is stale) and no restart of Redis
touches it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import time
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.http import HttpRequest
from django.utils.translation import gettext as _

from enumerators import login_cache
from enumerators.services.logins import digest_nonce_count_grows, login_attempt
from mtm.client_address import client_address

if TYPE_CHECKING:
    from enumerators.models import User

_DIGEST_PARAM = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


class OpenRosaRequest(HttpRequest):
    """For type checking: a request as the OpenRosa views see it once ``openrosa_view`` has resolved who
    is asking (the account, or the owner of the anonymous forms under ``/<username>/``)."""

    openrosa_user: User
    openrosa_anonymous: bool
    openrosa_prefix: str | None


class AuthFailed(Exception):
    def __init__(self, reason: str, *, stale: bool = False) -> None:
        super().__init__(reason)
        self.stale = stale


def request_user(request: HttpRequest) -> User | None:
    """The account the request authenticates as, ``None`` when it carries no
    credentials; raises :class:`AuthFailed` when it carries wrong ones."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _sep, credentials = header.partition(" ")
    scheme = scheme.lower()
    if scheme == "basic":
        return _basic(request, credentials.strip())
    if scheme == "digest":
        if not settings.OPENROSA_DIGEST:
            raise AuthFailed(_("Digest authentication is switched off on this server: use Basic over HTTPS."))
        return _digest(request, credentials)
    if header:
        raise AuthFailed(_("Unsupported authorization scheme."))
    return None


def challenge(*, stale: bool = False) -> str:
    """The ``WWW-Authenticate`` value: a Digest challenge, then Basic; Basic only with ``OPENROSA_DIGEST`` off."""
    realm = settings.OPENROSA_REALM
    basic = f'Basic realm="{realm}", charset="UTF-8"'
    if not settings.OPENROSA_DIGEST:
        return basic
    stale_part = ', stale=true' if stale else ""
    return (
        f'Digest realm="{realm}", qop="auth", algorithm=MD5, nonce="{_new_nonce()}", '
        f'opaque="{_opaque()}"{stale_part}, {basic}'
    )


def _basic(request: HttpRequest, credentials: str) -> User:
    try:
        decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise AuthFailed(_("Malformed Basic credentials.")) from None
    username, sep, password = decoded.partition(":")
    if not sep:
        raise AuthFailed(_("Malformed Basic credentials."))
    user = login_cache.recall(decoded)
    if user is not None:
        return user

    def verify() -> User | None:
        return authenticate(request, username=username, password=password)

    account = login_attempt(account=username, address=client_address(request), entry="openrosa-basic",
                            verify=verify)
    if account is None:
        raise AuthFailed(_("Wrong username or password."))
    login_cache.remember(decoded, account)
    return account


def _digest(request: HttpRequest, credentials: str) -> User:
    params = {m.group(1).lower(): (m.group(2) if m.group(2) is not None else m.group(3))
              for m in _DIGEST_PARAM.finditer(credentials)}
    required = ("username", "realm", "nonce", "uri", "response")
    if any(not params.get(key) for key in required):
        raise AuthFailed(_("Malformed Digest credentials."))
    if params["realm"] != settings.OPENROSA_REALM:
        raise AuthFailed(_("Wrong realm."))
    if params.get("algorithm", "MD5").upper() != "MD5":
        raise AuthFailed(_("Unsupported Digest algorithm."))
    if params["uri"] not in (request.get_full_path(), request.path):
        raise AuthFailed(_("Digest uri does not match the request."))
    fresh = _nonce_is_fresh(params["nonce"])
    ha2 = _md5(f"{request.method}:{params['uri']}")
    qop = params.get("qop")
    if qop == "auth":
        nc, cnonce = params.get("nc", ""), params.get("cnonce", "")
        if not nc or not cnonce:
            raise AuthFailed(_("Malformed Digest credentials."))
        signed = f"{params['nonce']}:{nc}:{cnonce}:auth:{ha2}"
    elif qop is None:
        signed = f"{params['nonce']}:{ha2}"
    else:
        raise AuthFailed(_("Unsupported Digest qop."))

    def verify() -> User | None:
        user = get_user_model().objects.filter(username=params["username"], is_active=True).first()
        ha1 = user.digest_ha1_open() if user is not None else ""
        if not ha1:
            return None
        expected = _md5(f"{ha1}:{signed}")
        return user if hmac.compare_digest(expected, params["response"].lower()) else None

    user = login_attempt(account=params["username"], address=client_address(request), entry="openrosa-digest",
                         verify=verify)
    if user is None:
        raise AuthFailed(_("Wrong username or password."))
    if not fresh:
        raise AuthFailed(_("Digest nonce expired."), stale=True)
    if qop is None:
        # RFC 2069 style, without a nonce count: the nonce is good for one request. A second use is answered
        # stale, so an honest client signs again with a fresh nonce; a replay cannot, without the HA1.
        if not digest_nonce_count_grows(nonce=params["nonce"], cnonce="", nc="00000001"):
            raise AuthFailed(_("Digest nonce already used."), stale=True)
    elif not digest_nonce_count_grows(nonce=params["nonce"], cnonce=params["cnonce"], nc=params["nc"]):
        raise AuthFailed(_("Digest nonce count reused."))
    return user


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()  # noqa: S324 - RFC 7616 MD5


def _sign(value: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), value.encode(), hashlib.sha256).hexdigest()[:32]


def _new_nonce() -> str:
    stamp = str(int(time.time()))
    return base64.b64encode(f"{stamp}:{_sign(stamp)}".encode()).decode()


def _opaque() -> str:
    return _sign(f"opaque:{settings.OPENROSA_REALM}")


def _nonce_is_fresh(nonce: str) -> bool:
    try:
        stamp, _sep, signature = base64.b64decode(nonce, validate=True).decode().partition(":")
        issued = int(stamp)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise AuthFailed(_("Malformed Digest nonce.")) from None
    if not hmac.compare_digest(signature, _sign(stamp)):
        raise AuthFailed(_("Digest nonce was not issued by this server."))
    return time.time() - issued <= settings.OPENROSA_DIGEST_NONCE_SECONDS
