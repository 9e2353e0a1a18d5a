"""An interview's quality facts, recorded by processing (:func:`quality_record`, after the checks): its audit
log read (:func:`submission_audit`, in the facts step) and its answer patterns (:func:`answer_patterns`), kept
in :class:`~surveys.models.InterviewQuality` with what it adds to the scorecard's cells."""

from __future__ import annotations

import logging
import re
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Model

from surveys.form_schema import FormSchema, SchemaField
from surveys.models import InterviewQuality, Location, Submission
from surveys.round_settings import QualitySettings, round_quality_settings
from surveys.services import geo
from surveys.services.audit_log import AuditFacts, audit_log_read, unavailable
from surveys.services.quality.cells import QUESTION_BINS, cells_apply, time_bin

if TYPE_CHECKING:
    from surveys.services.checks import Flag, InterviewFacts

log = logging.getLogger(__name__)

AUDIT_FILE = "audit.csv"
#: Questions whose answers are compared and counted: what an enumerator asks (not metadata, notes, calculations).
_NOT_QUESTIONS = {"group", "repeat", "note", "calculate", "start", "end", "today", "deviceid", "phonenumber",
                  "simserial", "subscriberid", "username", "email", "audit", "start-geopoint", "hidden",
                  "background-audio", "instanceID", "xml-external", "csv-external"}
_SELECTS = {"select_one", "select_multiple"}


def submission_audit(*, submission: Submission, schema: FormSchema) -> AuditFacts | None:
    """The facts of the interview's ``audit.csv`` (None when its form has no ``audit`` question). A file that
    is missing or unreadable is :class:`AuditFacts` ``available=False``: it never fails the interview."""
    if not any(f["type"] == "audit" for f in schema.get("fields", [])):
        return None
    try:
        data = _audit_bytes(submission)
    except Exception as err:  # noqa: BLE001 - an unreadable attachment is an unavailable fact, not a failure
        log.warning("submission %s: the audit log could not be opened (%s)", submission.pk, type(err).__name__)
        return unavailable("The audit log could not be opened.")
    if data is None:
        return unavailable("The audit log was not received.")
    order = [f["path"] for f in schema.get("fields", [])]
    return audit_log_read(data, order=order, root=schema.get("root", "data"))


def _audit_bytes(submission: Submission) -> bytes | None:
    from surveys.services.encrypted_submissions import submission_decrypted
    from surveys.services.raw_store import open_chunks

    if submission.encrypted:
        return submission_decrypted(submission).media.get(AUDIT_FILE)
    attachment = submission.attachments.filter(filename=AUDIT_FILE).first()
    if attachment is None:
        return None
    with attachment.file.open("rb") as sealed:
        return b"".join(open_chunks(sealed))


def trail_in_area(audit: AuditFacts | None, areas: Iterable[Location]) -> bool | None:
    """Whether any point of the location trail lies in one of the areas (None: no trail or no area to test)."""
    if audit is None or not audit.trail:
        return None
    with_area = [a for a in areas if geo.has_area(a)]
    if not with_area:
        return None
    return any(geo.inside(a, p.latitude, p.longitude) for p in audit.trail for a in with_area)


@dataclass
class AnswerPatterns:
    """Counts of an interview's answer patterns (no answer kept but the categorical ones, in memory)."""

    #: Select questions answered that offer "don't know" or "refused", and those so answered.
    selects: int = 0
    dont_know: int = 0
    gates: int = 0
    gate_skips: int = 0
    scales: int = 0
    straight: int = 0
    #: question name → choice name, for the select_one questions outside repeats not tagged identifying.
    categorical: dict[str, str] = field(default_factory=dict)


def answer_patterns(*, answers: dict[str, Any], unanswered: Iterable[str], schema: FormSchema,
                    settings: QualitySettings) -> AnswerPatterns:
    shape = _shape(schema)
    asked = set(answers) | set(unanswered)
    lists = schema.get("choices", {})
    out = AnswerPatterns()
    for f in shape.selects:
        value = answers.get(f["path"])
        if value in (None, "", []):
            continue
        offers = any(c["name"].lower() in settings.dont_know_values for c in lists.get(f.get("list_name") or "", []))
        if offers:  # the share of "don't know" / "refused" counts the questions that offer one
            out.selects += 1
            chosen = value.split() if isinstance(value, str) else [str(v) for v in value] \
                if isinstance(value, list) else [str(value)]
            out.dont_know += any(c.lower() in settings.dont_know_values for c in chosen)
        if f["type"] == "select_one" and f.get("privacy") not in ("identifier", "pseudonym"):
            out.categorical[f["name"]] = str(value)
    for gate, followers in shape.gates.items():
        if answers.get(gate) in (None, "", []):
            continue
        out.gates += 1
        if not any(path in asked for path in followers):
            out.gate_skips += 1
    for scale in shape.scales:
        values = [answers.get(path) for path in scale]
        if all(v not in (None, "") for v in values):
            out.scales += 1
            out.straight += len(set(map(str, values))) == 1
    return out


@dataclass(frozen=True)
class _Shape:
    """What the answer patterns read of a form version: worked out once per schema (:func:`_shape`)."""

    selects: list[SchemaField]
    gates: dict[str, list[str]]
    scales: list[list[str]]


#: Shapes by ``id(schema)``, each with the schema it was made from (held, so its id is not reused).
_SHAPES: dict[int, tuple[FormSchema, _Shape]] = {}


def _shape(schema: FormSchema) -> _Shape:
    found = _SHAPES.get(id(schema))
    if found is not None and found[0] is schema:
        return found[1]
    shape = _Shape(selects=[f for f in schema.get("fields", []) if not f.get("repeat") and f["type"] in _SELECTS],
                   gates=gate_questions(schema), scales=repeated_scales(schema))
    if len(_SHAPES) >= 64:
        _SHAPES.pop(next(iter(_SHAPES)))
    _SHAPES[id(schema)] = (schema, shape)
    return shape


_REFERENCE = re.compile(r"/([A-Za-z_][\w.\-]*(?:/[A-Za-z_][\w.\-]*)*)")


def gate_questions(schema: FormSchema) -> dict[str, list[str]]:
    """Questions (outside repeats) whose answer decides whether others are asked: path → the questions whose
    own or inherited ``relevant`` refers to it."""
    root = schema.get("root", "data")
    by_path = {f["path"]: f for f in schema.get("fields", [])}
    gates: dict[str, list[str]] = {}
    for f in schema.get("fields", []):
        if f["type"] in _NOT_QUESTIONS or f.get("repeat"):
            continue
        for expression in _relevances(f, by_path):
            for match in _REFERENCE.finditer(expression):
                path = match.group(1).removeprefix(f"{root}/")
                gate = by_path.get(path)
                if gate is not None and gate["type"] not in _NOT_QUESTIONS and not gate.get("repeat") \
                        and path != f["path"] and f["path"] not in gates.get(path, []):
                    gates.setdefault(path, []).append(f["path"])
    return gates


def _relevances(f: SchemaField, by_path: dict[str, SchemaField]) -> list[str]:
    found, current = [], f
    while True:
        if current.get("relevant"):
            found.append(str(current["relevant"]))
        parent = current.get("parent")
        if not parent or parent not in by_path:
            return found
        current = by_path[parent]


def repeated_scales(schema: FormSchema) -> list[list[str]]:
    """Runs of three or more select_one questions in one group sharing a choice list (a battery of items on
    one scale), outside repeats."""
    groups: dict[tuple[str | None, str], list[str]] = {}
    for f in schema.get("fields", []):
        if f["type"] == "select_one" and not f.get("repeat") and f.get("list_name"):
            groups.setdefault((f.get("parent"), str(f["list_name"])), []).append(f["path"])
    return [paths for paths in groups.values() if len(paths) >= 3]


def contribution(*, audit: AuditFacts | None, patterns: AnswerPatterns, flagged: bool,
                 schema: FormSchema) -> dict[str, dict[str, int]]:
    """What one interview adds to its round's cells."""
    s: dict[str, int] = {"n": 1, "flagged": int(flagged), "selects": patterns.selects,
                         "dont_know": patterns.dont_know, "gates": patterns.gates, "gate_skips": patterns.gate_skips,
                         "scales": patterns.scales, "straight": patterns.straight}
    q: dict[str, int] = {}
    for name, value in patterns.categorical.items():
        s[f"a:{name}={value}"] = 1
    if audit is not None and audit.available:
        names = {f["path"]: f["name"] for f in schema.get("fields", [])}
        s["audited"] = 1
        s[f"active:{time_bin(audit.active_seconds)}"] = 1
        s["changed"] = audit.changed_answers
        s["backward"] = audit.backward_jumps
        timed = {names[path]: seconds for path, seconds in audit.question_seconds.items() if path in names}
        if timed:
            s[f"qtime:{time_bin(statistics.median(timed.values()))}"] = 1
        for name, seconds in timed.items():
            q[f"{name}:{time_bin(seconds, QUESTION_BINS)}"] = 1
    return {"s": {k: v for k, v in s.items() if v}, "q": q}


def related_or_none(instance: Model, name: str) -> Any:
    """The row at the reverse one-to-one ``name`` of ``instance`` (None: there is none), from what was read
    with it (``select_related``) or else one query."""
    try:
        return getattr(instance, name)
    except ObjectDoesNotExist:
        return None


def quality_record(*, submission: Submission, answers: dict[str, Any], unanswered: Iterable[str],
                   schema: FormSchema, facts: InterviewFacts, flags: list[Flag], consent: bool | None,
                   areas: list[Location]) -> None:
    """Keep the interview's quality facts and its share of the scorecard in step (processing's last write
    before the review; under the submission's row lock). A back-check interview (its form's link field names
    an original) is compared with the original instead of counted. Running it again changes nothing."""
    from surveys.services.quality.backchecks import backcheck_compare, backcheck_link

    settings = round_quality_settings(submission.round)
    audit = facts.audit
    row = related_or_none(submission, "quality") or InterviewQuality(  # read with the locked submission
        submission=submission, round_id=submission.round_id)
    original = backcheck_link(answers=answers, schema=schema, settings=settings)
    counting = (consent is not False and submission.is_current and submission.submitted_by_id is not None
                and original is None)
    patterns = answer_patterns(answers=answers, unanswered=unanswered, schema=schema, settings=settings)
    new = contribution(audit=audit, patterns=patterns, flagged=bool(flags), schema=schema) if counting else {}
    old = row.contribution if row.counted else {}
    row.enumerator_id = submission.submitted_by_id or 0
    if new != old:
        cells_apply(round_id=submission.round_id, enumerator_id=row.enumerator_id, new=new, old=old)
    values: dict[str, Any] = {
        "audit": (InterviewQuality.Audit.NONE if audit is None else InterviewQuality.Audit.READ if audit.available
                  else InterviewQuality.Audit.UNAVAILABLE),
        "audit_problem": audit.problem[:255] if audit else "",
        "active_seconds": audit.active_seconds if audit and audit.available else None,
        "question_seconds": dict(audit.question_seconds) if audit and audit.available else {},
        "pauses": audit.pauses if audit else 0, "paused_seconds": audit.paused_seconds if audit else 0.0,
        "backward_jumps": audit.backward_jumps if audit else 0,
        "changed_answers": audit.changed_answers if audit else 0,
        "trail_points": len(audit.trail) if audit else 0, "trail_in_area": trail_in_area(audit, areas),
        "contribution": new, "counted": bool(new),
    }
    if row.pk is None or any(getattr(row, k) != v for k, v in values.items()):
        for key, value in values.items():
            setattr(row, key, value)
        row.save()
    if submission.previous_id is not None:  # an edit: the version it replaces no longer counts
        _uncount(submission.previous_id)
    if original is not None:
        backcheck_compare(backcheck=submission, original_instance_id=original, answers=answers, schema=schema,
                          settings=settings)


def _uncount(submission_id: int) -> None:
    row = InterviewQuality.objects.select_for_update().filter(submission_id=submission_id, counted=True).first()
    if row is not None:
        cells_apply(round_id=row.round_id, enumerator_id=row.enumerator_id, new={}, old=row.contribution)
        row.counted = False
        row.save(update_fields=["counted"])
