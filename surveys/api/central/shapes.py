"""ODK Central's JSON shapes: users, projects, forms, submissions, comments (as Central's published API
documents them), and an OData row of a table (the Submissions table or a repeat's)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

import orjson

from enumerators.models import User
from surveys.models import Questionnaire, Round, Submission, SubmissionComment, Survey
from surveys.selectors.central.odata import Node, Row, Table, repeat_row_id, review_state
from surveys.selectors.kobo.assets import Asset


def stamp(value: dt.datetime | None) -> str | None:
    """Central's timestamps: UTC, milliseconds, ``Z``."""
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def user_json(user: User) -> dict[str, Any]:
    return {"id": user.pk, "type": "user", "displayName": user.get_full_name() or user.username,
            "email": user.email or None, "createdAt": stamp(user.date_joined), "updatedAt": None,
            "deletedAt": None, "lastLoginAt": stamp(user.last_login)}


def project_json(survey: Survey, forms: list[Asset], extended: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"id": survey.pk, "name": survey.name, "description": survey.description or None,
                           "keyId": None, "archived": False, "createdAt": stamp(survey.created_at),
                           "updatedAt": None, "deletedAt": None}
    if extended:
        out.update({"forms": len(forms), "appUsers": 0, "datasets": 0, "lastSubmission": None})
    return out


def form_json(asset: Asset, project_id: int, version: Questionnaire | None = None) -> dict[str, Any]:
    """The form (its newest version), or one ``version`` of it."""
    shown = version or asset.current
    open_ = shown.archived_at is None and shown.round.status == Round.Status.OPEN
    return {"projectId": project_id, "xmlFormId": asset.form_id, "name": shown.title, "version": shown.version,
            "enketoId": None, "enketoOnceId": None, "hash": shown.md5, "sha": None, "sha256": None, "keyId": None,
            "state": "open" if (asset.active if version is None else open_) else "closed",
            "webformsEnabled": False, "createdAt": stamp(asset.date_created),
            "updatedAt": stamp(asset.date_modified) if version is None else None,
            "publishedAt": stamp(shown.created_at)}


def submission_json(sub: Submission) -> dict[str, Any]:
    """A submission's metadata. ``submitterId`` 0: no account (an anonymous, public-link submission);
    ``deviceId`` and ``userAgent`` are device metadata, never released."""
    state = review_state(sub.review_status, sub.previous_id)
    submitter = sub.submitted_by_id or 0
    common = {"instanceId": sub.instance_id, "submitterId": submitter, "deviceId": None, "userAgent": None,
              "instanceName": None, "createdAt": stamp(sub.received_at)}
    return {**common, "reviewState": state, "updatedAt": stamp(sub.reviewed_at), "deletedAt": None,
            "currentVersion": {**common, "current": True}}


def comment_json(comment: SubmissionComment) -> dict[str, Any]:
    return {"body": comment.text, "actorId": comment.author_id, "createdAt": stamp(comment.created_at)}


# --- OData rows -------------------------------------------------------------------------------------------

def _number(value: Any, integer: bool) -> int | float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if integer:
        return int(number) if number.is_integer() else None
    return int(number) if number.is_integer() and isinstance(value, int) else number


def _points(value: str) -> list[list[float]]:
    out = []
    for part in value.split(";"):
        bits = part.split()
        if len(bits) >= 2:
            try:
                lat, lon = float(bits[0]), float(bits[1])
            except ValueError:
                continue
            point = [lon, lat]
            if len(bits) >= 3:
                try:
                    point.append(float(bits[2]))
                except ValueError:
                    pass
            out.append(point)
    return out


def _wkt(points: list[list[float]]) -> str:
    return ", ".join(" ".join(repr(c) if not float(c).is_integer() else str(c) for c in p) for p in points)


def _geo(value: Any, kind: str, wkt: bool) -> Any:
    if not isinstance(value, str):
        return None
    points = _points(value)
    if not points:
        return None
    if kind == "geopoint":
        if wkt:
            return f"POINT ({_wkt(points[:1])})"
        bits = value.split()
        geo: dict[str, Any] = {"type": "Point", "coordinates": points[0]}
        if len(bits) >= 4:
            try:
                geo["properties"] = {"accuracy": float(bits[3])}
            except ValueError:
                pass
        return geo
    if kind == "geotrace":
        return f"LINESTRING ({_wkt(points)})" if wkt else {"type": "LineString", "coordinates": points}
    return f"POLYGON (({_wkt(points)}))" if wkt else {"type": "Polygon", "coordinates": [points]}


def value_of(node: Node, value: Any, wkt: bool) -> Any:
    """An answer as its Edm type's JSON."""
    if value is None:
        return None
    kind = node.kind
    if kind == "integer":
        return _number(value, True)
    if kind in ("decimal", "range"):
        return _number(value, False)
    if kind in ("geopoint", "geotrace", "geoshape"):
        return _geo(value, kind, wkt)
    if kind == "date":
        return str(value)[:10]
    if isinstance(value, list):
        return " ".join(map(str, value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


#: Answer types whose JSON is not the stored text (numbers, dates, geometry).
_CONVERTED = frozenset({"integer", "decimal", "range", "date", "geopoint", "geotrace", "geoshape"})


class RowWriter:
    """Writes one table's rows: ``expand`` puts repeats inline (``$expand=*``), ``wkt`` writes geometry as
    Well-Known Text (``$wkt=true``)."""

    def __init__(self, *, expand: bool, wkt: bool) -> None:
        self.expand, self.wkt = expand, wkt
        self._plans: dict[int, list[tuple[int, str, str, Node]]] = {}

    def _plan(self, node: Node) -> list[tuple[int, str, str, Node]]:
        """A node's children once, tagged: 0 a text answer, 1 an answer to convert, 2 a group, 3 a repeat
        (so that writing 30,000 rows is a tight loop, not a walk over the model each time)."""
        plan = self._plans.get(id(node))
        if plan is None:
            plan = [(2 if c.kind == "group" else 3 if c.kind == "repeat" else 1 if c.kind in _CONVERTED else 0,
                     c.name, c.path, c) for c in node.children]
            self._plans[id(node)] = plan
        return plan

    def properties(self, node: Node, record: dict[str, Any], instance_id: str, link: str,
                   index: tuple[int, ...]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        get, wkt = record.get, self.wkt
        for tag, name, path, child in self._plan(node):
            if tag == 0:
                value = get(path)
                out[name] = value if value is None or type(value) is str else value_of(child, value, wkt)
            elif tag == 1:
                value = get(path)
                out[name] = value if value is None or (type(value) is int and child.kind == "integer") \
                    else value_of(child, value, wkt)
            elif tag == 2:
                out[name] = self.properties(child, record, instance_id, f"{link}/{name}", index)
            elif self.expand:
                items = [item for item in get(path) or [] if isinstance(item, dict)]
                out[name] = [{"__id": repeat_row_id(instance_id, path, (*index, number)),
                              **self.properties(child, item, instance_id, "", (*index, number))}
                             for number, item in enumerate(items)]
            else:
                out[f"{name}@odata.navigationLink"] = f"{link}/{name}"
        return out

    def answers(self, row: Row, root: Node) -> dict[str, Any]:
        """A submission's row but for ``__id`` and ``__system``: its answers' properties."""
        link = f"Submissions('{quote(row.instance_id, safe=':')}')"
        out = self.properties(root, row.answers, row.instance_id, link, ())
        if "meta" in out and isinstance(out["meta"], dict) and "instanceID" in out["meta"]:
            out["meta"]["instanceID"] = row.instance_id
        return out

    @staticmethod
    def system(row: Row) -> dict[str, Any]:
        """A submission's ``__system`` property."""
        return {
            "submissionDate": stamp(row.received_at), "updatedAt": stamp(row.updated_at),
            "deletedAt": None, "submitterId": str(row.submitter_id or 0), "submitterName": row.submitter_name,
            "attachmentsPresent": row.attachments, "attachmentsExpected": row.attachments, "status": None,
            "reviewState": row.review_state, "deviceId": None, "edits": 0 if row.review_state != "edited" else 1,
            "formVersion": row.version}

    def submission(self, row: Row, root: Node) -> dict[str, Any]:
        return {"__id": row.instance_id, **self.answers(row, root), "__system": self.system(row)}

    @property
    def variant(self) -> int:
        """Which cached rendering of a row this writer's output is (:class:`surveys.models.ODataRow`)."""
        return (1 if self.expand else 0) | (2 if self.wkt else 0)

    def submission_json(self, row: Row, answers_json: str) -> bytes:
        """A submission's row as JSON, its answers' properties given as JSON text (cached or just rendered)."""
        dumps = orjson.dumps
        inner = answers_json[1:-1].encode()
        return b"".join((b'{"__id":', dumps(row.instance_id), b"," if inner else b"", inner, b',"__system":',
                         dumps(self.system(row)), b"}"))

    def repeat(self, row: Row, table: Table, row_id: str, parent_id: str, record: dict[str, Any],
               index: tuple[int, ...]) -> dict[str, Any]:
        link = f"Submissions('{quote(row.instance_id, safe=':')}')/{table.node.path}('{row_id}')"
        out: dict[str, Any] = {"__id": row_id}
        out.update(self.properties(table.node, record, row.instance_id, link, index))
        out[table.parent_key or "__Submissions-id"] = parent_id
        return out
