"""Django's Russian formats, with a day and month in the genitive ("5 мая", not Django's "5 Май")."""

from django.conf.locale.ru.formats import *  # type: ignore[import-untyped]  # noqa: F403 - Django ships no stubs for it

MONTH_DAY_FORMAT = "j E"
