"""Dates and numbers as each interface language writes them (Django's formats, ours for kk and a Russian
day and month)."""

import datetime as dt

import pytest
from django.utils import formats, translation

DAY = dt.date(2024, 5, 1)
WHEN = dt.datetime(2024, 5, 1, 14, 5)


@pytest.mark.parametrize(("language", "date", "month_day", "short", "number"), [
    ("en", "May 1, 2024", "May 1", "05/01/2024 2:05 p.m.", "1234.5"),
    ("ru", "1 мая 2024 г.", "1 мая", "01.05.2024 14:05", "1234,5"),
    ("kk", "01.05.2024", "01.05", "01.05.2024 14:05", "1234,5"),
])
def test_dates_and_numbers(language, date, month_day, short, number):
    with translation.override(language):
        assert formats.date_format(DAY, "DATE_FORMAT") == date
        assert formats.date_format(DAY, "MONTH_DAY_FORMAT") == month_day
        assert formats.date_format(WHEN, "SHORT_DATETIME_FORMAT") == short
        assert formats.number_format(1234.5) == number


@pytest.mark.parametrize(("language", "grouped"), [("en", "1,845"), ("ru", "1\xa0845"), ("kk", "1\xa0845")])
def test_counts_are_grouped_as_the_language_groups_them(language, grouped):
    from django.contrib.humanize.templatetags.humanize import intcomma

    with translation.override(language):
        assert intcomma(1845) == grouped
