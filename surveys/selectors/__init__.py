"""Reads: querysets and read models, by domain. Interfaces and services import
from the module that owns a read; this package re-exports nothing.

- :mod:`.scope` — who may see what (roles, a supervisor's team)
- :mod:`.questionnaires` — forms to collect, the version a submission names, field schemas
- :mod:`.submissions` — submissions in a user's scope; the counting rule of the round tables
- :mod:`.progress` — the collection dashboard (running counts against targets)
- :mod:`.tallies` — the read half of a round's tallies
- :mod:`.reports` — the round report (``round_tabulate``) and what it can be asked for
- :mod:`.exports` — record exports
- :mod:`.kobo` — forms and records as KoboToolbox's API v2 reads them
"""
