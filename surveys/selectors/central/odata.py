"""A form as ODK Central's OData service: its tables and the rows of each, read as a stream.

The model (:func:`odata_model`) is the union of the fields of every version of the form (the newest
version's order first), never a field the release policy withholds (:func:`surveys.release.withheld_paths`):
the root table ``Submissions``, each group a complex type, each repeat a table of its own named
``Submissions.<group>.<repeat>`` (its path with dots), as Central names them. Rows are the released,
anonymised records (:func:`surveys.release.answers_released`) of the submissions the user may see
(:func:`surveys.selectors.kobo.records.visible_records`: a supervisor's team), read with
``.iterator(chunk_size)`` so that a page of any size is written in bounded memory."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson
from django.db.models import Case, ExpressionWrapper, F, FilteredRelation, Q, QuerySet, TextField, Value, When

from surveys.models import Submission
from surveys.release import answers_released, withheld_paths
from surveys.selectors.kobo.assets import Asset
from surveys.selectors.kobo.records import visible_records

if TYPE_CHECKING:
    from enumerators.models import AnyUser

ROOT = "Submissions"
CHUNK = 2000

#: XLSForm types and their Edm types (anything else is a string).
EDM_TYPES = {"integer": "Edm.Int64", "decimal": "Edm.Decimal", "range": "Edm.Decimal", "date": "Edm.Date",
             "dateTime": "Edm.DateTimeOffset", "datetime": "Edm.DateTimeOffset", "start": "Edm.DateTimeOffset",
             "end": "Edm.DateTimeOffset", "geopoint": "Edm.GeographyPoint",
             "geotrace": "Edm.GeographyLineString", "geoshape": "Edm.GeographyPolygon"}
#: Fields without a value of their own.
_NO_VALUE = {"note", "group", "repeat", "begin_group", "begin_repeat"}

#: Our review states as Central's ``reviewState`` (on hold is Central's "has issues": a person must look).
REVIEW_STATES = {"approved": "approved", "not_approved": "rejected", "has_issues": "hasIssues",
                 "on_hold": "hasIssues"}


@dataclass
class Node:
    """A property of a table or complex type: a value (``kind`` its XLSForm type), a group or a repeat."""

    name: str
    path: str
    kind: str
    children: list[Node] = field(default_factory=list)

    @property
    def edm(self) -> str:
        return EDM_TYPES.get(self.kind, "Edm.String")

    @property
    def table(self) -> str:
        """A repeat's table name: ``Submissions.<path with dots>``."""
        return ROOT + "." + self.path.replace("/", ".")

    @property
    def type_name(self) -> str:
        """A group's complex type name: its path with dots."""
        return self.path.replace("/", ".")


@dataclass(frozen=True)
class Table:
    """An entity set: the root or a repeat (``node``), and the table its rows belong to."""

    name: str
    node: Node
    parent: Table | None

    @property
    def parent_key(self) -> str | None:
        """The property naming the parent row: ``__Submissions-id``, ``__Submissions-<path>-id``."""
        return None if self.parent is None else f"__{self.parent.name.replace('.', '-')}-id"


@dataclass(frozen=True)
class ODataModel:
    asset: Asset
    root: Node
    tables: dict[str, Table]
    groups: list[Node]
    leaves: dict[str, Node]

    def table(self, name: str) -> Table | None:
        return self.tables.get(name)

    @property
    def key(self) -> str:
        """A hash of the model's tables, properties and types: a cached row rendered under another model
        (the form has had a new version since) is rendered again."""
        parts: list[str] = []

        def walk(node: Node) -> None:
            for child in node.children:
                parts.append(f"{child.path}:{child.kind}")
                walk(child)

        walk(self.root)
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def odata_model(asset: Asset) -> ODataModel:
    """The OData model of a form over every version, identifier fields left out."""
    root = Node(ROOT, "", "root")
    nodes: dict[str, Node] = {"": root}
    withheld: set[str] = set()
    for version in asset.versions:
        withheld |= withheld_paths(version.schema)
    for version in asset.versions:  # newest first: its order wins, older versions add what they had
        for f in version.schema.get("fields", []):
            path = f["path"]
            if path in nodes or f["type"] == "note" or any(path == w or path.startswith(w + "/") for w in withheld):
                continue
            parent = nodes.get(f.get("parent") or "")
            if parent is None:
                continue
            node = Node(f["name"], path, f["type"])
            nodes[path] = node
            parent.children.append(node)
    tables: dict[str, Table] = {}
    groups: list[Node] = []
    leaves: dict[str, Node] = {}

    def walk(node: Node, table: Table) -> None:
        for child in node.children:
            if child.kind == "repeat":
                sub = Table(child.table, child, table)
                tables[sub.name] = sub
                walk(child, sub)
            elif child.kind == "group":
                groups.append(child)
                walk(child, table)
            elif table.parent is None:
                leaves[child.path] = child

    top = Table(ROOT, root, None)
    tables[ROOT] = top
    walk(root, top)
    return ODataModel(asset=asset, root=root, tables=tables, groups=groups, leaves=leaves)


# --- rows ---------------------------------------------------------------------------------------------

_COLUMNS = ("id", "instance_id", "questionnaire_id", "received_at", "updated_at", "submitted_by_id",
            "submitted_by__username", "review_status", "previous_id", "attachments_expected", "reviewed_at",
            "answers_text", "cached_body")


@dataclass(frozen=True)
class Row:
    """A submission as the OData feed reads it."""

    pk: int
    instance_id: str
    version: str
    received_at: dt.datetime
    updated_at: dt.datetime | None
    submitter_id: int | None
    submitter_name: str | None
    review_state: str | None
    attachments: int
    answers: dict[str, Any]
    #: The submission's own ``updated_at`` (what a cached row belongs to).
    saved_at: dt.datetime | None = None
    #: Its row's properties as JSON text, from :class:`surveys.models.ODataRow` where current (``answers``
    #: then empty: they were not read).
    cached: str | None = None


def records(*, user: AnyUser, asset: Asset, condition: Q | None = None) -> QuerySet[Submission]:
    """The form's submissions ``user`` may see (processed, current, a supervisor's team), filtered."""
    qs = visible_records(user=user, form_id=asset.form_id)
    return qs.filter(condition) if condition is not None else qs


def review_state(review_status: str | None, previous_id: int | None) -> str | None:
    """Central's ``reviewState``: ours mapped, or ``edited`` for an edit nobody has reviewed since."""
    if review_status:
        return REVIEW_STATES.get(review_status)
    return "edited" if previous_id is not None else None


def rows(qs: QuerySet[Submission], asset: Asset, *, start: int = 0, stop: int | None = None,
         cache: tuple[int, str] | None = None) -> Iterator[Row]:
    """``qs``'s submissions in its order (``[start:stop]`` of them) as :class:`Row` s, released, read
    ``CHUNK`` at a time. With ``cache`` (the variant and the model's key), a submission whose cached row of
    that variant is current comes with it and without its answers (never read from the database)."""
    versions = {q.pk: q for q in asset.versions}
    withheld = {pk: withheld_paths(q.schema) for pk, q in versions.items()}
    answers_text = ExpressionWrapper(F("answers"), output_field=TextField())
    if cache is None:
        annotated = qs.annotate(answers_text=answers_text, cached_body=Value(None, output_field=TextField()))
    else:
        variant, model_key = cache
        current = Q(cached_row__model_key=model_key, cached_row__source_updated_at=F("updated_at"))
        annotated = qs.annotate(
            cached_row=FilteredRelation("odata_rows", condition=Q(odata_rows__variant=variant)),
        ).annotate(
            answers_text=Case(When(current, then=Value(None, output_field=TextField())), default=answers_text),
            cached_body=Case(When(current, then=F("cached_row__body_json")),
                             default=Value(None, output_field=TextField())))
    loads = orjson.loads
    values = annotated.values_list(*_COLUMNS)
    if start or stop is not None:
        values = values[start:stop]
    for (pk, instance_id, qid, received_at, updated_at, submitter_id, submitter_name, review, previous_id,
         expected, reviewed_at, text, cached) in values.iterator(chunk_size=CHUNK):
        common = {"pk": pk, "instance_id": instance_id, "version": versions[qid].version,
                  "received_at": received_at, "updated_at": reviewed_at, "submitter_id": submitter_id,
                  "submitter_name": submitter_name, "review_state": review_state(review, previous_id),
                  "attachments": expected, "saved_at": updated_at}
        if cached is not None:
            yield Row(**common, answers={}, cached=cached)
            continue
        answers = loads(text) if type(text) is str else text
        hidden = withheld[qid]
        # The model leaves withheld fields out, so they are never read; a record that still holds one at its
        # top level (anonymisation drops them already) is released through the policy all the same.
        released = (answers_released(answers=answers, schema=versions[qid].schema, withheld=hidden)
                    if hidden and not hidden.isdisjoint(answers or {}) else answers or {})
        yield Row(**common, answers=released)


def repeat_row_id(instance_id: str, path: str, index: tuple[int, ...]) -> str:
    """A stable ``__id`` for a repeat's row: a hash of the submission, the repeat and the row's place."""
    key = f"{instance_id}\x00{path}\x00{'.'.join(map(str, index))}"
    return hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()


RepeatRow = tuple[str, str, dict[str, Any], tuple[int, ...]]


def repeat_rows(row: Row, table: Table) -> Iterator[RepeatRow]:
    """The rows of repeat ``table`` in one submission: ``(row id, parent id, record, place)`` each, the
    record keyed by full paths (as in the answers), the place the row's index in each repeat above it."""
    chain: list[Table] = []
    t: Table | None = table
    while t is not None and t.parent is not None:
        chain.append(t)
        t = t.parent
    chain.reverse()

    def descend(records: list[dict[str, Any]], level: int, parent_id: str,
                index: tuple[int, ...]) -> Iterator[RepeatRow]:
        current = chain[level]
        items = records_at(records, current.node.path)
        for number, item in enumerate(items):
            here = (*index, number)
            rid = repeat_row_id(row.instance_id, current.node.path, here)
            if level == len(chain) - 1:
                yield rid, parent_id, item, here
            else:
                yield from descend([item], level + 1, rid, here)

    yield from descend([row.answers], 0, row.instance_id, ())


def records_at(records: list[dict[str, Any]], path: str) -> list[dict[str, Any]]:
    """The repeat records at ``path`` within ``records`` (the answers, or a parent repeat's record)."""
    out: list[dict[str, Any]] = []
    for record in records:
        value = record.get(path)
        if type(value) is list:
            out.extend(item for item in value if type(item) is dict)
    return out
