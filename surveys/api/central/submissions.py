"""``…/forms/<form_id>/submissions``: the list and one submission's metadata, ``PATCH`` of its
``reviewState`` (the review service, audited), its comments, and the data as CSV (``submissions.csv``:
the root table; ``submissions.csv.zip``: with a CSV per repeat)."""

from __future__ import annotations

import csv
import zipfile
from collections.abc import Iterator
from typing import IO, Any, cast

import orjson
from django.http import StreamingHttpResponse
from rest_framework.request import Request
from rest_framework.response import Response

from surveys.api.central.base import CentralView
from surveys.api.central.shapes import comment_json, stamp, submission_json, value_of
from surveys.models import Submission, SubmissionComment
from surveys.selectors.central.odata import Node, ODataModel, Row, Table, odata_model, records, repeat_rows, rows
from surveys.selectors.central.projects import form_for_user, submission_of_form
from surveys.selectors.kobo.assets import Asset
from surveys.services.central.review import central_comment_add, central_review_set

_META = ("instance_id", "submitted_by_id", "received_at", "review_status", "previous_id", "reviewed_at")


class SubmissionList(CentralView):
    """Every submission's metadata (newest first), written as it is read."""

    def get(self, request: Request, project_id: int, form_id: str) -> StreamingHttpResponse:
        asset = form_for_user(user=request.user, project_id=project_id, form_id=form_id)
        qs = records(user=request.user, asset=asset).order_by("-received_at", "-id").only(*_META)

        def chunks() -> Iterator[bytes]:
            yield b"["
            first = True
            for sub in qs.iterator(chunk_size=2000):
                yield (b"" if first else b",") + orjson.dumps(submission_json(sub))
                first = False
            yield b"]"

        return StreamingHttpResponse(chunks(), content_type="application/json")


class SubmissionDetail(CentralView):
    def _submission(self, request: Request, project_id: int, form_id: str, instance_id: str) -> Submission:
        asset = form_for_user(user=request.user, project_id=project_id, form_id=form_id)
        return submission_of_form(user=request.user, asset=asset, instance_id=instance_id)

    def get(self, request: Request, project_id: int, form_id: str, instance_id: str) -> Response:
        return Response(submission_json(self._submission(request, project_id, form_id, instance_id)))

    def patch(self, request: Request, project_id: int, form_id: str, instance_id: str) -> Response:
        submission = self._submission(request, project_id, form_id, instance_id)
        body = request.data if isinstance(request.data, dict) else {}
        result = central_review_set(user=request.user, submission=submission, review_state=body.get("reviewState"))
        return Response(submission_json(result.submission))


class SubmissionComments(CentralView):
    def get(self, request: Request, project_id: int, form_id: str, instance_id: str) -> Response:
        asset = form_for_user(user=request.user, project_id=project_id, form_id=form_id)
        submission = submission_of_form(user=request.user, asset=asset, instance_id=instance_id)
        comments = SubmissionComment.objects.filter(submission=submission).order_by("created_at", "id")
        return Response([comment_json(c) for c in comments])

    def post(self, request: Request, project_id: int, form_id: str, instance_id: str) -> Response:
        asset = form_for_user(user=request.user, project_id=project_id, form_id=form_id)
        submission = submission_of_form(user=request.user, asset=asset, instance_id=instance_id)
        body = request.data if isinstance(request.data, dict) else {}
        return Response(comment_json(central_comment_add(user=request.user, submission=submission,
                                                         body=body.get("body"))))


# --- CSV --------------------------------------------------------------------------------------------------

_SYSTEM_COLUMNS = ["KEY", "SubmitterID", "SubmitterName", "AttachmentsPresent", "AttachmentsExpected", "Status",
                   "ReviewState", "DeviceID", "Edits", "FormVersion"]
_GEO_PARTS = ("Latitude", "Longitude", "Altitude", "Accuracy")


def _leaves(node: Node, prefix: str = "") -> list[tuple[str, Node]]:
    """The value columns of a table (groups flattened as ``group-field``), repeats left out."""
    out = []
    for child in node.children:
        name = f"{prefix}{child.name}"
        if child.kind == "group":
            out.extend(_leaves(child, name + "-"))
        elif child.kind != "repeat":
            out.append((name, child))
    return out


def _header(columns: list[tuple[str, Node]]) -> list[str]:
    names = []
    for name, node in columns:
        names.extend([f"{name}-{part}" for part in _GEO_PARTS] if node.kind == "geopoint" else [name])
    return names


def _cells(columns: list[tuple[str, Node]], record: dict[str, Any]) -> list[Any]:
    cells: list[Any] = []
    for _, node in columns:
        value = record.get(node.path)
        if node.kind == "geopoint":
            bits = value.split() if isinstance(value, str) else []
            cells.extend([*bits, "", "", "", ""][:4])
        else:
            shown = value_of(node, value, True)
            cells.append("" if shown is None else shown)
    return cells


def _root_rows(model: ODataModel, page: Iterator[Row]) -> Iterator[list[Any]]:
    columns = _leaves(model.root)
    yield ["SubmissionDate", *_header(columns), *_SYSTEM_COLUMNS]
    for row in page:
        yield [stamp(row.received_at), *_cells(columns, row.answers), row.instance_id, row.submitter_id or 0,
               row.submitter_name or "", row.attachments, row.attachments, "", row.review_state or "", "",
               1 if row.review_state == "edited" else 0, row.version]


def _repeat_rows(table: Table, page: Iterator[Row]) -> Iterator[list[Any]]:
    columns = _leaves(table.node)
    yield [*_header(columns), "PARENT_KEY", "KEY"]
    for row in page:
        keys: dict[str, str] = {row.instance_id: row.instance_id}
        for rid, parent, record, index in repeat_rows(row, table):
            parent_key = keys.get(parent, row.instance_id)
            key = f"{parent_key}/{table.node.name}[{index[-1] + 1}]"
            keys[rid] = key
            yield [*_cells(columns, record), parent_key, key]


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_text(lines: Iterator[list[Any]]) -> Iterator[bytes]:
    writer = csv.writer(_Echo())
    for line in lines:
        yield writer.writerow(line).encode()


class SubmissionsCsv(CentralView):
    """``submissions.csv``: the Submissions table in Central's columns, groups flattened."""

    def get(self, request: Request, project_id: int, form_id: str) -> StreamingHttpResponse:
        asset = form_for_user(user=request.user, project_id=project_id, form_id=form_id)
        model = odata_model(asset)
        page = rows(records(user=request.user, asset=asset).order_by("-received_at", "-id"), asset)
        response = StreamingHttpResponse(_csv_text(_root_rows(model, page)), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{asset.form_id}.csv"'
        return response


class SubmissionsCsvZip(CentralView):
    """``submissions.csv.zip``: ``<form_id>.csv`` and ``<form_id>-<repeat>.csv`` for each repeat."""

    def get(self, request: Request, project_id: int, form_id: str) -> StreamingHttpResponse:
        asset = form_for_user(user=request.user, project_id=project_id, form_id=form_id)
        model = odata_model(asset)
        return _zip_response(request, asset, model)


class _Sink:
    """An unseekable file for :mod:`zipfile` (it then writes data descriptors): what was written is taken
    out as it comes, so the archive is streamed."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        self.size += len(data)
        return len(data)

    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        return None

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        return data


def _zip_response(request: Request, asset: Asset, model: ODataModel) -> StreamingHttpResponse:
    def page() -> Iterator[Row]:
        return rows(records(user=request.user, asset=asset).order_by("-received_at", "-id"), asset)

    def chunks() -> Iterator[bytes]:
        sink = _Sink()
        with zipfile.ZipFile(cast(IO[bytes], sink), "w", zipfile.ZIP_DEFLATED) as archive:
            for table in model.tables.values():
                name = f"{asset.form_id}.csv" if table.parent is None else f"{asset.form_id}-{table.node.name}.csv"
                lines = _root_rows(model, page()) if table.parent is None else _repeat_rows(table, page())
                with archive.open(name, "w", force_zip64=True) as member:
                    for text in _csv_text(lines):
                        member.write(text)
                        if sink.size and len(sink.parts) > 16:
                            yield sink.take()
        yield sink.take()

    response = StreamingHttpResponse(chunks(), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{asset.form_id}.csv.zip"'
    return response
