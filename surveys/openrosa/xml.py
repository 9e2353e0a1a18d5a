"""OpenRosa XML documents: form list, manifest and the response envelope."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.utils.translation import gettext as _
from lxml import etree
from lxml.builder import ElementMaker

from surveys.models import Questionnaire

FORMLIST_NS = "http://openrosa.org/xforms/xformsList"
MANIFEST_NS = "http://openrosa.org/xforms/xformsManifest"
RESPONSE_NS = "http://openrosa.org/http/response"


def _serialise(element: etree._Element) -> bytes:
    return etree.tostring(element, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def form_list(questionnaires: Iterable[Questionnaire], *, url: Callable[[Questionnaire, str], str]) -> bytes:
    """``<xforms>`` of the OpenRosa Form List API. ``url(q, kind)`` gives the
    absolute ``form.xml`` (kind ``form``) or ``manifest`` address."""
    E = ElementMaker(namespace=FORMLIST_NS, nsmap={None: FORMLIST_NS})
    items = []
    for q in questionnaires:
        children = [
            E.formID(q.form_id),
            E.name(q.title),
            E.version(q.version),
            E.hash(f"md5:{q.md5}"),
            E.descriptionText(_("%(survey)s — round %(number)s") % {"survey": q.round.survey.name,
                                                                      "number": q.round.number}),
            E.downloadUrl(url(q, "form")),
        ]
        if q.media_needed or bool(list(q.media.all())):  # a form that needs files, attached yet or not (as Central)
            children.append(E.manifestUrl(url(q, "manifest")))
        items.append(E.xform(*children))
    return _serialise(E.xforms(*items))


def manifest(questionnaire: Questionnaire, *, url: Callable[[str], str]) -> bytes:
    """``<manifest>`` of the OpenRosa Form List API: every attached file with ``md5:`` of its bytes (a file
    the form needs but nobody attached yet is not listed: the admin marks the version)."""
    E = ElementMaker(namespace=MANIFEST_NS, nsmap={None: MANIFEST_NS})
    files = [
        E.mediaFile(E.filename(m.filename), E.hash(f"md5:{m.md5}"), E.downloadUrl(url(m.filename)))
        for m in questionnaire.media.all()
    ]
    return _serialise(E.manifest(*files))


def response_message(message: str, *, nature: str = "error") -> bytes:
    """The ``<OpenRosaResponse>`` envelope every OpenRosa answer carries."""
    E = ElementMaker(namespace=RESPONSE_NS, nsmap={None: RESPONSE_NS})
    return _serialise(E.OpenRosaResponse(E.message(message, nature=nature)))
