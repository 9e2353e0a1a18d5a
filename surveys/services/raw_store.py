"""The raw store: submissions exactly as received (instance XML, JSON body,
attachments), encrypted at rest with the Fernet key ``MTM_RAW_KEY`` kept
outside the database. Only processing and the data-protection role open it;
everything else reads the anonymised record.

Attachments are sealed in chunks (a 4-byte length, then a Fernet token of up
to 64 KiB of the file), so neither sealing nor opening holds a whole file in
memory."""

from __future__ import annotations

import struct
import tempfile
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import IO

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

from mtm.errors import Unavailable

CHUNK = 64 * 1024
_LENGTH = struct.Struct(">I")


class RawStoreLocked(Unavailable):
    """The raw store cannot be opened with the configured key."""


@lru_cache(maxsize=4)
def _fernet(key: str) -> Fernet:
    return Fernet(key.encode())


def _current() -> Fernet:
    return _fernet(settings.MTM_RAW_KEY)


def raw_seal(data: bytes) -> bytes:
    return _current().encrypt(data)


def raw_open(token: bytes | memoryview | None) -> bytes:
    if token is None:
        return b""
    try:
        return _current().decrypt(bytes(token))
    except InvalidToken:
        raise RawStoreLocked("The raw store cannot be read with this key.") from None


def seal_chunks(chunks: Iterable[bytes]) -> IO[bytes]:
    """The sealed form of a stream, spooled to disk past 1 MiB."""
    out = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)
    fernet = _current()
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        while len(buffer) >= CHUNK:
            _write_token(out, fernet, buffer[:CHUNK])
            buffer = buffer[CHUNK:]
    if buffer:
        _write_token(out, fernet, buffer)
    out.seek(0)
    return out


def _write_token(out: IO[bytes], fernet: Fernet, data: bytes) -> None:
    token = fernet.encrypt(data)
    out.write(_LENGTH.pack(len(token)))
    out.write(token)


def open_chunks(sealed: IO[bytes]) -> Iterator[bytes]:
    fernet = _current()
    while True:
        head = sealed.read(_LENGTH.size)
        if not head:
            return
        (length,) = _LENGTH.unpack(head)
        try:
            yield fernet.decrypt(sealed.read(length))
        except InvalidToken:
            raise RawStoreLocked("The raw store cannot be read with this key.") from None
