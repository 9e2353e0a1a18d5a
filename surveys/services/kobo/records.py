"""Anonymised records as KoboToolbox's submission records.

Every record is read through :func:`surveys.selectors.submissions_for_user`
(what the user may see) and released through
:func:`surveys.selectors.answers_released` (never an ``identifier`` field).
A record carries KoboToolbox's metadata (``_id``, ``_uuid``,
``meta/instanceID``, ``formhub/uuid``, ``__version__``, ``_xform_id_string``,
``_submission_time`` in UTC without a zone, ``_submitted_by``,
``_validation_status``, ``_attachments``, ``_geolocation``, ``_status``,
``_notes``, ``_tags``) and the answers by group path, as the strings of
the instance: numbers as written, select_multiple as its space-separated
choices, repeats as lists of records keyed by full path. ``_geolocation``
is the first GPS question's *displaced* point. Attachments are raw data:
only the data-protection role gets them listed.

A page of 30,000 records is read in one query of plain values, without a
query per record.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import orjson
from django.db.models import ExpressionWrapper, F, QuerySet, TextField
from django.urls import reverse

from mtm.errors import NotFound
from surveys import selectors
from surveys.models import SubmissionAttachment
from surveys.services.kobo.assets import Asset, formhub_uuid
from surveys.services.kobo.query import VALIDATION_LABELS, query_filter, sort_columns

#: KoboToolbox's page size: the default and the maximum of ``limit``.
MAX_LIMIT = 30_000
_GEO = {"geopoint"}
_COLUMNS = ("id", "instance_id", "questionnaire_id", "received_at", "submitted_by__username", "review_status",
            "reviewed_by__username", "reviewed_at", "answers_json")


def _plain_values(qs: QuerySet) -> QuerySet:
    """The record columns, the answers as their JSON text (decoded by orjson,
    not one ``json.loads`` per row)."""
    return qs.annotate(answers_json=ExpressionWrapper(F("answers"), output_field=TextField())).values_list(*_COLUMNS)


@dataclass(frozen=True)
class VersionFacts:
    version: str
    withheld: frozenset[str]
    schema: dict[str, Any]
    geo_path: str | None


@dataclass(frozen=True)
class DataPage:
    count: int
    results: list[dict[str, Any]]


def visible_records(*, user, form_id: str | None = None) -> QuerySet:
    """The processed, current submissions ``user`` may see, unordered."""
    return (selectors.submissions_for_user(user=user, form_id=form_id, current_only=True)
            .filter(answers__isnull=False).select_related(None).prefetch_related(None).order_by())


def field_types(asset: Asset) -> dict[str, str]:
    """Question type by path over every version of the form (the newest version wins)."""
    types: dict[str, str] = {}
    for questionnaire in reversed(asset.versions):
        types.update({f["path"]: f["type"] for f in questionnaire.schema.get("fields", [])})
    return types


def asset_records(*, user, asset: Asset, query: dict[str, Any] | None = None, sort: dict[str, Any] | None = None,
                  fields: list[str] | None = None, start: int = 0, limit: int = MAX_LIMIT) -> DataPage:
    """One page of the asset's records as KoboToolbox returns them, with the count of all that match."""
    qs = visible_records(user=user, form_id=asset.form_id).filter(query_filter(query, field_types(asset)))
    count = qs.count()
    rows = list(_plain_values(qs.order_by(*sort_columns(sort))[start:start + limit]))
    return DataPage(count=count, results=_shape(rows, user=user, asset=asset, fields=fields))


def asset_record(*, user, asset: Asset, submission_id: int) -> dict[str, Any]:
    rows = list(_plain_values(visible_records(user=user, form_id=asset.form_id).filter(pk=submission_id)))
    if not rows:
        raise NotFound(f"No submission {submission_id} in this asset.")
    return _shape(rows, user=user, asset=asset, fields=None)[0]


def validation_status(review_status: str | None, by: str | None, at: dt.datetime | None) -> dict[str, Any]:
    """KoboToolbox's ``_validation_status``: ``{}`` when none of its three states is set."""
    known = VALIDATION_LABELS.get(review_status)
    if known is None:
        return {}
    uid, label, color = known
    return {"timestamp": int(at.timestamp()) if at else None, "uid": uid, "by_whom": by or "", "color": color,
            "label": label}


def _version_facts(asset: Asset) -> dict[int, VersionFacts]:
    facts = {}
    for questionnaire in asset.versions:
        schema = questionnaire.schema
        geo = next((f["path"] for f in schema.get("fields", []) if f["type"] in _GEO and not f.get("repeat")
                    and f.get("privacy") != "identifier"), None)
        facts[questionnaire.pk] = VersionFacts(version=questionnaire.version, schema=schema, geo_path=geo,
                                               withheld=selectors.withheld_paths(schema))
    return facts


def _shape(rows: list[tuple], *, user, asset: Asset, fields: list[str] | None) -> list[dict[str, Any]]:
    facts = _version_facts(asset)
    attachments = _attachments([row[0] for row in rows], asset.form_id) if selectors.may_open_raw(user) else {}
    hub = formhub_uuid(asset.form_id)
    wanted = set(fields) if fields else None
    out = []
    loads = orjson.loads
    for pk, instance_id, questionnaire_id, received, by, review, reviewer, reviewed_at, answers in rows:
        version = facts[questionnaire_id]
        released = selectors.answers_released(answers=loads(answers) if type(answers) is str else answers,
                                              schema=version.schema, withheld=version.withheld)
        record: dict[str, Any] = {"_id": pk, "formhub/uuid": hub}
        record.update(_strings(released))
        record.update({
            "__version__": version.version,
            "meta/instanceID": instance_id,
            "_xform_id_string": asset.form_id,
            "_uuid": instance_id.removeprefix("uuid:"),
            "_attachments": attachments.get(pk, []),
            "_status": "submitted_via_web",
            "_geolocation": _point(released.get(version.geo_path) if version.geo_path else None),
            "_submission_time": _utc_text(received),
            "_tags": [],
            "_notes": [],
            "_validation_status": validation_status(review, reviewer, reviewed_at),
            "_submitted_by": by,
        })
        if wanted is not None:
            record = {k: v for k, v in record.items() if k in wanted}
        out.append(record)
    return out


def _utc_text(value: dt.datetime) -> str:
    """KoboToolbox's ``_submission_time``: UTC, to the second, no zone."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _strings(record: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path, value in record.items():
        kind = type(value)
        if kind is str:
            out[path] = value
        elif value is None:
            continue
        elif kind is list:
            out[path] = ([_strings(item) for item in value] if value and type(value[0]) is dict
                         else " ".join(map(str, value)))
        elif kind is int:
            out[path] = str(value)
        elif isinstance(value, bool):
            out[path] = "true" if value else "false"
        elif isinstance(value, float):
            out[path] = str(int(value)) if value.is_integer() else repr(value)
        else:
            out[path] = str(value)
    return out


def _point(value: Any) -> list[float | None]:
    parts = value.split() if isinstance(value, str) else []
    try:
        return [float(parts[0]), float(parts[1])]
    except (IndexError, ValueError):
        return [None, None]


def _attachments(ids: list[int], form_id: str) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    rows = (SubmissionAttachment.objects.filter(submission_id__in=ids)
            .values_list("id", "submission_id", "submission__instance_id", "filename", "content_type"))
    for pk, submission_id, instance_id, filename, content_type in rows.iterator():
        url = reverse("api-submission-attachment", kwargs={"instance_id": instance_id, "filename": filename})
        url = f"{url}?form={form_id}"
        out.setdefault(submission_id, []).append({
            "id": pk, "instance": submission_id, "filename": f"{form_id}/{instance_id}/{filename}",
            "media_file_basename": filename, "mimetype": content_type, "download_url": url,
            "download_large_url": url, "download_medium_url": url, "download_small_url": url,
        })
    return out
