"""Exports of a round's records: CSV and XLSX of the anonymised records after
the release step — never the raw store, never a field tagged identifier.

Columns are the form's group paths (``resp/age``); a select_multiple is one
column (its values, space-separated) plus one 0/1 column per option
(``reasons/work``); answers as values or as labels in a language; each
repeat on a sheet of its own whose rows carry the submission's ``_id``. The
rows are the round's counted submissions (those its tables count), written
as they are read (a million rows in constant memory). Large exports run as a
Celery task (:class:`surveys.models.RecordExport`); the admin's export
action uses :func:`export_table` for the rows picked on its list.
"""

from __future__ import annotations

import csv
import io
import logging
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

import orjson
from django.core.files import File
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from mtm.errors import InvalidInput, MtmError, NotFound
from surveys.form_schema import FormSchema, SchemaField
from surveys.models import Questionnaire, RecordExport, Round, Submission
from surveys.release import WITHHELD_PRIVACY
from surveys.selectors.scope import ensure_submission_viewer, viewable_rounds, within_scope
from surveys.selectors.submissions import JsonText, counted_submissions
from surveys.services.disclosure import ReleaseMap, round_release_map

if TYPE_CHECKING:
    from enumerators.models import AnyUser

log = logging.getLogger(__name__)

META = ["_id", "_uuid", "_submission_time", "_version", "_round", "_location", "_submitted_by", "_validation",
        "_review"]
REPEAT_META = ["_submission_id", "_index"]
LEAF_EXCLUDED = {"group", "repeat", "note"}
MAIN_SHEET = "records"
_MULTIPLE, _ONE, _OTHER = 0, 1, 2
#: A column as the inner loop reads it: (path, kind, field, the options' 0/1 columns).
PlanColumn = tuple[str, int, SchemaField, tuple[str, ...]]
#: A submission's metadata row (:data:`EXPORT_FIELDS`) and its released answers.
Record = tuple[Mapping[str, Any], dict[str, Any]]


@dataclass(frozen=True)
class Column:
    """A question's column, and for a select_multiple its 0/1 columns (``options``)."""

    path: str
    field: SchemaField
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class Sheet:
    name: str
    repeat: str | None  # the repeat's path, None for the records
    columns: tuple[Column, ...]

    @property
    def plan(self) -> tuple[PlanColumn, ...]:
        """The columns as the inner loop reads them (worked out once per sheet)."""
        plan: tuple[PlanColumn, ...] | None = self.__dict__.get("_plan")
        if plan is None:
            kinds = {"select_multiple": _MULTIPLE, "select_one": _ONE}
            plan = tuple((c.path, kinds.get(c.field["type"], _OTHER), c.field, c.options) for c in self.columns)
            object.__setattr__(self, "_plan", plan)
        return plan

    @property
    def headers(self) -> list[str]:
        headers = list(REPEAT_META if self.repeat else META)
        for c in self.columns:
            headers.append(c.path)
            headers += [f"{c.path}/{option}" for option in c.options]
        return headers


@dataclass(frozen=True)
class ExportOptions:
    labels: bool = False
    language: str | None = None


def export_sheets(schema: FormSchema) -> list[Sheet]:
    """The sheets of a form: the records first, then one per repeat (in form order)."""
    records: list[Column] = []
    by_repeat: dict[str, list[Column]] = {}
    choices = schema.get("choices", {})
    for f in schema.get("fields", []):
        if f["type"] == "repeat":
            by_repeat.setdefault(f["path"], [])
            continue
        if f["type"] in LEAF_EXCLUDED or f.get("privacy") in WITHHELD_PRIVACY or f["path"].startswith("meta/"):
            continue
        options = tuple(c["name"] for c in choices.get(f.get("list_name") or "", [])) \
            if f["type"] == "select_multiple" else ()
        repeat = f.get("repeat")
        (records if repeat is None else by_repeat.setdefault(repeat, [])).append(Column(f["path"], f, options))
    sheets = [Sheet(MAIN_SHEET, None, tuple(records))]
    used = {MAIN_SHEET}
    for repeat, columns in by_repeat.items():
        name = _sheet_name(repeat, used)
        used.add(name)
        sheets.append(Sheet(name, repeat, tuple(columns)))
    return sheets


def _sheet_name(path: str, used: set[str]) -> str:
    """Excel's rules: at most 31 characters, no []:*?/\\, unique."""
    base = "".join("_" if ch in "[]:*?/\\" else ch for ch in path.split("/")[-1])[:31] or "repeat"
    name, n = base, 2
    while name in used:
        suffix = f"_{n}"
        name, n = base[:31 - len(suffix)] + suffix, n + 1
    return name


class _Labels:
    def __init__(self, schema: FormSchema, options: ExportOptions) -> None:
        self.on = options.labels
        languages = schema.get("languages") or ["default"]
        wanted = options.language
        self.language = schema.get("default_language") or languages[0]
        if wanted:
            found = next((lang for lang in languages if lang == wanted or lang.endswith(f"({wanted})")), None)
            if found is None:
                raise InvalidInput(_("The form has no language '%(language)s'; it has %(languages)s.")
                                   % {"language": wanted, "languages": ", ".join(languages)})
            self.language = found
        self.choices = {name: {c["name"]: c.get("label") or {} for c in items}
                        for name, items in schema.get("choices", {}).items()}

    def choice(self, field: SchemaField, value: str) -> str:
        if not self.on:
            return value
        texts = self.choices.get(field.get("list_name") or "", {}).get(value)
        if not texts:
            return value
        return texts.get(self.language) or texts.get("default") or next(iter(texts.values()), value)


def _values(plan: tuple[PlanColumn, ...], record: dict[str, Any], labels: _Labels) -> list[Any]:
    """One record's cells, column by column (the export's inner loop: kept plain)."""
    out: list[Any] = []
    get = record.get
    labelled = labels.on
    for path, kind, field, options in plan:
        value = get(path)
        if value is None:
            out.append(None)
            if options:
                out += [None] * len(options)
        elif kind == _OTHER:
            cls = value.__class__
            out.append(" ".join(map(str, value)) if cls is list else str(value) if cls is dict else value)
        elif kind == _ONE:
            out.append(labels.choice(field, value) if labelled and isinstance(value, str) else value)
        else:
            chosen = value if isinstance(value, list) else str(value).split()
            out.append("; ".join(labels.choice(field, str(v)) for v in chosen) if labelled
                       else " ".join(map(str, chosen)))
            picked = set(chosen)
            out += [1 if option in picked else 0 for option in options]
    return out


def _meta(row: Mapping[str, Any]) -> list[Any]:
    return [row["id"], row["instance_id"], row["received_at"].isoformat(), row["questionnaire__version"],
            row["round__number"], row["location__code"] or "", row["submitted_by__username"] or "",
            row["validation"], row["review_status"] or ""]


def _repeat_rows(sheet: Sheet, record: dict[str, Any], submission_id: int,
                 labels: _Labels) -> Iterator[list[Any]]:
    """Rows of one repeat, wherever it is nested (its index says where: 2.1 = first inside the second)."""
    parts = sheet.repeat.split("/") if sheet.repeat else []

    def walk(node: dict[str, Any], depth: int, index: str) -> Iterator[list[Any]]:
        for cut in range(depth + 1, len(parts) + 1):
            items = node.get("/".join(parts[:cut]))
            if isinstance(items, list):
                for n, item in enumerate(items, start=1):
                    if not isinstance(item, dict):
                        continue
                    here = f"{index}.{n}" if index else str(n)
                    if cut == len(parts):
                        yield [submission_id, here, *_values(sheet.plan, item, labels)]
                    else:
                        yield from walk(item, cut, here)
                return

    yield from walk(record, 0, "")


EXPORT_FIELDS = ("id", "instance_id", "received_at", "questionnaire__version", "round__number", "location__code",
                 "submitted_by__username", "validation", "review_status", "answers_text")


def _records(submissions: QuerySet[Submission], release: ReleaseMap | None) -> Iterator[Record]:
    rows = submissions.order_by("id").annotate(answers_text=JsonText("answers")).values(*EXPORT_FIELDS)
    for row in rows.iterator(chunk_size=2000):
        answers = orjson.loads(row["answers_text"]) if row["answers_text"] else {}
        yield row, (release.apply(answers) if release else answers)


def sheet_rows(sheet: Sheet, records: Iterable[Record], labels: _Labels) -> Iterator[list[Any]]:
    for row, answers in records:
        if sheet.repeat is None:
            yield _meta(row) + _values(sheet.plan, answers, labels)
        else:
            yield from _repeat_rows(sheet, answers, row["id"], labels)


def _current_schema(round_: Round, form_id: str) -> FormSchema:
    questionnaire = (Questionnaire.objects.filter(round=round_, form_id=form_id).order_by("-created_at", "-id")
                     .only("schema").first())
    if questionnaire is None:
        raise NotFound(f"Round {round_.number} has no form '{form_id}'.")
    return questionnaire.schema


def records_write(*, round_id: int, form_id: str, fmt: str, out: IO[bytes], labels: bool = False,
                  lang: str | None = None, sheet: str | None = None, user: AnyUser | None = None) -> int:
    """Write the round's records of ``form_id`` to ``out``; returns the number of records.
    CSV holds one sheet (the records, or the repeat named by ``sheet``); XLSX all of them.
    With ``user``, only the records within their scope (a supervisor's team)."""
    round_ = Round.objects.get(pk=round_id)
    schema = _current_schema(round_, form_id)
    sheets = export_sheets(schema)
    label = _Labels(schema, ExportOptions(labels=labels, language=lang))
    release = round_release_map(round_id=round_id)
    submissions = counted_submissions(round_id=round_id, form_id=form_id)
    if user is not None:
        submissions = within_scope(submissions, user=user)
    if fmt == "csv":
        chosen = sheets[0] if not sheet else next((s for s in sheets if sheet in (s.name, s.repeat)), None)
        if chosen is None:
            raise InvalidInput(f"The form has no repeat '{sheet}'; its sheets: {', '.join(s.name for s in sheets)}.")
        return _write_csv(chosen, _records(submissions, release), label, out)
    if fmt == "xlsx":
        return _write_xlsx(sheets, _records(submissions, release), label, out)
    raise InvalidInput(f"'{fmt}' is not an export format; use csv or xlsx.")


def _write_csv(sheet: Sheet, records: Iterator[Record], labels: _Labels, out: IO[bytes]) -> int:
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)
    writer = csv.writer(text)
    writer.writerow(sheet.headers)
    count = 0

    def counted() -> Iterator[Record]:
        nonlocal count
        for item in records:
            count += 1
            yield item

    writer.writerows(sheet_rows(sheet, counted(), labels))
    text.flush()
    text.detach()
    return count


def _write_xlsx(sheets: list[Sheet], records: Iterator[Record], labels: _Labels, out: IO[bytes]) -> int:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    pages = [book.create_sheet(sheet.name) for sheet in sheets]
    for page, sheet in zip(pages, sheets, strict=True):
        page.append(sheet.headers)
    count = 0
    for row, answers in records:
        count += 1
        pages[0].append(_excel_safe(_meta(row) + _values(sheets[0].plan, answers, labels)))
        for page, sheet in zip(pages[1:], sheets[1:], strict=True):
            for line in _repeat_rows(sheet, answers, row["id"], labels):
                page.append(_excel_safe(line))
    book.save(out)
    return count


def _excel_safe(line: list[Any]) -> list[Any]:
    """Control characters (a tablet's free text may hold them) are not allowed in a workbook."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return [ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in line]


def export_table(*, submissions: QuerySet[Submission], labels: bool = False,
                 lang: str | None = None) -> tuple[list[str], list[list[Any]]]:
    """The records sheet of the submissions picked in the admin (one form;
    anonymised, identifiers left out; the release step of their round)."""
    forms = list(submissions.order_by().values_list("form_id", "round_id").distinct()[:2])
    if not forms:
        return META, []
    if len(forms) > 1:
        raise InvalidInput(_("Pick submissions of one form in one round (filter the list by form and round)."))
    form_id, round_id = forms[0]
    round_ = Round.objects.get(pk=round_id)
    schema = _current_schema(round_, form_id)
    sheet = export_sheets(schema)[0]
    label = _Labels(schema, ExportOptions(labels=labels, language=lang))
    rows = list(sheet_rows(sheet, _records(submissions.filter(answers__isnull=False),
                                           round_release_map(round_id=round_id)), label))
    return sheet.headers, rows


def record_export_create(*, user: AnyUser, form_id: str, round_id: int | None = None, fmt: str = "xlsx",
                         labels: bool = False, lang: str | None = None, sheet: str | None = None) -> RecordExport:
    """Ask for an export of a round's records (the form's latest round when
    none is given); a Celery task writes it after the commit."""
    viewer = ensure_submission_viewer(user)
    if fmt not in RecordExport.Format.values:
        raise InvalidInput(f"'{fmt}' is not an export format; use csv or xlsx.")
    if sheet and fmt != "csv":
        raise InvalidInput("'sheet' picks one sheet of a CSV export; XLSX holds them all.")
    qs = Questionnaire.objects.filter(form_id=form_id, round__in=viewable_rounds(user=user))
    if round_id is not None:
        qs = qs.filter(round_id=round_id)
    questionnaire = qs.order_by("-created_at", "-id").only("round_id", "schema").first()
    if questionnaire is None:
        raise NotFound(f"No form '{form_id}'" + (f" in round id {round_id}." if round_id else "."))
    _Labels(questionnaire.schema, ExportOptions(labels=labels, language=lang))  # a bad language fails now
    export = RecordExport.objects.create(requested_by=viewer, form_id=form_id, round_id=questionnaire.round_id,
                                         fmt=fmt, options={"labels": labels, "lang": lang, "sheet": sheet})
    transaction.on_commit(lambda: _enqueue(export.pk))
    return export


def _enqueue(export_id: int) -> None:
    from surveys.tasks import record_export_task

    try:
        record_export_task.delay(export_id)
    except Exception:  # noqa: BLE001 - the export stays pending; the sweep sends it again
        log.error("could not send export %s to the workers", export_id)


def record_export_run(*, export_id: int) -> RecordExport:
    """Write an export's file. Idempotent: a complete export is left as it is."""
    with transaction.atomic():
        export = RecordExport.objects.select_for_update().get(pk=export_id)
        if export.status == RecordExport.Status.COMPLETE:
            return export
        export.status = RecordExport.Status.PROCESSING
        export.save(update_fields=["status"])
    options = export.options or {}
    try:
        with tempfile.TemporaryFile() as out:
            rows = records_write(round_id=export.round_id, form_id=export.form_id, fmt=export.fmt, out=out,
                                 labels=bool(options.get("labels")), lang=options.get("lang"),
                                 sheet=options.get("sheet"), user=export.requested_by)
            out.seek(0)
            stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
            export.file.save(f"{export.form_id}-round{export.round.number}-{stamp}.{export.fmt}", File(out),
                             save=False)
    except MtmError as err:
        return _export_failed(export, err.message)
    except Exception as err:  # noqa: BLE001 - the export says it failed; the worker goes on
        log.error("export %s failed with %s", export.pk, type(err).__name__)
        return _export_failed(export, f"The export failed ({type(err).__name__}); see the log.")
    export.rows = rows
    export.status = RecordExport.Status.COMPLETE
    export.error = ""
    export.finished_at = timezone.now()
    export.save(update_fields=["file", "rows", "status", "error", "finished_at"])
    return export


def _export_failed(export: RecordExport, message: str) -> RecordExport:
    export.status = RecordExport.Status.ERROR
    export.error = message
    export.finished_at = timezone.now()
    export.save(update_fields=["status", "error", "finished_at"])
    return export
