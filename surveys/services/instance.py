"""Reading a submitted instance safely: XML without DTDs, entities or network
access; the identifying parts of it (form id, version, instanceID,
deprecatedID, attached file names); and KoBo-style JSON turned into the
XForm instance XML that processing reads."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from lxml import etree

from surveys.errors import InvalidSubmission
from surveys.form_schema import FormSchema, SchemaField

MAX_XML_BYTES = 10 * 1024 * 1024
MAX_ID_LENGTH = 255
#: Field types whose answer names a file sent beside the instance (Collect attaches audit.csv for `audit`).
BINARY_TYPES = {"photo", "image", "audio", "video", "file", "background-audio", "audit"}


@dataclass(frozen=True)
class InstanceHeader:
    form_id: str
    version: str | None
    instance_id: str
    deprecated_id: str | None


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                           huge_tree=False, remove_pis=True)


def parse_instance(xml: bytes) -> etree._Element:
    """Parse submitted XML; refuse DTDs and entity declarations outright."""
    if len(xml) > MAX_XML_BYTES:
        raise InvalidSubmission(_("The submission XML is larger than %(megabytes)s MB.")
                                % {"megabytes": MAX_XML_BYTES // (1024 * 1024)})
    try:
        tree = etree.fromstring(xml, _parser()).getroottree()
    except etree.XMLSyntaxError as err:
        raise InvalidSubmission(_("The submission is not well-formed XML: %(error)s") % {"error": err.msg}) from None
    docinfo = tree.docinfo
    doctype = docinfo.doctype  # type: ignore[union-attr]  # lxml-stubs 0.5.1's DocInfo lacks lxml's doctype
    if doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise InvalidSubmission(_("The submission XML has a DOCTYPE; DTDs and entities are not accepted."))
    root = tree.getroot()
    if any(isinstance(node, etree._Entity) for node in root.iter()):
        raise InvalidSubmission(_("The submission XML uses entities; they are not accepted."))
    return root


def instance_header(root: etree._Element) -> InstanceHeader:
    form_id = (root.get("id") or "").strip()
    if not form_id:
        raise InvalidSubmission(_("The submission's root element has no form id attribute."))
    instance_id = _meta_text(root, "instanceID")
    if not instance_id:
        raise InvalidSubmission(_("The submission has no meta/instanceID."))
    deprecated_id = _meta_text(root, "deprecatedID") or None
    if max(len(form_id), len(instance_id), len(deprecated_id or "")) > MAX_ID_LENGTH:
        raise InvalidSubmission(_("The form id, instanceID or deprecatedID is longer than %(length)s characters.")
                                % {"length": MAX_ID_LENGTH})
    return InstanceHeader(form_id=form_id, version=(root.get("version") or "").strip() or None,
                          instance_id=instance_id, deprecated_id=deprecated_id)


def _meta_text(root: etree._Element, name: str) -> str:
    for meta in root:
        if etree.QName(meta).localname == "meta":
            for child in meta:
                if etree.QName(child).localname == name:
                    return (child.text or "").strip()
    return ""


def expected_attachments(root: etree._Element, schema: FormSchema) -> list[str]:
    """File names the instance refers to in its photo/audio/video/file fields."""
    root_name = schema.get("root", "data")
    names = []
    for field in schema.get("fields", []):
        if field["type"] in BINARY_TYPES:
            relative = field["xpath"].removeprefix(f"/{root_name}/")
            for node in root.iterfind(_local_path(relative)):
                if node.text and node.text.strip():
                    names.append(node.text.strip())
    return names


def _local_path(relative: str) -> str:
    return "/".join(f"{{*}}{part}" for part in relative.split("/"))


# --- KoBo-style JSON ----------------------------------------------------------------------------

def json_submission(body: bytes) -> tuple[str, dict[str, Any]]:
    """``{"id": form_id, "submission": {...}}`` → (form_id, submission)."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as err:
        raise InvalidSubmission(f"The body is not valid JSON: {err}") from None
    except RecursionError:
        raise InvalidSubmission("The body is nested too deeply.") from None
    if not isinstance(document, dict) or not isinstance(document.get("submission"), dict):
        raise InvalidSubmission('The body must be {"id": "<form_id>", "submission": {…}}.')
    form_id = document.get("id")
    if not isinstance(form_id, str) or not form_id.strip():
        raise InvalidSubmission('The body has no form "id".')
    return form_id.strip(), document["submission"]


def json_version(submission: dict[str, Any]) -> str | None:
    version = submission.get("__version__") or submission.get("version")
    return str(version) if version else None


def json_to_instance_xml(submission: dict[str, Any], *, schema: FormSchema, form_id: str, version: str) -> bytes:
    """Build the XForm instance a device would have sent: the root named as
    in the form, ``id``/``version`` attributes, and the answers in the form's
    field order. Group paths may be nested objects or ``group/question``
    keys; repeats are lists of objects; select_multiple a space-separated
    string (a list is joined)."""
    answers = _nest(submission)
    root = etree.Element(schema.get("root", "data"), id=form_id, version=version)
    children: dict[str | None, list[SchemaField]] = {}
    for field in schema["fields"]:
        children.setdefault(field["parent"], []).append(field)
    try:
        _fill(root, answers, parent=None, children=children)
    except ValueError as err:  # lxml: a control character in a value, or a key that is no XML name
        raise InvalidSubmission(f"The submission cannot be written as XML: {err}") from None
    unknown = _unknown_keys(answers, parent=None, children=children)
    if unknown:
        raise InvalidSubmission(f"The submission has answers for fields not in the form: {', '.join(unknown)}.")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def json_canonical(form_id: str, submission: dict[str, Any]) -> bytes:
    """The submission in one canonical form (groups nested, repeat keys
    relative, keys sorted, version left out): equal for equal answers however
    a client wrote them."""
    return json.dumps({"id": form_id, "submission": _nest(submission)}, sort_keys=True, ensure_ascii=False,
                      separators=(",", ":"), default=str).encode()


_IGNORED_JSON_KEYS = {"__version__", "version", "formhub", "_id", "_uuid", "_submission_time", "_xform_id_string"}


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for key, value in flat.items():
        if key in _IGNORED_JSON_KEYS:
            continue
        parts = key.split("/")
        target = nested
        for part in parts[:-1]:
            target = target.setdefault(part, {})
            if not isinstance(target, dict):
                raise InvalidSubmission(f"'{key}' conflicts with another answer.")
        leaf = parts[-1]
        if isinstance(value, dict):
            target.setdefault(leaf, {}).update(_nest(value))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            target[leaf] = [_strip_prefix(_nest(v), key) for v in value]
        else:
            target[leaf] = value
    return nested


def _strip_prefix(record: dict[str, Any], repeat_key: str) -> dict[str, Any]:
    """KoBo repeat records use full paths (``repeat/q``); keep the tail under the repeat."""
    node: Any = record
    for part in repeat_key.split("/"):
        if isinstance(node, dict) and set(node) == {part}:
            node = node[part]
        else:
            return record
    return node if isinstance(node, dict) else record


def _fill(element: etree._Element, answers: dict[str, Any], *, parent: str | None,
          children: dict[str | None, list[SchemaField]]) -> None:
    for field in children.get(parent, []):
        name = field["name"]
        value = answers.get(name)
        if field["type"] == "repeat":
            for record in value or []:
                if not isinstance(record, dict):
                    raise InvalidSubmission(f"Repeat '{field['path']}' must be a list of objects.")
                _fill(etree.SubElement(element, name), record, parent=field["path"], children=children)
            continue
        child = etree.SubElement(element, name)
        if field["type"] == "group":
            group_answers = value if isinstance(value, dict) else {}
            _fill(child, group_answers, parent=field["path"], children=children)
            if field["path"] == "meta":  # deprecatedID, instanceName, … are not in the schema
                known = {f["name"] for f in children.get("meta", [])}
                for key, extra in group_answers.items():
                    if key not in known and extra is not None:
                        etree.SubElement(child, key).text = _scalar(extra, field)
        elif value is not None:
            child.text = _scalar(value, field)


def _scalar(value: Any, field: SchemaField) -> str:
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        raise InvalidSubmission(f"'{field['path']}' must be a value, not an object.")
    return str(value)


def _unknown_keys(answers: dict[str, Any], *, parent: str | None,
                  children: dict[str | None, list[SchemaField]]) -> list[str]:
    known = {f["name"]: f for f in children.get(parent, [])}
    unknown = []
    for key, value in answers.items():
        path = f"{parent}/{key}" if parent else key
        field = known.get(key)
        if field is None:
            if parent != "meta":
                unknown.append(path)
        elif field["type"] == "group" and isinstance(value, dict):
            unknown += _unknown_keys(value, parent=field["path"], children=children)
        elif field["type"] == "repeat" and isinstance(value, list):
            for record in value:
                if isinstance(record, dict):
                    unknown += _unknown_keys(record, parent=field["path"], children=children)
    return sorted(set(unknown))
