"""Management commands' one way of answering a domain error: its message on
stderr and exit code 2, as for a bad argument (see :mod:`mtm.errors`)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from mtm.errors import MtmError


class DomainCommand(BaseCommand):
    """A command whose ``handle`` calls services and lets their domain errors
    escape; ``error_prefix`` (set by ``handle``, e.g. the file's name) leads
    the message."""

    error_prefix = ""

    def execute(self, *args: Any, **options: Any) -> str | None:
        try:
            return super().execute(*args, **options)
        except MtmError as err:
            prefix = f"{self.error_prefix}: " if self.error_prefix else ""
            raise CommandError(f"{prefix}{err.message}", returncode=2) from err
