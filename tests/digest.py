"""HTTP Digest (RFC 7616, MD5) as ODK Collect signs a request, for tests that build the header by hand."""

from __future__ import annotations

import hashlib


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def nonce_of(challenge: str) -> str:
    """The nonce of a ``WWW-Authenticate`` value."""
    return challenge.split('nonce="')[1].split('"')[0]


def digest_header(*, nonce: str, username: str, password: str, method: str = "GET", uri: str = "/formList",
                  nc: str = "00000001", cnonce: str = "abcdef", qop: bool = True,
                  realm: str = "MTM Collect") -> str:
    """The ``Authorization`` value for one request (with ``qop=auth`` unless ``qop`` is False)."""
    ha1 = md5(f"{username}:{realm}:{password}")
    ha2 = md5(f"{method}:{uri}")
    common = f'Digest username="{username}", realm="{realm}", nonce="{nonce}", uri="{uri}", algorithm=MD5'
    if not qop:
        return f'{common}, response="{md5(f"{ha1}:{nonce}:{ha2}")}"'
    response = md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
    return f'{common}, response="{response}", qop=auth, nc={nc}, cnonce="{cnonce}"'
