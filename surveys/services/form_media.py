"""The files a form needs on the device, and the choices an attached file holds.

:func:`media_needed` reads them from the XForm, as ODK Central does: every
``jr://images/``, ``jr://audio/``, ``jr://video/``, ``jr://file/`` and
``jr://file-csv/`` reference (media in labels, hints and choices,
``select_one_from_file`` / ``select_multiple_from_file`` CSV, XML or GeoJSON,
``pulldata`` CSVs as pyxform declares them, default images) and the CSV a
``search('name')`` appearance reads; pyxform's ``itemsets.csv`` for
``select_one_external`` comes with the conversion itself. A choice file's
entry names the columns its itemset reads (``value``/``label``).

:func:`file_choices` reads a choice file as ODK Collect does — CSV (header
row, a ``name`` column, ``label`` or ``label::Language``), XML
(``<root><item><name/><label/></item></root>``) or GeoJSON (each feature's
``id``, or ``properties.id``, and ``properties.title``) — into the schema's
choices, so that validation and the report treat them like the choices sheet.
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any, TypedDict

from lxml import etree

from mtm.errors import InvalidInput
from surveys.form_schema import SchemaChoice

_JR = re.compile(r"jr://(images|audio|video|file|file-csv)/([^\s\"'<>()]+)")
_SEARCH = re.compile(r"search\(\s*['\"]([^'\"]+)['\"]")
_ITEMSET_INSTANCE = re.compile(r"instance\(\s*['\"]([^'\"]+)['\"]\s*\)")
_KIND = {"images": "image", "audio": "audio", "video": "video", "file": "file", "file-csv": "file"}
XFORMS_NS = "http://www.w3.org/2002/xforms"
CHOICE_FILE_TYPES = (".csv", ".xml", ".geojson")
#: The file pyxform writes from the ``external_choices`` sheet (``select_one_external``).
ITEMSETS_CSV = "itemsets.csv"


class NeededFile(TypedDict):
    """A file the form needs: ``type`` as ODK Central lists it (image, audio, video, file); for a file an
    itemset reads choices from, the columns of the choice's ``value`` and ``label``."""

    filename: str
    type: str
    value: str | None
    label: str | None


def media_needed(xform_xml: str, *, itemsets: bool = False) -> list[NeededFile]:
    """Every file ``xform_xml`` refers to, once, sorted by name."""
    doc = etree.fromstring(xform_xml.encode("utf-8"))
    found: dict[str, NeededFile] = {}

    def add(filename: str, kind: str) -> None:
        found.setdefault(filename, {"filename": filename, "type": kind, "value": None, "label": None})

    for element in doc.iter():
        if not isinstance(element.tag, str):
            continue
        texts = [element.text or "", *element.attrib.values()]
        for text in texts:
            for scheme, name in _JR.findall(text):
                add(name, _KIND[scheme])
        for name in _SEARCH.findall(element.get("appearance") or ""):
            add(f"{name}.csv", "file")
    instance_files = {
        instance.get("id"): src.rsplit("/", 1)[-1]
        for instance in doc.iter(f"{{{XFORMS_NS}}}instance")
        if (src := instance.get("src"))
    }
    for itemset in doc.iter(f"{{{XFORMS_NS}}}itemset"):
        match = _ITEMSET_INSTANCE.search(itemset.get("nodeset") or "")
        filename = instance_files.get(match.group(1)) if match else None
        if filename is None or filename not in found:
            continue
        value = itemset.find(f"{{{XFORMS_NS}}}value")
        label = itemset.find(f"{{{XFORMS_NS}}}label")
        found[filename]["value"] = value.get("ref") if value is not None else "name"
        found[filename]["label"] = label.get("ref") if label is not None else "label"
    if itemsets:
        found[ITEMSETS_CSV] = {"filename": ITEMSETS_CSV, "type": "file", "value": "name", "label": "label"}
    return [found[name] for name in sorted(found)]


def file_choices(*, content: bytes, filename: str, value: str, label: str,
                 list_name: str | None = None) -> list[SchemaChoice]:
    """The choices ``content`` holds, in file order (``list_name``: only the rows of that list, as in
    ``itemsets.csv``). Raises :class:`InvalidInput` naming the file and its row for a file Collect could
    not read either."""
    lower = filename.lower()
    if lower.endswith(".csv"):
        return _csv_choices(content, filename=filename, value=value, label=label, list_name=list_name)
    if lower.endswith(".geojson"):
        return _geojson_choices(content, filename=filename, value=value, label=label)
    if lower.endswith(".xml"):
        return _xml_choices(content, filename=filename, value=value, label=label)
    return []


def _text(content: bytes, filename: str) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InvalidInput(f"{filename}: the file is not UTF-8 text (byte {err.start}).", field="file") from err


def _csv_choices(content: bytes, *, filename: str, value: str, label: str,
                 list_name: str | None) -> list[SchemaChoice]:
    reader = csv.DictReader(io.StringIO(_text(content, filename)))
    header = [h.strip() for h in reader.fieldnames or []]
    if value not in header:
        raise InvalidInput(f"{filename}: row 1 has no '{value}' column (the choices' values); its columns are: "
                           f"{', '.join(header) or 'none'}.", field="file")
    labels = [h for h in header if h == label or h.startswith(f"{label}::")]
    choices: list[SchemaChoice] = []
    for row_number, raw in enumerate(reader, start=2):
        row = {str(k).strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        if list_name is not None and row.get("list_name") != list_name:
            continue
        name = row.get(value, "")
        if not name:
            raise InvalidInput(f"{filename}: row {row_number} has no '{value}'.", field="file")
        texts = {("default" if h == label else h.split("::", 1)[1]): row[h] for h in labels if row.get(h)}
        extra = {k: v for k, v in row.items() if k not in (value, "list_name", *labels)}
        choices.append({"name": name, "label": texts, "extra": extra})
    return choices


def _xml_choices(content: bytes, *, filename: str, value: str, label: str) -> list[SchemaChoice]:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(content, parser)
    except etree.XMLSyntaxError as err:
        raise InvalidInput(f"{filename}: line {err.lineno}: {err.msg}", field="file") from err
    choices: list[SchemaChoice] = []
    for number, item in enumerate(root.iterfind("item"), start=1):
        fields = {etree.QName(child).localname: (child.text or "").strip() for child in item
                  if isinstance(child.tag, str)}
        if not fields.get(value):
            raise InvalidInput(f"{filename}: item {number} has no <{value}>.", field="file")
        texts = {"default": fields[label]} if fields.get(label) else {}
        extra = {k: v for k, v in fields.items() if k not in (value, label)}
        choices.append({"name": fields[value], "label": texts, "extra": extra})
    return choices


def _geojson_choices(content: bytes, *, filename: str, value: str, label: str) -> list[SchemaChoice]:
    try:
        document: Any = json.loads(_text(content, filename))
    except json.JSONDecodeError as err:
        raise InvalidInput(f"{filename}: line {err.lineno}: {err.msg}", field="file") from err
    features = document.get("features") if isinstance(document, dict) else None
    if not isinstance(features, list):
        raise InvalidInput(f"{filename}: not a GeoJSON FeatureCollection (no 'features' list).", field="file")
    choices: list[SchemaChoice] = []
    for number, feature in enumerate(features, start=1):
        properties = (feature.get("properties") if isinstance(feature, dict) else None) or {}
        raw = properties.get(value, feature.get(value) if value == "id" else None)
        if raw is None or str(raw) == "":
            raise InvalidInput(f"{filename}: feature {number} has no '{value}'.", field="file")
        title = properties.get(label)
        extra = {k: v for k, v in properties.items() if k not in (value, label) and isinstance(v, str | int | float)}
        choices.append({"name": str(raw), "label": {"default": str(title)} if title else {}, "extra": extra})
    return choices
