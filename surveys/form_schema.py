"""The field schema of a questionnaire version: what
:func:`surveys.services.xlsform.xlsform_convert` builds from the XLSForm and
the XForm's binds, and ``Questionnaire.schema`` stores. Validation, checks,
anonymisation, tallies, the report, exports and the KoBo API read it.

Every key is always written (a missing text is ``{}``, a missing expression
``None``); readers that accept hand-made schemas (tests) still read with
``.get``. Groups and repeats are fields too (``type`` ``group``/``repeat``),
so a reader can walk a field's ancestors (``parent``) for inherited
relevance. Example::

    {"form_id": "mtm_kz_r4", "version": "2024050101", "title": "MTM round 4", "root": "data",
     "languages": ["English (en)", "Russian (ru)"], "default_language": "English (en)",
     "fields": [{"path": "demographics/age", "name": "age", "type": "integer",
                 "xpath": "/data/demographics/age", "data_type": "int",
                 "label": {"English (en)": "Age", "Russian (ru)": "Возраст"}, "hint": {},
                 "list_name": None, "required": "true()", "relevant": None,
                 "constraint": ". >= 14 and . <= 80", "constraint_message": None,
                 "calculate": None, "choice_filter": None, "privacy": "quasi",
                 "parent": "demographics", "repeat": None}, ...],
     "choices": {"sex": [{"name": "male", "label": {"English (en)": "Male", ...}, "extra": {}}, ...]}}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, NotRequired, TypedDict

from django.utils.translation import get_language

#: A text by language (``"English (en)"``; ``"default"`` when the form has no languages).
Texts = dict[str, str]

#: The XLSForm ``privacy`` column (see INTERFACES.md), or set for device metadata and start-geopoint.
PrivacyTag = Literal["identifier", "pseudonym", "quasi", "location"]


class SchemaField(TypedDict):
    """A question, group, repeat, note or metadata field of the form."""

    #: The field's path under the root, groups included: ``demographics/age``.
    path: str
    #: Its name in the XLSForm (unique in the form; what ``${name}`` references and reports match on).
    name: str
    #: The XLSForm type with spaces as underscores: ``select_one``, ``select_multiple``, ``integer``,
    #: ``geopoint``, ``group``, ``repeat``, ``start``, ``deviceid`` …
    type: str
    #: The instance node: ``/data/demographics/age``.
    xpath: str
    #: The XForm bind's ``type`` (``int``, ``string``, ``select1`` …); None for groups.
    data_type: str | None
    label: Texts
    hint: Texts
    #: The choice list of a select question (a key of :attr:`FormSchema.choices`).
    list_name: str | None
    #: The XForm's own expressions (references normalised), None where the form has none.
    required: str | None
    relevant: str | None
    constraint: str | None
    constraint_message: Texts | None
    calculate: str | None
    choice_filter: str | None
    privacy: PrivacyTag | None
    #: The enclosing group's or repeat's path; None at the top.
    parent: str | None
    #: The path of the innermost repeat holding the field; None outside repeats (and for a top-level repeat).
    repeat: str | None
    #: The XLSForm's optional ``min_seconds`` column: the least time a question can honestly take (only
    #: written where the form gives one; the ``fast_answers`` check).
    min_seconds: NotRequired[float]


class SchemaChoice(TypedDict):
    """One choice of a choice list."""

    name: str
    label: Texts
    #: The choice sheet's other columns (``country`` for a choice filter …), media left out.
    extra: dict[str, Any]


class FormSchema(TypedDict):
    """``Questionnaire.schema``: one version of a form."""

    form_id: str
    version: str
    title: str
    #: The instance's root element (the XLSForm's name, ``data`` by default).
    root: str
    #: The form's label languages in their order; ``["default"]`` when it has none.
    languages: list[str]
    default_language: str
    #: Every field in form order, groups and repeats before what they hold.
    fields: list[SchemaField]
    #: Choice lists by list name.
    choices: dict[str, list[SchemaChoice]]


#: The keys of a field that hold a name, a type or a path.
FieldKey = Literal["name", "type", "list_name", "privacy", "parent", "repeat"]


def field_value(fields: Mapping[str, SchemaField], path: str, key: FieldKey) -> str | None:
    """``key`` of the field at ``path``, None where the form has no such field (or a hand-made schema no
    such key)."""
    field = fields.get(path)
    return field.get(key) if field is not None else None


def form_language(languages: list[str], code: str | None = None) -> str | None:
    """The form's label language for the interface language ``code`` (by default the active one): the one
    named ``code`` or ending ``(code)`` (pyxform's ``Russian (ru)``); None when the form lacks it."""
    code = code or get_language()
    return next((language for language in languages if language == code or language.endswith(f"({code})")), None)
