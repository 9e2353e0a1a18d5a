"""A form's ``content`` as KoboToolbox keeps an XLSForm: ``survey`` rows with
``$kuid``/``$autoname``/``$xpath`` and translated ``label`` lists,
``begin_group``/``end_group`` rows, ``choices``, ``settings``,
``translations``."""

from __future__ import annotations

import re
from typing import Any

from rest_framework import serializers

from surveys.api.schema import SchemaExtras, keyed
from surveys.form_schema import FormSchema, SchemaField
from surveys.kobo_ids import kuid
from surveys.models import Questionnaire

_CONTAINERS = {"group": ("begin_group", "end_group"), "repeat": ("begin_repeat", "end_repeat")}


_REFERENCE = re.compile(r"/[A-Za-z_][\w.-]*(?:/[A-Za-z_][\w.-]*)+")


def _translated_field(**kwargs: Any) -> serializers.ListField:
    return serializers.ListField(child=serializers.CharField(allow_null=True), required=False,
                                 help_text="One text per language of translations", **kwargs)


class KoboSurveyRowSerializer(serializers.Serializer):
    """A row of the survey sheet; a group's or repeat's end row has only ``type`` and ``$kuid``."""

    def get_fields(self) -> dict[str, serializers.Field]:
        text = serializers.CharField
        return keyed({"type": text(), "name": text(required=False), "$autoname": text(required=False),
                "$kuid": text(), "$xpath": text(required=False, help_text="The group path"),
                "label": _translated_field(), "hint": _translated_field(),
                "select_from_list_name": text(required=False), "required": serializers.BooleanField(required=False),
                "relevant": text(required=False), "constraint": text(required=False),
                "calculation": text(required=False), "constraint_message": _translated_field(),
                "choice_filter": text(required=False),
                "privacy": text(required=False, help_text="identifier, pseudonym, quasi or location")})


class KoboChoiceRowSerializer(SchemaExtras, serializers.Serializer):
    """A row of the choices sheet, with the sheet's other columns (texts and numbers)."""

    additional_properties = {"anyOf": [{"type": "string"}, {"type": "number"}]}

    def get_fields(self) -> dict[str, serializers.Field]:
        text = serializers.CharField
        return keyed({"list_name": text(), "name": text(), "$autovalue": text(), "$kuid": text(),
                "label": _translated_field()})


class KoboContentSettingsSerializer(serializers.Serializer):
    form_id = serializers.CharField()
    version = serializers.CharField()
    form_title = serializers.CharField()
    default_language = serializers.CharField(required=False)


class KoboContentSerializer(serializers.Serializer):
    """A form version's content as KoboToolbox keeps an XLSForm (:func:`asset_content`)."""

    schema = serializers.CharField(help_text='"1"')
    survey = KoboSurveyRowSerializer(many=True)
    choices = KoboChoiceRowSerializer(many=True)
    settings = KoboContentSettingsSerializer()
    translated = serializers.ListField(child=serializers.CharField())
    translations = serializers.ListField(child=serializers.CharField(allow_null=True),
                                         help_text="The form's languages; null for an unnamed one")


def translations(schema: FormSchema) -> list[str | None]:
    """KoboToolbox's ``translations``: the form's languages, ``None`` for an unnamed one."""
    return [None if lang == "default" else lang for lang in schema.get("languages") or ["default"]]


def _translated(texts: dict[str, str] | None, languages: list[str | None]) -> list[str | None] | None:
    if not texts:
        return None
    return [texts.get(lang or "default") or (texts.get("default") if lang else None) for lang in languages]


def xlsform_expression(expression: str | None, root: str) -> str | None:
    """An XForm expression with absolute references (``/data/resp/age``) back in XLSForm's ``${age}``."""
    if not expression:
        return expression
    prefix = f"/{root}/"
    return _REFERENCE.sub(lambda m: "${" + m.group(0).rsplit("/", 1)[1] + "}" if m.group(0).startswith(prefix)
                          else m.group(0), expression)


def asset_content(*, questionnaire: Questionnaire) -> dict[str, Any]:
    """A version's content as KoboToolbox returns it (``schema`` "1")."""
    schema = questionnaire.schema
    languages = translations(schema)
    root = schema.get("root") or "data"
    survey: list[dict[str, Any]] = []
    open_containers: list[SchemaField] = []
    for f in schema.get("fields", []):
        if f["path"] == "meta" or f["path"].startswith("meta/"):
            continue  # pyxform's own meta group (instanceID): KoboToolbox's content leaves it implicit
        while open_containers and open_containers[-1]["path"] != f.get("parent"):
            survey.append(_end_row(open_containers.pop(), questionnaire.form_id))
        survey.append(_survey_row(f, questionnaire.form_id, languages, root))
        if f["type"] in _CONTAINERS:
            open_containers.append(f)
    while open_containers:
        survey.append(_end_row(open_containers.pop(), questionnaire.form_id))
    choices = []
    lists = schema.get("choices") or {}
    used = [name for f in schema.get("fields", []) if (name := f.get("list_name")) and name in lists]
    order = list(dict.fromkeys(used + sorted(lists)))  # as the questions use them (PostgreSQL keeps no key order)
    for list_name, items in ((name, lists[name]) for name in order):
        for item in items:
            row: dict[str, Any] = {"list_name": list_name, "name": item["name"], "$autovalue": item["name"],
                                   "$kuid": kuid(questionnaire.form_id, f"choices/{list_name}/{item['name']}")}
            label = _translated(item.get("label"), languages)
            if label:
                row["label"] = label
            row.update({k: v for k, v in (item.get("extra") or {}).items() if isinstance(v, (str, int, float))})
            choices.append(row)
    default_language = schema.get("default_language")
    settings: dict[str, Any] = {"form_id": questionnaire.form_id, "version": questionnaire.version,
                                "form_title": questionnaire.title}
    if default_language and default_language != "default":
        settings["default_language"] = default_language
    return {"schema": "1", "survey": survey, "choices": choices, "settings": settings,
            "translated": ["hint", "label", "constraint_message"], "translations": languages}


def _survey_row(f: SchemaField, form_id: str, languages: list[str | None], root: str) -> dict[str, Any]:
    ftype = _CONTAINERS[f["type"]][0] if f["type"] in _CONTAINERS else f["type"]
    row: dict[str, Any] = {"type": ftype, "name": f["name"], "$autoname": f["name"], "$kuid": kuid(form_id, f["path"]),
                           "$xpath": f["path"]}
    label = _translated(f.get("label"), languages)
    if label:
        row["label"] = label
    hint = _translated(f.get("hint"), languages)
    if hint:
        row["hint"] = hint
    if f.get("list_name") and f["type"].startswith("select_"):
        row["select_from_list_name"] = f["list_name"]
    if f["type"] not in _CONTAINERS:
        row["required"] = f.get("required") in ("true()", "true", "yes")
    for target, expression in (("relevant", f.get("relevant")), ("constraint", f.get("constraint")),
                               ("calculation", f.get("calculate"))):
        if expression:
            row[target] = xlsform_expression(expression, root)
    message = _translated(f.get("constraint_message"), languages)
    if message:
        row["constraint_message"] = message
    if f.get("choice_filter"):
        row["choice_filter"] = f["choice_filter"]
    if f.get("privacy"):
        row["privacy"] = f["privacy"]
    return row


def _end_row(container: SchemaField, form_id: str) -> dict[str, Any]:
    return {"type": _CONTAINERS[container["type"]][1], "$kuid": "/" + kuid(form_id, container["path"])}
