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
query per record. The released answers of a record are kept as JSON text
(:class:`surveys.models.KoboRecord`, rendered on the first read and again
after the submission is saved), so that a JSON page is written by splicing
texts rather than by decoding and encoding every answer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import orjson
from django.db.models import (
    BooleanField,
    Case,
    DateTimeField,
    ExpressionWrapper,
    F,
    Func,
    QuerySet,
    TextField,
    Value,
    When,
)
from django.urls import reverse

from mtm.errors import NotFound
from surveys import selectors
from surveys.models import KoboRecord, Submission, SubmissionAttachment
from surveys.services.kobo.assets import Asset, formhub_uuid
from surveys.services.kobo.query import VALIDATION_LABELS, query_filter, sort_columns

#: KoboToolbox's page size: the default and the maximum of ``limit``.
MAX_LIMIT = 30_000
_GEO = {"geopoint"}
_COLUMNS = ("id", "instance_id", "questionnaire_id", "submission_time", "submitted_by__username", "review_status",
            "reviewed_by__username", "reviewed_at", "cache_current", "kobo_record__answers_json")


class SubmissionTime(Func):
    """``received_at`` as KoboToolbox's ``_submission_time`` text, written by
    PostgreSQL (a datetime elsewhere, formatted in Python)."""

    def __init__(self) -> None:
        super().__init__(F("received_at"), output_field=DateTimeField())

    def as_sql(self, compiler, connection, **extra_context):
        return compiler.compile(self.source_expressions[0])

    def as_postgresql(self, compiler, connection, **extra_context):
        self.output_field = TextField()
        column, params = compiler.compile(self.source_expressions[0])
        return f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')""", params


def _page_rows(qs: QuerySet) -> list[tuple]:
    return list(qs.annotate(
        submission_time=SubmissionTime(),
        cache_current=Case(When(kobo_record__source_updated_at=F("updated_at"), then=Value(True)),
                           default=Value(False), output_field=BooleanField()),
    ).values_list(*_COLUMNS))
_RENDER_BATCH = 2000


@dataclass(frozen=True)
class VersionFacts:
    version: str
    withheld: frozenset[str]
    schema: dict[str, Any]
    geo_path: str | None


@dataclass(frozen=True)
class DataPage:
    count: int
    results: list[Any]


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
                  fields: list[str] | None = None, start: int = 0, limit: int = MAX_LIMIT,
                  as_json: bool = False) -> DataPage:
    """One page of the asset's records as KoboToolbox returns them, with the
    count of all that match. ``as_json`` gives each record as its JSON
    (:class:`orjson.Fragment`), written without decoding its answers."""
    qs = visible_records(user=user, form_id=asset.form_id).filter(query_filter(query, field_types(asset)))
    count = qs.count()
    ordered = qs.order_by(*sort_columns(sort))
    if start == 0 and limit >= count:
        rows = _page_rows(ordered)  # everything: one query
    else:  # the page's ids first (no joins over the rows skipped), then the page's rows
        ids = list(ordered[start:start + limit].values_list("id", flat=True))
        found = {row[0]: row for row in _page_rows(Submission.objects.filter(pk__in=ids))} if ids else {}
        rows = [found[pk] for pk in ids if pk in found]
    return DataPage(count=count, results=_shape(rows, user=user, asset=asset, fields=fields,
                                                as_json=as_json and not fields))


def asset_record(*, user, asset: Asset, submission_id: int) -> dict[str, Any]:
    rows = _page_rows(visible_records(user=user, form_id=asset.form_id).filter(pk=submission_id))
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


def released_answers(*, rows: list[tuple], facts: dict[int, VersionFacts]) -> dict[int, str]:
    """The released answers of each row (in KoboToolbox's strings) as JSON
    text, from the :class:`KoboRecord` cache where it is current; the others
    are released now (:func:`selectors.answers_released`) and stored."""
    texts: dict[int, str] = {}
    stale: list[int] = []
    for row in rows:
        pk, current, cached = row[0], row[8], row[9]
        if current and cached is not None:
            texts[pk] = cached
        else:
            stale.append(pk)
    for first in range(0, len(stale), _RENDER_BATCH):
        texts.update(_render(stale[first:first + _RENDER_BATCH], facts))
    return texts


def _render(ids: list[int], facts: dict[int, VersionFacts]) -> dict[int, str]:
    texts: dict[int, str] = {}
    cache = []
    fresh = (Submission.objects.filter(pk__in=ids, answers__isnull=False)
             .annotate(answers_json=ExpressionWrapper(F("answers"), output_field=TextField()))
             .values_list("id", "questionnaire_id", "updated_at", "answers_json"))
    for pk, questionnaire_id, updated_at, answers in fresh:
        version = facts[questionnaire_id]
        released = selectors.answers_released(answers=orjson.loads(answers) if type(answers) is str else answers,
                                              schema=version.schema, withheld=version.withheld)
        strings = _strings(released)
        strings.pop("meta/instanceID", None)  # written with the record's metadata
        texts[pk] = text = orjson.dumps(strings).decode()
        cache.append(KoboRecord(submission_id=pk, source_updated_at=updated_at, answers_json=text))
    KoboRecord.objects.bulk_create(cache, update_conflicts=True, unique_fields=["submission"],
                                   update_fields=["source_updated_at", "answers_json"])
    return texts


def _shape(rows: list[tuple], *, user, asset: Asset, fields: list[str] | None,
           as_json: bool = False) -> list[Any]:
    facts = _version_facts(asset)
    answers = released_answers(rows=rows, facts=facts)
    attachments = _attachments([row[0] for row in rows], asset.form_id) if selectors.may_open_raw(user) else {}
    hub = formhub_uuid(asset.form_id)
    wanted = set(fields) if fields else None
    dumps, loads, fragment = orjson.dumps, orjson.loads, orjson.Fragment
    hub_json = dumps(hub)
    geo_paths = {pk: f.geo_path for pk, f in facts.items()}
    out: list[Any] = []
    for pk, instance_id, questionnaire_id, received_at, by, review, reviewer, reviewed_at, *_ in rows:
        text = answers.get(pk)
        if text is None:
            continue  # no longer processed since the page was read
        geo_path = geo_paths[questionnaire_id]
        meta = {
            "__version__": facts[questionnaire_id].version,
            "meta/instanceID": instance_id,
            "_xform_id_string": asset.form_id,
            "_uuid": instance_id.removeprefix("uuid:"),
            "_attachments": attachments.get(pk, []),
            "_status": "submitted_via_web",
            "_geolocation": _point(_geo_value(text, geo_path) if geo_path else None),
            "_submission_time": _utc_text(received_at),
            "_tags": [],
            "_notes": [],
            "_validation_status": validation_status(review, reviewer, reviewed_at),
            "_submitted_by": by,
        }
        if as_json:
            inner = text[1:-1].encode()
            out.append(fragment(b'{"_id":%d,"formhub/uuid":%b%b,%b' % (pk, hub_json, b"," + inner if inner else b"",
                                                                      dumps(meta)[1:])))
            continue
        record: dict[str, Any] = {"_id": pk, "formhub/uuid": hub, **loads(text), **meta}
        if wanted is not None:
            record = {k: v for k, v in record.items() if k in wanted}
        out.append(record)
    return out


def _geo_value(text: str, path: str) -> str | None:
    """The GPS answer at ``path`` read from the record's JSON text, without decoding the record."""
    key = orjson.dumps(path).decode() + ":"
    at = text.find(key)
    if at < 0:
        return None
    end = text.find('"', at + len(key) + 1)
    return text[at + len(key) + 1:end] if text[at + len(key)] == '"' and end > 0 else None


def _utc_text(value: dt.datetime | str) -> str:
    """KoboToolbox's ``_submission_time``: UTC, to the second, no zone."""
    if type(value) is str:
        return value
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
