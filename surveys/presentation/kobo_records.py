"""Records as KoboToolbox writes them (the data endpoint, and what a REST service sends): metadata
(``_id``, ``_uuid``, ``meta/instanceID``, ``formhub/uuid``, ``__version__``, ``_xform_id_string``,
``_submission_time`` in UTC without a zone, ``_submitted_by``, ``_validation_status``, ``_attachments``,
``_geolocation``, ``_status``, ``_notes``, ``_tags``) and the released answers by group path, as the
strings of the instance. ``_geolocation`` is the first GPS question's *displaced* point. Attachments are
raw data: only the data-protection role gets them listed. A presentation module: the KoBo API
(:mod:`surveys.api.kobo.records` documents the shape) and the REST services' payload
(:mod:`surveys.presentation.hook_payload`) both write it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import orjson
from django.urls import reverse

from surveys.kobo_ids import formhub_uuid
from surveys.selectors.kobo.assets import Asset
from surveys.selectors.kobo.query import VALIDATION_LABELS
from surveys.selectors.kobo.records import RecordPage


def validation_status(review_status: str | None, by: str | None, at: dt.datetime | None) -> dict[str, Any]:
    """KoboToolbox's ``_validation_status``: ``{}`` when none of its three states is set."""
    known = VALIDATION_LABELS.get(review_status or "")
    if known is None:
        return {}
    uid, label, color = known
    return {"timestamp": int(at.timestamp()) if at else None, "uid": uid, "by_whom": by or "", "color": color,
            "label": label}


def records_shaped(page: RecordPage, *, asset: Asset, fields: list[str] | None = None,
                   as_json: bool = False) -> Iterator[Any]:
    """The page's records as KoboToolbox returns them, one at a time as the
    page's chunks are read; ``fields`` keeps only those keys. ``as_json``
    gives each record as its JSON (:class:`orjson.Fragment`), written without
    decoding its answers."""
    facts = page.facts
    as_json = as_json and not fields
    hub = formhub_uuid(asset.form_id)
    wanted = set(fields) if fields else None
    dumps, loads, fragment = orjson.dumps, orjson.loads, orjson.Fragment
    hub_json = dumps(hub)
    geo_paths = {pk: f.geo_path for pk, f in facts.items()}
    for chunk in page.chunks:
        answers = chunk.answers
        attachments = {pk: [_attachment(item, pk, asset.form_id) for item in items]
                       for pk, items in chunk.attachments.items()}
        for pk, instance_id, questionnaire_id, received_at, by, review, reviewer, reviewed_at, *_ in chunk.rows:
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
                yield fragment(b'{"_id":%d,"formhub/uuid":%b%b,%b' % (pk, hub_json, b"," + inner if inner else b"",
                                                                        dumps(meta)[1:]))
                continue
            record: dict[str, Any] = {"_id": pk, "formhub/uuid": hub, **loads(text), **meta}
            if wanted is not None:
                record = {k: v for k, v in record.items() if k in wanted}
            yield record


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
    if isinstance(value, str):
        return value
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _point(value: Any) -> list[float | None]:
    parts = value.split() if isinstance(value, str) else []
    try:
        return [float(parts[0]), float(parts[1])]
    except (IndexError, ValueError):
        return [None, None]


def _attachment(item: tuple[int, str, str, str], submission_id: int, form_id: str) -> dict[str, Any]:
    pk, instance_id, filename, content_type = item
    url = reverse("api-submission-attachment", kwargs={"instance_id": instance_id, "filename": filename})
    url = f"{url}?form={form_id}"
    return {"id": pk, "instance": submission_id, "filename": f"{form_id}/{instance_id}/{filename}",
            "media_file_basename": filename, "mimetype": content_type, "download_url": url,
            "download_large_url": url, "download_medium_url": url, "download_small_url": url}
