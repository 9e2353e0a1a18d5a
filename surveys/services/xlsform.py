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

import copy
import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from pathlib import PurePath
from typing import Any

from lxml import etree
from pyxform.builder import create_survey_element_from_dict
from pyxform.errors import PyXFormError
from pyxform.xls2json import workbook_to_json
from pyxform.xls2json_backends import get_xlsform
from pyxform.xls2xform import external_choices_to_csv, has_external_choices

from surveys.errors import XLSFormError
from surveys.form_schema import FormSchema, PrivacyTag, SchemaChoice, SchemaField, Texts
from surveys.services.form_media import ITEMSETS_CSV, NeededFile, file_choices, media_needed
from surveys.services.xlsform_cells import settings_cells_shown

SUPPORTED_EXTENSIONS = {".xlsx": ".xlsx", ".xlsm": ".xlsm", ".xls": ".xls", ".csv": ".csv", ".md": ".md"}
MAX_XLSFORM_BYTES = 5 * 1024 * 1024
#: The longest form_id and version a version is stored with (``Questionnaire``'s columns).
MAX_ID_LENGTH = 100

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
    """A converted XLSForm. ``version`` is the settings sheet's (as Excel shows the cell), None when the
    form has none and the server assigns one (:meth:`with_version`); ``content_md5`` identifies the form's
    content whatever its version; ``media`` lists the files it needs, ``itemsets`` is the ``itemsets.csv``
    pyxform writes for ``select_one_external``."""

    form_id: str
    version: str | None
    title: str
    xform_xml: str
    md5: str
    schema: FormSchema
    warnings: list[str]
    source_md5: str
    content_md5: str = ""
    media: list[NeededFile] = field(default_factory=list)
    itemsets: bytes | None = None
    pyxform_data: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def with_version(self, version: str) -> ConvertedForm:
        """The same form carrying ``version`` (in the XForm, its md5 and the schema): the XForm pyxform
        writes with that version (tested byte for byte), without converting the workbook again."""
        xform_xml = _versioned(self.xform_xml, version)
        schema: FormSchema = {**self.schema, "version": version}
        return replace(self, version=version, xform_xml=xform_xml, md5=_md5(xform_xml.encode("utf-8")),
                       schema=schema)


def xlsform_convert(*, source: bytes, filename: str) -> ConvertedForm:
    """Convert an XLSForm (.xlsx/.xls/.csv/.md) to an XForm and its field schema.

    The form id is the settings' ``form_id``, else ``id_string``, else the file's name (as pyxform
    does); the version the settings' ``version`` as Excel shows the cell (a formula through its saved
    value), else None. Raises :class:`XLSFormError` with pyxform's row-numbered message (or ours, in the
    same form) when the form is broken; pyxform's warnings come back in ``warnings``.
    """
    file_type = _file_type(filename)
    if len(source) > MAX_XLSFORM_BYTES:
        raise XLSFormError(f"The XLSForm is larger than {MAX_XLSFORM_BYTES // (1024 * 1024)} MB.")
    if not source:
        raise XLSFormError("The XLSForm file is empty.")
    warnings: list[str] = []
    try:
        workbook = get_xlsform(source, file_type=file_type)
        _check_privacy_column(workbook.survey)
        data = workbook_to_json(workbook_dict=workbook, fallback_form_name=PurePath(filename).stem,
                                warnings=warnings)
        version_column = any("version" in row for row in workbook.settings_header or [])
        _settings_as_shown(data, source=source, file_type=file_type, warnings=warnings,
                           version_column=version_column)
        for key in ("id_string", "version"):  # the XForm carries what is stored: no stray spaces
            if isinstance(data.get(key), str):
                data[key] = data[key].strip()
        itemsets = external_choices_to_csv(workbook_dict=workbook) if has_external_choices(data) else None
        xform_xml = _render(data, version=data.get("version"), warnings=warnings)
    except PyXFormError as err:
        raise XLSFormError(str(err).strip()) from err
    except XLSFormError:
        raise
    except Exception as err:  # pyxform raises bare errors on some corrupt workbooks
        raise XLSFormError(f"The file could not be read as an XLSForm: {err}") from err

    form_id = str(data.get("id_string") or "").strip()
    version = str(data.get("version") or "").strip() or None
    _check_identifier("form_id", form_id)
    if version is not None:
        _check_identifier("version", version)
    schema = _build_schema(data, xform_xml)
    itemsets_bytes = itemsets.encode("utf-8") if itemsets else None
    _add_itemset_choices(schema, itemsets_bytes)
    content = json.dumps({k: v for k, v in data.items() if k != "version"}, sort_keys=True, default=str,
                         ensure_ascii=False).encode("utf-8") + (itemsets_bytes or b"")
    return ConvertedForm(
        form_id=form_id,
        version=version,
        title=str(data.get("title") or form_id),
        xform_xml=xform_xml,
        md5=_md5(xform_xml.encode("utf-8")),
        schema=schema,
        warnings=[w.strip() for w in warnings if str(w).strip()],
        source_md5=_md5(source),
        content_md5=_md5(content),
        media=media_needed(xform_xml, itemsets=itemsets_bytes is not None),
        itemsets=itemsets_bytes,
        pyxform_data=data,
    )


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()  # noqa: S324 - OpenRosa's hash


def _render(data: dict[str, Any], *, version: str | None, warnings: list[str]) -> str:
    """The XForm of pyxform's form data, carrying ``version`` (none when None)."""
    form = copy.deepcopy(data)
    form.pop("version", None)
    if version:
        form["version"] = version
    xform: str = create_survey_element_from_dict(form).to_xml(validate=False, pretty_print=True,
                                                                          warnings=warnings)
    return xform


_INSTANCE_ROOT = re.compile(r'(<instance>\s*<[^\s>/]+(?:\s+[^\s=]+="[^"]*")*?\s+id="[^"]*"(?:\s+xmlns="[^"]*")?)')


def _versioned(xform_xml: str, version: str) -> str:
    """``xform_xml`` (written by pyxform without a version) with ``version`` where pyxform puts it: on the
    primary instance's root, after ``id`` (and ``xmlns``), escaped as minidom escapes attributes."""
    value = version.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;").replace(">", "&gt;")
    versioned, count = _INSTANCE_ROOT.subn(lambda m: f'{m.group(1)} version="{value}"', xform_xml, count=1)
    if count != 1:  # not reached with pyxform's XForms: convert again rather than guess
        raise XLSFormError("The converted form has no primary instance to carry its version.")
    return versioned


#: pyxform's text of a number, date or time cell (Python's str of an int, float, datetime or time).
_MAY_BE_NUMBER_OR_DATE = re.compile(r"[\d.:\- ]+|TRUE|FALSE")


def _settings_as_shown(data: dict[str, Any], *, source: bytes, file_type: str, warnings: list[str],
                       version_column: bool) -> None:
    """The form id and version as Excel shows their cells (pyxform prints dates and numbers as Python
    does); a version formula saved without its value leaves the version to the server, with a warning."""
    empty_version = version_column and not data.get("version")
    if not empty_version and not any(_MAY_BE_NUMBER_OR_DATE.fullmatch(str(data.get(key) or ""))
                                     for key in ("id_string", "version")):
        return  # text cells: pyxform's text is what Excel shows
    shown = settings_cells_shown(source=source, file_type=file_type)
    form_id = shown.get("form_id") or shown.get("id_string")
    if form_id:
        data["id_string"] = form_id
    if "version" in shown:
        version = shown["version"]
        if version:
            data["version"] = version
        else:
            data.pop("version", None)
            warnings.append("On the 'settings' sheet, the 'version' cell holds a formula saved without its "
                            "value (open and save the file in a spreadsheet program to keep it); the server "
                            "assigns the version.")


def _check_identifier(setting: str, value: str) -> None:
    if not value:
        raise XLSFormError(f"On the 'settings' sheet, '{setting}' is empty.")
    if len(value) > MAX_ID_LENGTH:
        raise XLSFormError(f"On the 'settings' sheet, the '{setting}' value '{value[:40]}…' is invalid: it is "
                           f"longer than {MAX_ID_LENGTH} characters.")
    if "/" in value or any(ord(ch) < 32 for ch in value):
        raise XLSFormError(f"On the 'settings' sheet, the '{setting}' value '{value}' is invalid: it may not "
                           "contain '/' or control characters (it is part of the form's addresses).")


def _add_itemset_choices(schema: FormSchema, itemsets: bytes | None) -> None:
    """``select_one_external`` lists read from pyxform's ``itemsets.csv``, like the choices sheet's."""
    if not itemsets:
        return
    for f in schema["fields"]:
        list_name = f.get("list_name")
        if f["type"] == "select_one_external" and list_name and list_name not in schema["choices"]:
            schema["choices"][list_name] = file_choices(content=itemsets, filename=ITEMSETS_CSV, value="name",
                                                        label="label", list_name=list_name)


def _file_type(filename: str) -> str:
    ext = PurePath(filename).suffix.lower()
    try:
        return SUPPORTED_EXTENSIONS[ext]
    except KeyError:
        allowed = ", ".join(sorted(SUPPORTED_EXTENSIONS))
        raise XLSFormError(f"'{filename}' is not an XLSForm file: expected one of {allowed}.") from None


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
        "form_id": tree["id_string"],  # pyxform always gives an id_string and a title
        "version": str(tree.get("version") or ""),
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
        minimum = _min_seconds(element.get("min_seconds"))
        if minimum is not None:  # the optional ``min_seconds`` column (issue 17: fast answers)
            out[-1]["min_seconds"] = minimum
        if ftype in ("group", "repeat"):
            _walk(element.get("children", []), root=root, parent=path,
                  repeat=path if ftype == "repeat" else repeat, binds=binds, out=out, languages=languages)


def _min_seconds(value: Any) -> float | None:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if seconds > 0 else None


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
