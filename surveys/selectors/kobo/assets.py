"""Forms as KoboToolbox assets: a stable ``uid`` per form (stored on every
version, :attr:`surveys.models.Questionnaire.kobo_uid`), the versions as
deployed versions, what a user may see."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count

from mtm.errors import NotFound
from surveys.models import Questionnaire, Round
from surveys.selectors.questionnaires import questionnaires_visible_to

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


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
    versions = questionnaires_visible_to(user).order_by("form_id", "-created_at", "-id")
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
    from surveys.selectors.kobo.records import visible_records

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
