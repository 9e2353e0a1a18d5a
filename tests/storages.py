"""Storages that fail as real disks do, for the fault tests."""

from __future__ import annotations

import errno

from django.core.files.base import ContentFile
from django.core.files.storage import InMemoryStorage


class FullDiskStorage(InMemoryStorage):
    """Takes ``capacity`` bytes in all, then refuses with ``ENOSPC`` — leaving
    behind the part of the file it had written, as a real disk does."""

    def __init__(self, *, capacity: int, **kwargs):
        super().__init__(**kwargs)
        self.capacity = capacity
        self.used = 0

    def _save(self, name, content):
        content.seek(0)
        data = content.read()
        room = self.capacity - self.used
        if len(data) > room:
            super()._save(name, ContentFile(data[:max(room, 0)]))
            self.used = self.capacity
            raise OSError(errno.ENOSPC, "No space left on device", name)
        self.used += len(data)
        return super()._save(name, ContentFile(data))


def stored_files(storage, directory: str = "") -> list[str]:
    """Every file under ``directory``, walked with ``listdir``."""
    if directory and not storage.exists(directory):
        return []
    folders, files = storage.listdir(directory)
    found = [f"{directory}/{name}" if directory else name for name in files]
    for folder in folders:
        found += stored_files(storage, f"{directory}/{folder}" if directory else folder)
    return sorted(found)
