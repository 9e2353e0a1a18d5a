"""What a REST service sends: the record exactly as ``/api/v2/assets/<uid>/data/<id>/`` returns it
(:func:`surveys.api.kobo.records.records_shaped`: released answers, never an identifier, GPS displaced,
no attachments), cut to the hook's ``subset_fields``, as JSON (in the hook's ``payload_template`` where it
has one) or as XML (the instance's shape, built from the released answers — never the raw instance)."""

from __future__ import annotations

import re
from typing import Any

import orjson
from lxml import etree

from surveys.models import RestHook
from surveys.presentation.kobo_records import records_shaped
from surveys.selectors.kobo.assets import Asset
from surveys.selectors.kobo.records import RecordPage
from surveys.services.hooks.config import SUBMISSION_PLACEHOLDER
from surveys.services.hooks.delivery import Payload

#: Kept whatever the subset: how a receiver tells records apart.
ALWAYS_KEPT = ("_id", "_uuid", "meta/instanceID")
_XML_NAME = re.compile(r"^[A-Za-z_][\w.-]*$")
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def hook_payload(hook: RestHook, asset: Asset, page: RecordPage) -> Payload | None:
    records = list(records_shaped(page, asset=asset))
    if not records:
        return None
    record: dict[str, Any] = records[0]
    if hook.subset_fields:
        record = subset(record, hook.subset_fields)
    if hook.export_type == RestHook.ExportType.XML:
        return Payload(record_xml(record, form_id=asset.form_id), "application/xml; charset=utf-8")
    body = orjson.dumps(record)
    if hook.payload_template:
        body = hook.payload_template.encode().replace(SUBMISSION_PLACEHOLDER.encode(), body)
    return Payload(body, "application/json")


def subset(record: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    """The keys named in ``fields`` (a full path, a group containing it, or a question's name) and
    :data:`ALWAYS_KEPT`; a repeat's records are cut the same way."""
    wanted = set(fields)

    def kept(path: str) -> bool:
        parts = path.split("/")
        return (path in wanted or parts[-1] in wanted
                or any("/".join(parts[:i]) in wanted for i in range(1, len(parts))))

    out: dict[str, Any] = {}
    for path, value in record.items():
        if path in ALWAYS_KEPT:
            out[path] = value
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            items = [{k: v for k, v in item.items() if kept(k)} for item in value] if not kept(path) else value
            if any(items):
                out[path] = items
        elif kept(path):
            out[path] = value
    return out


def record_xml(record: dict[str, Any], *, form_id: str) -> bytes:
    """The record as an XForm instance: answers nested by group path (a repeat's records as repeated
    elements), ``meta/instanceID``; KoboToolbox's ``_`` metadata left out, the version as an attribute."""
    root = etree.Element(form_id if _XML_NAME.match(form_id) else "data", id=form_id)
    if record.get("__version__"):
        root.set("version", str(record["__version__"]))
    _fill(root, {k: v for k, v in record.items() if not k.startswith("_")}, prefix="")
    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))


def _fill(parent: Any, values: dict[str, Any], prefix: str) -> None:
    made: dict[str, Any] = {}

    def element(path: str) -> Any:
        if path in made:
            return made[path]
        head, _, name = path.rpartition("/")
        node = etree.SubElement(element(head) if head else parent, name)
        made[path] = node
        return node

    for path, value in values.items():
        relative = path[len(prefix):] if prefix and path.startswith(prefix) else path
        if not all(_XML_NAME.match(part) for part in relative.split("/")):
            continue
        if isinstance(value, list) and value and isinstance(value[0], dict):
            head, _, name = relative.rpartition("/")
            for item in value:
                node = etree.SubElement(element(head) if head else parent, name)
                _fill(node, item, prefix=path + "/")
        else:
            element(relative).text = "" if value is None else _NOT_XML.sub("", str(value))
