"""Anonymised records for KoboToolbox's data endpoint.

Every record is read through :func:`surveys.selectors.submissions.submissions_for_user`
(what the user may see) and released through :func:`surveys.release.answers_released`
(never an ``identifier`` field). A page of up to :data:`CHUNK` records is read
in one query when asked for; a larger one (up to 30,000 records) is its ids,
read when asked for, and then chunks of :data:`CHUNK` records read as the
response streams: a worker holds one chunk at a time, whatever the page's
size (bench/memory.py). The released answers of a record are kept as JSON
text (:class:`surveys.models.KoboRecord`, rendered on the first read and
again after the submission is saved), so that a JSON page is written by
splicing texts rather than by decoding and encoding every answer. Their
shape as KoboToolbox's records is the API's (:mod:`surveys.api.kobo.records`)."""

from __future__ import annotations

import datetime as dt
import hashlib
import mimetypes
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

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

from mtm import cache as mtm_cache
from mtm.errors import NotFound
from surveys.form_schema import FormSchema
from surveys.models import KoboRecord, Submission, SubmissionAttachment
from surveys.release import answers_released, withheld_paths
from surveys.selectors.kobo.assets import Asset
from surveys.selectors.kobo.query import query_filter, sort_columns
from surveys.selectors.scope import may_open_raw
from surveys.selectors.submissions import submissions_for_user

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.models.sql.compiler import SQLCompiler

    from enumerators.models import AnyUser

#: KoboToolbox's page size: the default and the maximum of ``limit``.
MAX_LIMIT = 30_000
#: Records read, released and shaped at a time while a page streams (one query each).
CHUNK = 1000


_GEO = {"geopoint"}


#: SQL and its parameters, as an expression compiles.
Sql = tuple[str, tuple[str | int, ...]]
#: A record's row: the values of :data:`_COLUMNS`, in order.
Row = tuple[Any, ...]

_COLUMNS = ("id", "instance_id", "questionnaire_id", "submission_time", "submitted_by__username", "review_status",
            "reviewed_by__username", "reviewed_at", "cache_current", "kobo_record__answers_json")


class SubmissionTime(Func):
    """``received_at`` as KoboToolbox's ``_submission_time`` text, written by
    PostgreSQL (a datetime elsewhere, formatted in Python)."""

    def __init__(self) -> None:
        super().__init__(F("received_at"), output_field=DateTimeField())

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, function: str | None = None,
               template: str | None = None, arg_joiner: str | None = None, **extra_context: Any) -> Sql:
        return compiler.compile(self.source_expressions[0])

    def as_postgresql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any) -> Sql:
        self.output_field = TextField()
        column, params = compiler.compile(self.source_expressions[0])
        return f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')""", params


def _page_rows(qs: QuerySet[Submission], window: slice | None = None) -> list[Row]:
    """The rows of ``qs`` (in its order), only those in ``window`` when given."""
    rows = qs.annotate(
        submission_time=SubmissionTime(),
        cache_current=Case(When(kobo_record__source_updated_at=F("updated_at"), then=Value(True)),
                           default=Value(False), output_field=BooleanField()),
    ).values_list(*_COLUMNS)
    return list(rows if window is None else rows[window])


_RENDER_BATCH = 2000


@dataclass(frozen=True)
class VersionFacts:
    version: str
    withheld: frozenset[str]
    schema: FormSchema
    geo_path: str | None


@dataclass(frozen=True)
class RecordChunk:
    """Records of a page read together: ``rows`` (:data:`_COLUMNS` each, in
    the page's order), the released answers of each as JSON text by id, and
    the attachments by id (for the data-protection role only:
    ``(id, instance_id, filename, content_type)``)."""

    rows: list[Row]
    answers: dict[int, str]
    attachments: dict[int, list[tuple[int, str, str, str]]]


@dataclass(frozen=True)
class RecordPage:
    """A page of an asset's records: ``count``, how many records match in
    all; the facts of each version by questionnaire id; and ``chunks``, the
    page's records read :data:`CHUNK` at a time as they are iterated (once)."""

    count: int
    facts: dict[int, VersionFacts]
    chunks: Iterator[RecordChunk]
    #: The page's last record's id where the order is by ``_id`` alone (the next page's keyset), else None.
    last_id: int | None = None


def visible_records(*, user: AnyUser, form_id: str | None = None) -> QuerySet[Submission]:
    """The processed, current submissions ``user`` may see, unordered."""
    return (submissions_for_user(user=user, form_id=form_id, current_only=True)
            .filter(answers__isnull=False).select_related(None).prefetch_related(None).order_by())


def field_types(asset: Asset) -> dict[str, str]:
    """Question type by path over every version of the form (the newest version wins)."""
    types: dict[str, str] = {}
    for questionnaire in reversed(asset.versions):
        types.update({f["path"]: f["type"] for f in questionnaire.schema.get("fields", [])})
    return types


def asset_records(*, user: AnyUser, asset: Asset, query: dict[str, Any] | None = None,
                  sort: dict[str, Any] | None = None, start: int = 0, limit: int = MAX_LIMIT,
                  after_id: int | None = None) -> RecordPage:
    """One page of the asset's records that ``user`` may see, with the count of
    all that match ``query``. The count and the page's ids are read now (a
    bad query fails here, before any record is written); the records as
    ``chunks`` is iterated.

    Keyset paging: in an order by ``_id`` alone (the default, or ``{"_id": -1}``) ``after_id`` — the
    previous page's last id, which the next link carries — starts the page past that record instead of
    counting ``start`` rows off (the index finds it: page 30 costs what page 1 does), and the count is the
    one the walk's first page read (kept :data:`COUNT_SECONDS`), not read again. Elsewhere ``start``."""
    qs = visible_records(user=user, form_id=asset.form_id).filter(query_filter(query, field_types(asset)))
    columns = sort_columns(sort)  # a bad sort fails here
    ordered = qs.order_by(*columns)
    by_id = columns in (["id"], ["-id"])
    count_key = _count_key(user, asset, query)
    count = mtm_cache.get(count_key) if by_id and after_id is not None else None
    if count is None:
        count = qs.count()
        mtm_cache.set(count_key, count, COUNT_SECONDS)
    if by_id and after_id is not None:
        ordered = ordered.filter(pk__gt=after_id) if columns == ["id"] else ordered.filter(pk__lt=after_id)
        window = slice(0, limit)
    else:
        window = slice(start, start + limit) if count > start else slice(0, 0)
    facts = _version_facts(asset)
    attachments = may_open_raw(user)
    if limit <= CHUNK:  # a page of one chunk: its rows read now, in one query (no ids first)
        rows = _page_rows(ordered, window) if window.stop > window.start else []
        return RecordPage(count=count, facts=facts, chunks=_chunk_of(rows, facts=facts, attachments=attachments),
                          last_id=rows[-1][0] if by_id and rows else None)
    ids = list(ordered[window].values_list("id", flat=True)) if window.stop > window.start else []
    return RecordPage(count=count, facts=facts, chunks=_chunks(qs, ids, facts=facts, attachments=attachments),
                      last_id=ids[-1] if by_id and ids else None)


#: How long a walk through the pages reuses its first page's count.
COUNT_SECONDS = 120


def _count_key(user: AnyUser, asset: Asset, query: dict[str, Any] | None) -> str:
    digest = hashlib.sha256(orjson.dumps(query or {}, option=orjson.OPT_SORT_KEYS)).hexdigest()[:24]
    return f"kobo-count:{user.pk}:{asset.uid}:{digest}"


def asset_record(*, user: AnyUser, asset: Asset, submission_id: int) -> RecordPage:
    """One record as a page of one; :class:`NotFound` when ``user`` may not see it or it is not processed."""
    rows = _page_rows(visible_records(user=user, form_id=asset.form_id).filter(pk=submission_id))
    if not rows:
        raise NotFound(f"No submission {submission_id} in this asset.")
    facts = _version_facts(asset)
    chunk = RecordChunk(rows=rows, answers=released_answers(rows=rows, facts=facts),
                        attachments=_attachments([submission_id]) if may_open_raw(user) else {})
    return RecordPage(count=1, facts=facts, chunks=iter([chunk]))


def _chunks(qs: QuerySet[Submission], ids: list[int], *, facts: dict[int, VersionFacts],
            attachments: bool) -> Iterator[RecordChunk]:
    """The page's records, :data:`CHUNK` at a time, in the order of ``ids`` (read first: no joins over the
    rows skipped); a record of ``qs`` no longer (replaced, no longer processed) since is left out."""
    for first in range(0, len(ids), CHUNK):
        part = ids[first:first + CHUNK]
        found = {row[0]: row for row in _page_rows(qs.filter(pk__in=part).order_by())}
        rows = [found[pk] for pk in part if pk in found]
        yield RecordChunk(rows=rows, answers=released_answers(rows=rows, facts=facts),
                          attachments=_attachments(part) if attachments else {})


def _chunk_of(rows: list[Row], *, facts: dict[int, VersionFacts], attachments: bool) -> Iterator[RecordChunk]:
    """A page's rows read already, as its one chunk (their answers released as the response streams)."""
    if rows:
        yield RecordChunk(rows=rows, answers=released_answers(rows=rows, facts=facts),
                          attachments=_attachments([row[0] for row in rows]) if attachments else {})


def record_review(*, user: AnyUser, asset: Asset,
                  submission_id: int) -> tuple[str | None, str | None, dt.datetime | None]:
    """One record's review state, its reviewer's username and when."""
    rows = list(visible_records(user=user, form_id=asset.form_id).filter(pk=submission_id)
                .values_list("review_status", "reviewed_by__username", "reviewed_at"))
    if not rows:
        raise NotFound(f"No submission {submission_id} in this asset.")
    status, reviewer, reviewed_at = rows[0]
    return status, reviewer, reviewed_at


def _attachments(ids: list[int]) -> dict[int, list[tuple[int, str, str, str]]]:
    """The attachments of a page's records. An encrypted interview's are listed by the names of its media
    (``photo.jpg``, decrypted on download), never its ``.enc`` files, and never its encrypted instance."""
    out: dict[int, list[tuple[int, str, str, str]]] = {}
    rows = (SubmissionAttachment.objects.filter(submission_id__in=ids)
            .values_list("id", "submission_id", "submission__instance_id", "filename", "content_type",
                         "submission__encrypted"))
    for pk, submission_id, instance_id, filename, content_type, encrypted in rows.iterator():
        if encrypted:
            if not filename.endswith(".enc") or filename.endswith(".xml.enc"):
                continue
            filename = filename.removesuffix(".enc")
            content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        out.setdefault(submission_id, []).append((pk, instance_id, filename, content_type))
    return out


def _version_facts(asset: Asset) -> dict[int, VersionFacts]:
    facts = {}
    for questionnaire in asset.versions:
        schema = questionnaire.schema
        geo = next((f["path"] for f in schema.get("fields", []) if f["type"] in _GEO and not f.get("repeat")
                    and f.get("privacy") != "identifier"), None)
        facts[questionnaire.pk] = VersionFacts(version=questionnaire.version, schema=schema, geo_path=geo,
                                               withheld=withheld_paths(schema))
    return facts


def released_answers(*, rows: list[Row], facts: dict[int, VersionFacts]) -> dict[int, str]:
    """The released answers of each row (in KoboToolbox's strings) as JSON
    text, from the :class:`KoboRecord` cache where it is current; the others
    are released now (:func:`answers_released`) and stored."""
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
        released = answers_released(answers=orjson.loads(answers) if type(answers) is str else answers,
                                              schema=version.schema, withheld=version.withheld)
        strings = _strings(released)
        strings.pop("meta/instanceID", None)  # written with the record's metadata
        texts[pk] = text = orjson.dumps(strings).decode()
        cache.append(KoboRecord(submission_id=pk, source_updated_at=updated_at, answers_json=text))
    KoboRecord.objects.bulk_create(cache, update_conflicts=True, unique_fields=["submission"],
                                   update_fields=["source_updated_at", "answers_json"])
    return texts


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


def record_released(*, asset: Asset, submission_id: int) -> RecordPage | None:
    """One processed record of the asset as the KoBo API releases it, with no user's scope and never its
    attachments (what a REST service sends); None when it has no anonymised record."""
    rows = _page_rows(Submission.objects.filter(pk=submission_id, form_id=asset.form_id, answers__isnull=False))
    if not rows:
        return None
    facts = _version_facts(asset)
    chunk = RecordChunk(rows=rows, answers=released_answers(rows=rows, facts=facts), attachments={})
    return RecordPage(count=1, facts=facts, chunks=iter([chunk]))
