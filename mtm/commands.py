"""Management commands' one way of answering a domain error: its message on
stderr and exit code 2, as for a bad argument (see :mod:`mtm.errors`); and
their language: messages meant for people in the shell's language
(:func:`mtm.locale.command_language`), machine-read output unchanged."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from mtm.errors import MtmError
from mtm.locale import command_language


class DomainCommand(BaseCommand):
    """A command whose ``handle`` calls services and lets their domain errors
    escape; ``error_prefix`` (set by ``handle``, e.g. the file's name) leads
    the message. It runs in :meth:`language`."""

    error_prefix = ""

    def language(self, options: dict[str, Any]) -> str:
        """The language of the command's messages: the shell's (``LANG=ru_RU.UTF-8``)."""
        return command_language()

    def execute(self, *args: Any, **options: Any) -> str | None:
        with translation.override(self.language(options)):
            try:
                return super().execute(*args, **options)
            except MtmError as err:
                prefix = f"{self.error_prefix}: " if self.error_prefix else ""
                raise CommandError(f"{prefix}{err.message}", returncode=2) from err
