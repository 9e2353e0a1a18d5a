"""The project's catalogues (locale/<code>/LC_MESSAGES/django.po): Russian translates every msgid, Kazakh at
least every page a supervisor uses; each compiled .mo says exactly what its .po says (a fresh machine needs
no gettext tools); translations keep their placeholders; plural forms as the languages count."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest

from tests.po import Entry, mo_catalogue, po_catalogue, read_po

ROOT = Path(__file__).resolve().parent.parent.parent
LOCALE = ROOT / "locale"

#: Sources of the pages a supervisor uses: the admin's templates, its model admins, its models' names and
#: choices, the dashboard's read model, the round tables (HTML and XLSX), and the services whose messages the
#: admin shows (reviews, processing again, roster imports, logins).
SUPERVISOR_PAGES = re.compile(
    r"^(templates/|mtm/admin\.py|\w+/admin(/|\.py)|\w+/models(/|\.py)|surveys/selectors/(progress|scope|reports)\.py|"
    r"surveys/presentation/|surveys/services/(review|processing|exports)\.py|enumerators/(resources\.py|services/))")


def catalogue(code: str) -> list[Entry]:
    return read_po(LOCALE / code / "LC_MESSAGES" / "django.po")


def untranslated(entries: list[Entry]) -> list[str]:
    return [entry.msgid for entry in entries[1:] if not entry.obsolete and not entry.translated]


def test_every_msgid_is_translated_in_russian():
    entries = catalogue("ru")
    assert len(entries) > 400  # the catalogue is the project's, not an empty file
    assert untranslated(entries) == []


def test_kazakh_translates_every_page_a_supervisor_uses():
    pages = [e for e in catalogue("kk")[1:] if any(SUPERVISOR_PAGES.match(ref) for ref in e.references)]
    assert len(pages) > 300
    assert untranslated(pages) == []


def test_kazakh_translates_what_collect_shows():
    collect = [e for e in catalogue("kk")[1:]
               if any(ref.startswith(("surveys/openrosa/", "surveys/services/ingest.py")) for ref in e.references)]
    assert len(collect) > 20
    assert untranslated(collect) == []


@pytest.mark.parametrize("code", ["ru", "kk"])
def test_the_compiled_catalogue_is_the_po_file(code):
    po = po_catalogue(catalogue(code))
    mo = mo_catalogue(LOCALE / code / "LC_MESSAGES" / "django.mo")
    stale = sorted(str(key) for key in po.keys() ^ mo.keys() | {k for k in po.keys() & mo.keys() if po[k] != mo[k]})
    assert stale == [], f"run `make messages` (compilemessages) for {code}"


_PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%%|\{\}")


@pytest.mark.parametrize("code", ["ru", "kk"])
def test_translations_keep_their_placeholders(code):
    broken = []
    for entry in catalogue(code)[1:]:
        wanted = sorted(_PLACEHOLDER.findall(entry.msgid_plural or entry.msgid))
        for text in entry.msgstr.values():
            if text and sorted(_PLACEHOLDER.findall(text)) != wanted:
                broken.append((entry.msgid, text))
    assert broken == []


def test_russian_has_three_plural_forms():
    with (LOCALE / "ru" / "LC_MESSAGES" / "django.mo").open("rb") as stream:
        russian = gettext.GNUTranslations(stream)
    forms = {n: russian.ngettext("%(count)d version archived.", "%(count)d versions archived.", n) % {"count": n}
             for n in (1, 3, 5, 11, 21, 22, 25, 111)}
    assert forms == {1: "1 версия отправлена в архив.", 3: "3 версии отправлены в архив.",
                     5: "5 версий отправлено в архив.", 11: "11 версий отправлено в архив.",
                     21: "21 версия отправлена в архив.", 22: "22 версии отправлены в архив.",
                     25: "25 версий отправлено в архив.", 111: "111 версий отправлено в архив."}


def test_kazakh_counts_with_the_noun_in_the_singular():
    with (LOCALE / "kk" / "LC_MESSAGES" / "django.mo").open("rb") as stream:
        kazakh = gettext.GNUTranslations(stream)
    assert [kazakh.ngettext("%(count)d version archived.", "%(count)d versions archived.", n) % {"count": n}
            for n in (1, 5)] == ["1 нұсқа мұрағатқа жіберілді.", "5 нұсқа мұрағатқа жіберілді."]
