"""XLSForm → questionnaire version.

``xlsform_convert`` is pure: pyxform converts the workbook to an XForm, our
own checks read the ``privacy`` column, and the field schema is built from
pyxform's element tree and the XForm's binds. ``questionnaire_import`` stores
the result as a :class:`~surveys.models.Questionnaire` of a round.

The schema (``Questionnaire.schema``) is what validation, anonymisation and
tabulation read: :class:`surveys.form_schema.FormSchema`, its fields
:class:`~surveys.form_schema.SchemaField` (groups and repeats are fields too,
so that a reader can walk a field's ancestors for inherited relevance).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from lxml import etree
from pyxform.errors import PyXFormError
from pyxform.xls2json_backends import get_xlsform
from pyxform.xls2xform import convert

from surveys.errors import XLSFormError
from surveys.form_schema import FormSchema, PrivacyTag, SchemaChoice, SchemaField, Texts

SUPPORTED_EXTENSIONS = {".xlsx": ".xlsx", ".xlsm": ".xlsm", ".xls": ".xls", ".csv": ".csv", ".md": ".md"}
MAX_XLSFORM_BYTES = 5 * 1024 * 1024

PRIVACY_TAGS = ("identifier", "pseudonym", "quasi", "location")
GEO_TYPES = {"geopoint", "geotrace", "geoshape", "start-geopoint"}
#: Device metadata that identifies a person: treated as ``identifier`` unless tagged otherwise.
IDENTIFYING_METADATA = {"deviceid", "phonenumber", "simserial", "subscriberid", "username", "email"}
_CONTAINER_ROWS = {"begin group", "begin_group", "begin repeat", "begin_repeat", "end group", "end_group",
                   "end repeat", "end_repeat"}

_TYPE_NAMES = {
    "select one": "select_one",
    "select all that apply": "select_multiple",
    "select one external": "select_one_external",
    "select one from file": "select_one_from_file",
    "select all that apply from file": "select_multiple_from_file",
    "start-geopoint": "start-geopoint",
}

XFORMS_NS = "http://www.w3.org/2002/xforms"
JR_NS = "http://openrosa.org/javarosa"


@dataclass(frozen=True)
class ConvertedForm:
    form_id: str
    version: str
    title: str
    xform_xml: str
    md5: str
    schema: FormSchema
    warnings: list[str]
    source_md5: str


def xlsform_convert(*, source: bytes, filename: str) -> ConvertedForm:
    """Convert an XLSForm (.xlsx/.xls/.csv/.md) to an XForm and its field schema.

    Raises :class:`XLSFormError` with pyxform's row-numbered message (or ours,
    in the same form) when the form is broken.
    """
    file_type = _file_type(filename)
    if len(source) > MAX_XLSFORM_BYTES:
        raise XLSFormError(f"The XLSForm is larger than {MAX_XLSFORM_BYTES // (1024 * 1024)} MB.")
    if not source:
        raise XLSFormError("The XLSForm file is empty.")
    try:
        workbook = get_xlsform(source, file_type=file_type)
        _check_privacy_column(workbook.survey)
        result = convert(xlsform=source, file_type=file_type, pretty_print=True)
    except PyXFormError as err:
        raise XLSFormError(str(err).strip()) from err
    except XLSFormError:
        raise
    except Exception as err:  # pyxform raises bare errors on some corrupt workbooks
        raise XLSFormError(f"The file could not be read as an XLSForm: {err}") from err

    tree = result._pyxform or {}
    form_id = str(tree.get("id_string") or "").strip()
    version = str(tree.get("version") or "").strip()
    if not form_id or not _has_setting(workbook, "form_id"):
        raise XLSFormError("On the 'settings' sheet, 'form_id' is missing. Give the form a form_id.")
    if not version:
        raise XLSFormError(
            "On the 'settings' sheet, 'version' is missing. Give each version of the form a version "
            "(e.g. 2024050101) so that submissions can be matched to it."
        )
    xform_xml = result.xform
    schema = _build_schema(tree, xform_xml)
    return ConvertedForm(
        form_id=form_id,
        version=version,
        title=str(tree.get("title") or form_id),
        xform_xml=xform_xml,
        md5=hashlib.md5(xform_xml.encode("utf-8")).hexdigest(),  # noqa: S324 - OpenRosa's hash
        schema=schema,
        warnings=list(result.warnings or []),
        source_md5=hashlib.md5(source).hexdigest(),  # noqa: S324
    )


def _file_type(filename: str) -> str:
    ext = PurePath(filename).suffix.lower()
    try:
        return SUPPORTED_EXTENSIONS[ext]
    except KeyError:
        allowed = ", ".join(sorted(SUPPORTED_EXTENSIONS))
        raise XLSFormError(f"'{filename}' is not an XLSForm file: expected one of {allowed}.") from None


def _has_setting(workbook: Any, key: str) -> bool:
    rows = getattr(workbook, "settings", None) or []
    return any(str(row.get(key) or "").strip() for row in rows)


def _check_privacy_column(survey_rows: list[dict[str, Any]]) -> None:
    """The ``privacy`` column: a known tag, on a question (not a group), and
    ``location`` only on geo questions. Messages follow pyxform's row form."""
    for row_number, row in enumerate(survey_rows, start=2):
        tag = str(row.get("privacy") or "").strip()
        if not tag:
            continue
        qtype = str(row.get("type") or "").strip()
        prefix = f"[row : {row_number}] On the 'survey' sheet, the 'privacy' value '{tag}'"
        if tag not in PRIVACY_TAGS:
            raise XLSFormError(f"{prefix} is invalid. It must be one of: {', '.join(PRIVACY_TAGS)}.")
        if qtype.lower() in _CONTAINER_ROWS:
            raise XLSFormError(f"{prefix} is invalid on a '{qtype}' row. Tag the questions inside it.")
        if qtype.split(" ")[0] in GEO_TYPES and tag in ("quasi", "pseudonym"):
            raise XLSFormError(f"{prefix} is invalid on a '{qtype}' question. A GPS answer is tagged 'location' "
                               "(displaced or coarsened) or 'identifier' (dropped).")
        if tag == "location" and qtype.split(" ")[0] not in GEO_TYPES:
            raise XLSFormError(f"{prefix} is invalid on a '{qtype}' question. 'location' tags geopoint, "
                               "geotrace and geoshape questions.")


def _build_schema(tree: dict[str, Any], xform_xml: str) -> FormSchema:
    root = tree.get("name") or "data"
    binds = _binds_by_nodeset(xform_xml)
    fields: list[SchemaField] = []
    languages: list[str] = []
    _walk(tree.get("children", []), root=root, parent="", repeat=None, binds=binds, out=fields,
          languages=languages)
    choices = {
        list_name: [_choice(item, languages) for item in items]
        for list_name, items in (tree.get("choices") or {}).items()
    }
    default_language = tree.get("default_language") or "default"
    if default_language == "default" and languages:
        default_language = languages[0]
    return {
        "form_id": tree["id_string"],  # both checked by xlsform_convert; pyxform always gives a title
        "version": tree["version"],
        "title": tree["title"],
        "root": root,
        "languages": languages or ["default"],
        "default_language": default_language,
        "fields": fields,
        "choices": choices,
    }


def _walk(children: list[dict[str, Any]], *, root: str, parent: str, repeat: str | None,
          binds: dict[str, dict[str, str]], out: list[SchemaField], languages: list[str]) -> None:
    for element in children:
        name = element.get("name")
        if not name:
            continue
        path = f"{parent}/{name}" if parent else name
        raw_type = str(element.get("type") or "")
        ftype = _TYPE_NAMES.get(raw_type, raw_type.replace(" ", "_"))
        xpath = f"/{root}/{path}"
        bind = binds.get(xpath, {})
        for text in (element.get("label"), element.get("hint")):
            if isinstance(text, dict):
                languages.extend(lang for lang in text if lang not in languages and lang != "default")
        privacy: PrivacyTag | None = element.get("privacy") or (
            "identifier" if ftype in IDENTIFYING_METADATA else "location" if ftype == "start-geopoint" else None
        )
        out.append({
            "path": path,
            "name": name,
            "type": ftype,
            "xpath": xpath,
            "data_type": bind.get("type"),
            "label": _text(element.get("label")),
            "hint": _text(element.get("hint")),
            "list_name": element.get("list_name") or element.get("itemset"),
            "required": bind.get("required"),
            "relevant": bind.get("relevant"),
            "constraint": bind.get("constraint"),
            "constraint_message": _text(_constraint_message(element)) or None,
            "calculate": bind.get("calculate"),
            "choice_filter": element.get("choice_filter"),
            "privacy": privacy,
            "parent": parent or None,
            "repeat": repeat,
        })
        if ftype in ("group", "repeat"):
            _walk(element.get("children", []), root=root, parent=path,
                  repeat=path if ftype == "repeat" else repeat, binds=binds, out=out, languages=languages)


def _constraint_message(element: dict[str, Any]) -> Any:
    bind = element.get("bind") or {}
    return bind.get("jr:constraintMsg")


def _text(value: Any) -> Texts:
    if value is None or value == "":
        return {}
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    return {"default": str(value)}


def _choice(item: dict[str, Any], languages: list[str]) -> SchemaChoice:
    label = _text(item.get("label"))
    languages.extend(lang for lang in label if lang not in languages and lang != "default")
    extra = {k: v for k, v in item.items() if k not in ("name", "label", "media")}
    return {"name": str(item.get("name")), "label": label, "extra": extra}


_WS = re.compile(r"\s+")


def _binds_by_nodeset(xform_xml: str) -> dict[str, dict[str, str]]:
    """The XForm's ``<bind>`` attributes by nodeset, namespaces dropped to
    their local name (``jr:constraintMsg`` → ``constraintMsg``), with the
    spaces pyxform puts around references normalised."""
    doc = etree.fromstring(xform_xml.encode("utf-8"))
    binds: dict[str, dict[str, str]] = {}
    for bind in doc.iter(f"{{{XFORMS_NS}}}bind"):
        attrs = {etree.QName(k).localname: _WS.sub(" ", str(v)).strip() for k, v in bind.attrib.items()}
        nodeset = attrs.pop("nodeset", None)
        if nodeset:
            binds[nodeset] = attrs
    return binds
