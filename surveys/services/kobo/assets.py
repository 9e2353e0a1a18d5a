"""Forms as KoboToolbox assets: a stable ``uid`` per form, the versions as
deployed versions, and the form's ``content`` as KoboToolbox keeps an XLSForm
(``survey`` rows with ``$kuid``/``$autoname``/``$xpath`` and translated
``label`` lists, ``begin_group``/``end_group`` rows, ``choices``, ``settings``,
``translations``)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count

from mtm.errors import NotFound
from surveys import selectors
from surveys.models import Questionnaire, Round

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_CONTAINERS = {"group": ("begin_group", "end_group"), "repeat": ("begin_repeat", "end_repeat")}
_REFERENCE = re.compile(r"/[A-Za-z_][\w.-]*(?:/[A-Za-z_][\w.-]*)+")


def _base62(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    out = []
    while number:
        number, digit = divmod(number, 62)
        out.append(_ALPHABET[digit])
    return "".join(reversed(out)) or "0"


def asset_uid(form_id: str) -> str:
    """The asset uid of a form: 22 characters starting with ``a`` as
    KoboToolbox's, the same for every version and on every server."""
    return "a" + _base62(hashlib.sha256(f"mtm-collect:asset:{form_id}".encode()).digest())[:21]


def formhub_uuid(form_id: str) -> str:
    """The ``formhub/uuid`` of the form's records (32 hex digits, like KoboToolbox's XForm uuid)."""
    return hashlib.sha256(f"mtm-collect:xform:{form_id}".encode()).hexdigest()[:32]


def kuid(form_id: str, path: str) -> str:
    return _base62(hashlib.sha256(f"{form_id}:{path}".encode()).digest())[:9]


@dataclass(frozen=True)
class Asset:
    """One form as a KoboToolbox asset: its versions newest first."""

    uid: str
    form_id: str
    versions: list[Questionnaire]
    active: bool
    submission_count: int

    @property
    def current(self) -> Questionnaire:
        return self.versions[0]

    @property
    def name(self) -> str:
        return self.current.title

    @property
    def date_created(self) -> datetime:
        return self.versions[-1].created_at

    @property
    def date_modified(self) -> datetime:
        return self.current.created_at


def assets_for_user(*, user, q: str | None = None, asset_type: str | None = None,
                    counted: bool = True) -> list[Asset]:
    """The forms ``user`` may see as assets, ordered by form_id. ``q`` is
    KoboToolbox's search: ``asset_type:survey``, ``uid:…``, ``name:…``,
    ``name__icontains:…``, ``deployment__active:true`` terms and plain words
    (matched in the title or form_id), ``AND``-ed. ``counted=False`` leaves
    ``submission_count`` at 0 (one grouped count over the user's records less)."""
    if asset_type and asset_type != "survey":
        return []
    terms = _search_terms(q or "")
    if terms.get("asset_type", "survey") != "survey":
        return []
    versions = selectors.questionnaires_visible_to(user).order_by("form_id", "-created_at", "-id")
    by_form: dict[str, list[Questionnaire]] = {}
    for questionnaire in versions:
        by_form.setdefault(questionnaire.form_id, []).append(questionnaire)
    if not by_form:
        return []
    open_forms = set(Questionnaire.objects.filter(form_id__in=by_form, round__status=Round.Status.OPEN)
                     .values_list("form_id", flat=True))
    counts = _submission_counts(user) if counted else {}
    assets = [Asset(uid=asset_uid(form_id), form_id=form_id, versions=found, active=form_id in open_forms,
                    submission_count=counts.get(form_id, 0)) for form_id, found in by_form.items()]
    return [asset for asset in assets if _matches(asset, terms)]


def asset_for_user(*, user, uid: str, counted: bool = False) -> Asset:
    """One asset by uid; :class:`NotFound` when it does not exist or ``user`` may not see it."""
    for asset in assets_for_user(user=user, counted=counted):
        if asset.uid == uid:
            return asset
    raise NotFound(f"No asset '{uid}'.")


def _submission_counts(user) -> dict[str, int]:
    from surveys.services.kobo.records import visible_records

    rows = visible_records(user=user).values("form_id").annotate(n=Count("id")).values_list("form_id", "n")
    return dict(rows)


def _search_terms(q: str) -> dict[str, Any]:
    terms: dict[str, Any] = {"words": []}
    for token in re.findall(r'(?:[^\s"]+:"[^"]*"|"[^"]*"|\S+)', q):
        if token.upper() in ("AND", "OR", "NOT"):
            continue
        key, sep, value = token.partition(":")
        if sep and re.fullmatch(r"[\w.]+", key):
            terms[key] = value.strip('"')
        else:
            terms["words"].append(token.strip('"').lower())
    return terms


def _matches(asset: Asset, terms: dict[str, Any]) -> bool:
    text = f"{asset.name} {asset.form_id}".lower()
    if any(word not in text for word in terms["words"]):
        return False
    if "uid" in terms and terms["uid"] != asset.uid:
        return False
    if "name" in terms and terms["name"] != asset.name:
        return False
    for key in ("name__icontains", "name__contains"):
        if key in terms and terms[key].lower() not in asset.name.lower():
            return False
    if "deployment__active" in terms and (terms["deployment__active"].lower() == "true") != asset.active:
        return False
    return not ("_deployment_data__active" in terms
                and (terms["_deployment_data__active"].lower() == "true") != asset.active)


def translations(schema: dict[str, Any]) -> list[str | None]:
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
    open_containers: list[dict[str, Any]] = []
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
    used = [f["list_name"] for f in schema.get("fields", []) if f.get("list_name") in lists]
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


def _survey_row(f: dict[str, Any], form_id: str, languages: list[str | None], root: str) -> dict[str, Any]:
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
    for key, target in (("relevant", "relevant"), ("constraint", "constraint"), ("calculate", "calculation")):
        if f.get(key):
            row[target] = xlsform_expression(f[key], root)
    message = _translated(f.get("constraint_message"), languages)
    if message:
        row["constraint_message"] = message
    if f.get("choice_filter"):
        row["choice_filter"] = f["choice_filter"]
    if f.get("privacy"):
        row["privacy"] = f["privacy"]
    return row


def _end_row(container: dict[str, Any], form_id: str) -> dict[str, Any]:
    return {"type": _CONTAINERS[container["type"]][1], "$kuid": "/" + kuid(form_id, container["path"])}
