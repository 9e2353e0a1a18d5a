"""ODK Central's OData feed of a form: ``…/forms/<form_id>.svc`` (service document), ``…/$metadata``
(EDMX), ``…/Submissions`` and ``…/Submissions.<group>.<repeat>``, with ``$top $skip $count $filter
$select $expand=* $orderby $wkt`` and ``@odata.nextLink`` paging (``$skiptoken`` in the submissions'
own order, ``$skip`` otherwise). Pages are written as they are read (a generator over
``.iterator(chunk_size)``): only a page's ids are held, never its rows."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain, islice
from typing import Any
from urllib.parse import quote, urlencode

import orjson
from django.db.models import Q
from django.http import HttpResponse, StreamingHttpResponse
from rest_framework.request import Request
from rest_framework.response import Response

from mtm.errors import InvalidInput, NotFound, Unsupported
from surveys.api.central.base import CentralView
from surveys.api.central.edmx import metadata_document, service_document
from surveys.api.central.shapes import RowWriter
from surveys.selectors.central.filter import odata_filter, odata_orderby
from surveys.selectors.central.odata import ODataModel, Row, Table, odata_model, records, repeat_rows, rows
from surveys.selectors.central.projects import form_for_user
from surveys.selectors.kobo.assets import Asset
from surveys.services.central.odata_rows import odata_rows_keep

#: The system query options a request may use; others are Central's 501.1.
_KNOWN = {"$top", "$skip", "$count", "$filter", "$select", "$expand", "$orderby", "$wkt", "$skiptoken", "$format"}
_SYSTEM_KEYS = ("submissionDate", "updatedAt", "deletedAt", "submitterId", "submitterName", "attachmentsPresent",
                "attachmentsExpected", "status", "reviewState", "deviceId", "edits", "formVersion")
MAX_NUMBER = 1_000_000_000
_MAX_PAGE_SIZE = re.compile(r"(?:^|[,;\s])odata\.maxpagesize=(\d{1,10})\b")
_DEFAULT_ORDER = ("-received_at", "-id")
#: Rows shaped while a page is written, kept in the row cache this many at a time.
_KEEP_BATCH = 1000


class UnexpectedValue(InvalidInput):
    central_code = 400.8


class PropertyNotFound(InvalidInput):
    central_code = 400.23


class SelectUnsupported(InvalidInput):
    central_code = 400.24


class ExpandUnsupported(Unsupported):
    central_code = 501.6


class SelectWithExpand(Unsupported):
    central_code = 501.11


@dataclass(frozen=True)
class Query:
    top: int | None
    skip: int
    count: bool
    condition: Q | None
    select: dict[str, Any] | None
    expand: bool
    order: list[Any] | None
    wkt: bool
    skiptoken: tuple[dt.datetime, int] | None


def _service(request: Request, project_id: int, form_id: str) -> tuple[Asset, ODataModel, str]:
    asset = form_for_user(user=request.user, project_id=project_id, form_id=form_id)
    base = request.build_absolute_uri(f"/v1/projects/{project_id}/forms/{quote(form_id, safe='')}.svc")
    return asset, odata_model(asset), base


class ServiceDocument(CentralView):
    def get(self, request: Request, project_id: int, form_id: str) -> Response:
        _, model, base = _service(request, project_id, form_id)
        return Response(service_document(model, base), headers={"OData-Version": "4.0"})


class Metadata(CentralView):
    def get(self, request: Request, project_id: int, form_id: str) -> HttpResponse:
        _, model, _ = _service(request, project_id, form_id)
        response = HttpResponse(metadata_document(model).encode(), content_type="application/xml; charset=utf-8")
        response["OData-Version"] = "4.0"
        return response


class TableData(CentralView):
    """The rows of ``Submissions`` or of a repeat's table."""

    def get(self, request: Request, project_id: str, form_id: str, table: str) -> StreamingHttpResponse:
        asset, model, base = _service(request, int(project_id), form_id)
        found = model.table(table)
        if found is None:
            raise NotFound(f"No table {table!r}.")
        query = _query(request, model, found)
        preferred = _max_page_size(request)
        if query.top is None and preferred is not None:  # server-driven paging (OData's Prefer header)
            query = dataclasses.replace(query, top=preferred)
        chunks = (_submissions(request, asset, model, found, query, base) if found.parent is None
                  else _repeat(request, asset, found, query, base))
        response = StreamingHttpResponse(chunks, content_type="application/json; odata.metadata=minimal")
        response["OData-Version"] = "4.0"
        if query.top is not None and preferred == query.top and "$top" not in request.query_params:
            response["Preference-Applied"] = f"odata.maxpagesize={preferred}"
        return response


def _max_page_size(request: Request) -> int | None:
    """``Prefer: odata.maxpagesize=N`` (N from 1): pages of N rows, each with the next one's link."""
    match = _MAX_PAGE_SIZE.search(request.headers.get("Prefer", ""))
    if match is None or not 0 < int(match.group(1)) <= MAX_NUMBER:
        return None
    return int(match.group(1))


# --- query options ----------------------------------------------------------------------------------------

def _whole(params: Any, name: str) -> int | None:
    raw = params.get(name)
    if raw is None:
        return None
    if not raw.isdigit() or int(raw) > MAX_NUMBER:
        raise UnexpectedValue(f"Unexpected {name} value {raw}; expected a whole number from 0 to {MAX_NUMBER}.")
    return int(raw)


def _flag(params: Any, name: str) -> bool:
    raw = params.get(name)
    if raw is None:
        return False
    if raw.lower() not in ("true", "false"):  # pyodk sends Python's True
        raise UnexpectedValue(f"Unexpected {name} value {raw}; expected true or false.")
    return raw.lower() == "true"


def _query(request: Request, model: ODataModel, table: Table) -> Query:
    params = request.query_params
    for name in params:
        if name.startswith("$") and name not in _KNOWN:
            raise Unsupported(f"The requested feature {name} is not supported by this server.")
    expand_raw = params.get("$expand")
    if expand_raw is not None and expand_raw != "*":
        raise ExpandUnsupported(f'The given OData expand expression is not supported by this server: "{expand_raw}". '
                                'Currently, only "$expand=*" is supported.')
    if expand_raw is not None and params.get("$select") is not None:
        raise SelectWithExpand("This server doesn't support $select query parameter with $expand.")
    root = table.parent is None
    condition = None
    if params.get("$filter") is not None:
        if not root:
            raise Unsupported("The requested feature $filter on a repeat's table is not supported by this server.")
        condition = odata_filter(params["$filter"], model)
    order = None
    if params.get("$orderby") is not None:
        if not root:
            raise Unsupported("The requested feature $orderby on a repeat's table is not supported by this server.")
        order = odata_orderby(params["$orderby"], model)
    return Query(top=_whole(params, "$top"), skip=_whole(params, "$skip") or 0, count=_flag(params, "$count"),
                 condition=condition, select=_select(params.get("$select"), table),
                 expand=expand_raw is not None, order=order, wkt=_flag(params, "$wkt"),
                 skiptoken=_skiptoken(params.get("$skiptoken")) if root else None)


def _select(raw: str | None, table: Table) -> dict[str, Any] | None:
    """``$select`` as a tree of the properties to keep (``True`` a whole property)."""
    if raw is None:
        return None
    known: dict[str, str] = {"__id": "value"}
    if table.parent is None:
        known["__system"] = "group"
        known.update({f"__system/{key}": "value" for key in _SYSTEM_KEYS})
    else:
        known[table.parent_key or ""] = "value"

    def walk(node: Any, prefix: str) -> None:
        for child in node.children:
            name = f"{prefix}{child.name}"
            known[name] = child.kind if child.kind in ("group", "repeat") else "value"
            if child.kind == "group":
                walk(child, name + "/")

    walk(table.node, "")
    tree: dict[str, Any] = {"__id": True}
    for term in (t.strip() for t in raw.split(",")):
        if term == "*":
            return None
        kind = known.get(term)
        if kind is None:
            raise PropertyNotFound(f"Could not find a property named '{term}'")
        if kind == "repeat":
            raise SelectUnsupported(f"The given OData select property '{term}' uses features not supported by "
                                    "this server.")
        *parents, last = term.split("/")
        here = tree
        for part in parents:
            nxt = here.get(part)
            if nxt is True:
                break
            here = here.setdefault(part, {})
        else:
            here[last] = True
    return tree


def _pick(record: dict[str, Any], tree: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, sub in tree.items():
        if key in record:
            out[key] = record[key] if sub is True or not isinstance(record[key], dict) else _pick(record[key], sub)
    return out


def _skiptoken(raw: str | None) -> tuple[dt.datetime, int] | None:
    if raw is None:
        return None
    try:
        if not raw.startswith("01"):
            raise ValueError
        data = orjson.loads(base64.urlsafe_b64decode(raw[2:].encode()))
        return dt.datetime.fromisoformat(data["t"]), int(data["id"])
    except (ValueError, KeyError, TypeError, binascii.Error, orjson.JSONDecodeError):
        raise UnexpectedValue(f"Unexpected $skiptoken value {raw[:80]}; it is not one this server wrote.") from None


def _token(received_at: dt.datetime, pk: int) -> str:
    return "01" + base64.urlsafe_b64encode(orjson.dumps({"t": received_at.isoformat(), "id": pk})).decode()


def _link(request: Request, changes: dict[str, str | None]) -> str:
    params = {k: v for k, v in request.query_params.items()}
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    return request.build_absolute_uri(request.path) + "?" + urlencode(params, quote_via=quote, safe="*'(),")


# --- the streams ------------------------------------------------------------------------------------------

def _head(context: str, count: int | None, next_link: str | None) -> bytes:
    head: dict[str, Any] = {"@odata.context": context}
    if next_link is not None:
        head["@odata.nextLink"] = next_link
    if count is not None:
        head["@odata.count"] = count
    return orjson.dumps(head)[:-1] + b',"value":['


def _array(items: Iterator[bytes]) -> Iterator[bytes]:
    """A JSON array's items (each one's JSON) with their commas, in chunks of a few hundred rows."""
    first = True
    batch: list[bytes] = []
    for item in items:
        batch.append(item if first else b"," + item)
        first = False
        if len(batch) >= 500:
            yield b"".join(batch)
            batch = []
    if batch:
        yield b"".join(batch)


def _submissions(request: Request, asset: Asset, model: ODataModel, table: Table, query: Query,
                 base: str) -> Iterator[bytes]:
    """The Submissions page: its count and window worked out now (errors are answered), its rows written as
    they are read, then the next link when a row past the page came."""
    qs = records(user=request.user, asset=asset, condition=query.condition)
    count = qs.count() if query.count else None
    ordering = [*query.order, "-id"] if query.order else list(_DEFAULT_ORDER)
    ordered = qs.order_by(*ordering)
    start = query.skip
    if query.skiptoken is not None and not query.order:
        at, pk = query.skiptoken
        ordered = ordered.filter(Q(received_at__lt=at) | Q(received_at=at, id__lt=pk))
        start = 0
    stop = None if query.top is None else start + query.top
    # One row past the page is read: if it comes, the next link follows the rows (``@odata.nextLink`` after
    # ``value``, as OData allows and its clients read), with no query of its own to find the page's edge.
    read_stop = None if stop is None else stop + 1
    last: list[Row] = []
    more: list[bool] = []

    def page(cache: tuple[int, str] | None) -> Iterator[Row]:
        for number, row in enumerate(rows(ordered, asset, start=start, stop=read_stop, cache=cache)):
            if query.top is not None and number == query.top:
                more.append(True)
                return
            last[:] = [row]
            yield row

    def tail() -> Iterator[bytes]:
        if not more or not last:
            yield b"]}"
            return
        if query.order:
            link = _link(request, {"$skip": str(stop), "$skiptoken": None})
        else:
            link = _link(request, {"$skip": None, "$skiptoken": _token(last[0].received_at, last[0].pk)})
        yield b'],"@odata.nextLink":' + orjson.dumps(link) + b"}"

    writer = RowWriter(expand=query.expand, wkt=query.wkt)
    select = query.select
    dumps = orjson.dumps

    def items() -> Iterator[bytes]:
        if query.top == 0:
            return
        if select is not None:
            for row in page(None):
                yield dumps(_pick(writer.submission(row, model.root), select))
            return
        # Each row's answers from the row cache where current; the others shaped now and kept for next time.
        variant, key = writer.variant, model.key
        rendered: list[tuple[int, dt.datetime, str]] = []
        for row in page((variant, key)):
            body = row.cached
            if body is None:
                body = dumps(writer.answers(row, model.root)).decode()
                if row.saved_at is not None:
                    rendered.append((row.pk, row.saved_at, body))
                if len(rendered) >= _KEEP_BATCH:
                    odata_rows_keep(variant=variant, model_key=key, rendered=rendered)
                    rendered = []
            yield writer.submission_json(row, body)
        odata_rows_keep(variant=variant, model_key=key, rendered=rendered)

    return chain([_head(f"{base}/$metadata#Submissions", count, None)], _array(items()), tail())


def _repeat(request: Request, asset: Asset, table: Table, query: Query, base: str) -> Iterator[bytes]:
    """A repeat's table: its rows across the submissions (newest submission first), paged by ``$skip``."""
    qs = records(user=request.user, asset=asset).order_by(*_DEFAULT_ORDER)
    writer = RowWriter(expand=query.expand, wkt=query.wkt)

    def all_rows() -> Iterator[bytes]:
        for row in rows(qs, asset):
            for rid, parent, record, index in repeat_rows(row, table):
                item = writer.repeat(row, table, rid, parent, record, index)
                yield orjson.dumps(_pick(item, query.select) if query.select is not None else item)

    count = sum(1 for _ in all_rows()) if query.count else None
    context = f"{base}/$metadata#{table.name}"
    if query.top is None:
        return chain([_head(context, count, None)], _array(islice(all_rows(), query.skip, None)), [b"]}"])
    page = list(islice(all_rows(), query.skip, query.skip + query.top + 1))
    next_link = None
    if len(page) > query.top:
        page = page[:query.top]
        next_link = _link(request, {"$skip": str(query.skip + query.top)})
    return chain([_head(context, count, next_link)], _array(iter(page)), [b"]}"])
