"""Forms as KoboToolbox assets: a stable ``uid`` per form (stored on every
version, :attr:`surveys.models.Questionnaire.kobo_uid`), the versions as
deployed versions, what a user may see."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db.models import Count, QuerySet

from mtm.errors import NotFound
from surveys.models import Questionnaire, Round
from surveys.selectors.questionnaires import questionnaire_schema, questionnaires_visible_to

if TYPE_CHECKING:
    from enumerators.models import AnyUser


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


def assets_for_user(*, user: AnyUser, q: str | None = None, asset_type: str | None = None,
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
    if "uid" in terms:
        versions = versions.filter(kobo_uid=terms["uid"])
    assets = [asset for asset in _assets(versions) if _matches(asset, terms)]
    if counted and assets:  # (an account that sees no form may not count records either)
        counts = _submission_counts(user)
        assets = [dataclasses.replace(a, submission_count=counts.get(a.form_id, 0)) for a in assets]
    return assets


def asset_for_user(*, user: AnyUser, uid: str, counted: bool = False) -> Asset:
    """One asset by uid, its versions read in one indexed query (``kobo_uid``);
    :class:`NotFound` when it does not exist or ``user`` may not see it."""
    versions = questionnaires_visible_to(user).filter(kobo_uid=uid).order_by("-created_at", "-id")
    found = _assets(versions)
    if not found:
        raise NotFound(f"No asset '{uid}'.")
    asset = found[0]
    if counted:
        counts = _submission_counts(user, form_id=asset.form_id)
        asset = dataclasses.replace(asset, submission_count=counts.get(asset.form_id, 0))
    return asset


def _assets(versions: QuerySet[Questionnaire]) -> list[Asset]:
    """The versions (newest first within a form) as assets, a form's "active" when one of its versions is
    offered to tablets (not archived, in an open round): a form whose versions are all archived is inactive.
    The versions are read without their XForm and schema (hundreds of kB each, read on every page of
    records): the schema is the process's copy (:func:`questionnaire_schema`, by its key; read-only), the
    XForm read if asked for."""
    by_form: dict[str, list[Questionnaire]] = {}
    for questionnaire in versions.defer("xform_xml", "schema"):
        questionnaire.schema = questionnaire_schema(pk=questionnaire.pk, key=questionnaire.schema_key)
        by_form.setdefault(questionnaire.form_id, []).append(questionnaire)
    return [Asset(uid=found[0].kobo_uid, form_id=form_id, versions=found,
                  active=any(q.round.status == Round.Status.OPEN and q.archived_at is None for q in found),
                  submission_count=0) for form_id, found in by_form.items()]


def _submission_counts(user: AnyUser, form_id: str | None = None) -> dict[str, int]:
    from surveys.selectors.kobo.records import visible_records

    rows = visible_records(user=user, form_id=form_id).values("form_id").annotate(n=Count("id"))
    return dict(rows.values_list("form_id", "n"))


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


def asset_of_form(*, form_id: str) -> Asset | None:
    """The form as an asset, with no user's scope (the REST services' sender); None when it has no version."""
    versions = (Questionnaire.objects.filter(form_id=form_id).select_related("round")
                .order_by("-created_at", "-id"))
    found = _assets(versions)
    return found[0] if found else None
