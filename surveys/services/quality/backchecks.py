"""Back-checks: a round's draw of each enumerator's interviews (:func:`backchecks_draw`), and the comparison of
an original with the back-check interview a supervisor fills by phone or visit (:func:`backcheck_compare`, run
by processing). A back-check form is any form of the round whose questions share names with the original's and
that has a field (``backcheck_link_field``, default ``original_instance_id``) carrying the original's
instanceID. Results keep question names, types and whether they differ — never an answer."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mtm.errors import Forbidden, NotFound
from surveys.form_schema import FormSchema, SchemaField
from surveys.models import BackCheck, Round, Submission, SubmissionFlag
from surveys.round_settings import QualitySettings, round_quality_settings
from surveys.services.counts import counts_flag_changed
from surveys.services.quality.facts import _NOT_QUESTIONS

_NUMBERS = {"integer", "decimal", "range"}
#: Compared after trimming and case-folding.
_TEXTS = {"text", "barcode"}
#: Not compared: positions, files and the like.
_NOT_COMPARED = _NOT_QUESTIONS | {"geopoint", "geotrace", "geoshape", "image", "photo", "audio", "video", "file",
                                  "acknowledge"}


def backcheck_link(*, answers: dict[str, Any], schema: FormSchema, settings: QualitySettings) -> str | None:
    """The original's instanceID the interview names in the round's link field (None: not a back-check)."""
    for f in schema.get("fields", []):
        if f["name"] == settings.backcheck_link_field and not f.get("repeat"):
            value = answers.get(f["path"])
            if isinstance(value, str) and value.strip():
                return value.strip()
    return None


@dataclass(frozen=True)
class Comparison:
    compared: int
    differing: int
    #: question name → {"type": …, "differs": bool}
    result: dict[str, dict[str, Any]]


def answers_compare(*, original: dict[str, Any], backcheck: dict[str, Any], original_schema: FormSchema,
                    backcheck_schema: FormSchema, settings: QualitySettings) -> Comparison:
    """Compare the questions (outside repeats) both forms share by name: categorical and dates exactly (a
    select_multiple as a set), text trimmed and case-folded, numbers within the round's tolerance. A question
    blank in both is not compared; blank in one only differs."""
    theirs = {f["name"]: f for f in backcheck_schema.get("fields", []) if not f.get("repeat")}
    result: dict[str, dict[str, Any]] = {}
    for f in original_schema.get("fields", []):
        other = theirs.get(f["name"])
        if (other is None or f.get("repeat") or f["type"] in _NOT_COMPARED or f["name"] == settings.backcheck_link_field
                or other["type"] != f["type"]):
            continue
        a, b = original.get(f["path"]), backcheck.get(other["path"])
        if a in (None, "", []) and b in (None, "", []):
            continue
        result[f["name"]] = {"type": f["type"], "differs": _differs(f, a, b, settings)}
    differing = sum(1 for r in result.values() if r["differs"])
    return Comparison(len(result), differing, result)


def _differs(f: SchemaField, a: Any, b: Any, settings: QualitySettings) -> bool:
    if a in (None, "", []) or b in (None, "", []):
        return True
    if f["type"] == "select_multiple":
        return set(str(a).split()) != set(str(b).split())
    if f["type"] in _NUMBERS:
        try:
            x, y = float(a), float(b)
        except (TypeError, ValueError):
            return str(a) != str(b)
        if f["name"] in settings.backcheck_tolerances:
            return abs(x - y) > settings.backcheck_tolerances[f["name"]]
        return abs(x - y) > settings.backcheck_tolerance * max(abs(x), abs(y))
    if f["type"] in _TEXTS:
        return " ".join(str(a).split()).casefold() != " ".join(str(b).split()).casefold()
    return str(a) != str(b)


def backcheck_compare(*, backcheck: Submission, original_instance_id: str, answers: dict[str, Any],
                      schema: FormSchema, settings: QualitySettings) -> BackCheck | None:
    """Compare a back-check interview with the original it names (in the same round; its current version) and
    keep the result; above the round's threshold the original is flagged ``backcheck_differs``. An unknown
    original, or the interview itself, is left alone. Running it again changes nothing."""
    original = (Submission.objects.filter(round_id=backcheck.round_id, instance_id=original_instance_id)
                .exclude(pk=backcheck.pk).select_related("questionnaire").first())
    while original is not None and not original.is_current and hasattr(original, "edited_by"):
        original = original.edited_by
    if original is None or original.pk == backcheck.pk or original.processing != Submission.Processing.PROCESSED:
        return None
    from surveys.services.quality.originals import original_answers

    original_schema, raw = original_answers(original)
    comparison = answers_compare(original=raw, backcheck=answers, original_schema=original_schema,
                                 backcheck_schema=schema, settings=settings)
    flagged = comparison.compared > 0 and comparison.differing / comparison.compared > settings.backcheck_threshold
    row, _created = BackCheck.objects.select_for_update().get_or_create(
        original=original, defaults={"round_id": original.round_id, "enumerator_id": original.submitted_by_id or 0,
                                     "sampled": False})
    values = {"backcheck": backcheck, "compared": comparison.compared, "differing": comparison.differing,
              "result": comparison.result, "flagged": flagged, "by_id": backcheck.submitted_by_id}
    if any(getattr(row, k) != v for k, v in values.items()):
        for key, value in values.items():
            setattr(row, key, value)
        row.compared_at = timezone.now()
        row.save()
    reason = backcheck_reason(row)
    flag = SubmissionFlag.objects.filter(submission=original, check_name="backcheck_differs").first()
    if reason and flag is None:
        counts_flag_changed(_held(original), check="backcheck_differs", added=True)
        SubmissionFlag.objects.create(submission=original, check_name="backcheck_differs", reason=reason)
    elif reason and flag is not None and flag.reason != reason:
        SubmissionFlag.objects.filter(pk=flag.pk).update(reason=reason)
    elif not reason and flag is not None:
        counts_flag_changed(_held(original), check="backcheck_differs", added=False)
        flag.delete()
    return row


def _held(original: Submission) -> Submission:
    """The original locked and read again (what its flags count under: its round, sender, review state, whether
    current), so that a review or an edit of it at the same time moves its flags after this one."""
    return (Submission.objects.select_for_update(of=("self",))
            .only("round_id", "submitted_by_id", "review_status", "is_current").get(pk=original.pk))


def backcheck_reason(row: BackCheck) -> str | None:
    """The flag's reason for an original whose back-check differs above the threshold (English, stored)."""
    if not row.flagged:
        return None
    names = ", ".join(sorted(name for name, r in row.result.items() if r.get("differs")))
    return (f"The back-check differs on {row.differing} of {row.compared} questions compared "
            f"({100 * row.differing / row.compared:.0f} %): {names}.")


def draw_key(seed: str, instance_id: str, weight: float) -> float:
    """Efraimidis–Spirakis: u^(1/w) with u from a hash of the seed and the interview, so the draw depends on the
    seed and the interviews only (not on when it runs); the largest keys are drawn."""
    digest = hashlib.sha256(f"{seed}:{instance_id}".encode()).digest()
    u = (int.from_bytes(digest[:8], "big") + 1) / (2**64 + 1)
    return math.log(u) / weight


@transaction.atomic
def backchecks_draw(*, round_id: int, by: Any = None) -> int:
    """Draw ``backcheck_percent`` % (rounded up) of each enumerator's current processed interviews of the round
    for back-checks, flagged ones weighing ``backcheck_flagged_weight``; interviews drawn before stay drawn and
    count towards it. Returns how many were drawn now; running it again draws none."""
    round_ = Round.objects.select_for_update().filter(pk=round_id).first()
    if round_ is None:
        raise NotFound(_("No such round."))
    if by is not None and not (by.is_superuser or by.has_perm("surveys.add_backcheck")
                                or by.has_perm("surveys.review_submission")):
        raise Forbidden(_("This account may not draw back-checks."))
    settings = round_quality_settings(round_)
    if settings.backcheck_percent <= 0:
        return 0
    interviews = (Submission.objects.filter(round_id=round_id, is_current=True, submitted_by__isnull=False,
                                            processing=Submission.Processing.PROCESSED)
                  .exclude(consent=False).exclude(backcheck_of__isnull=False)
                  .exclude(quality__counted=False)
                  .values_list("pk", "instance_id", "submitted_by_id"))
    flagged = set(SubmissionFlag.objects.filter(submission__round_id=round_id)
                  .exclude(check_name="backcheck_differs").values_list("submission_id", flat=True))
    drawn = _drawn_counts(round_id)
    by_enumerator: dict[int, list[tuple[float, int, float]]] = {}
    taken = set(BackCheck.objects.filter(round_id=round_id).values_list("original_id", flat=True))
    totals: dict[int, int] = {}
    for pk, instance_id, enumerator_id in interviews:
        totals[enumerator_id] = totals.get(enumerator_id, 0) + 1
        if pk in taken:
            continue
        weight = settings.backcheck_flagged_weight if pk in flagged else 1.0
        by_enumerator.setdefault(enumerator_id, []).append(
            (draw_key(settings.backcheck_seed, instance_id, weight), pk, weight))
    new: list[BackCheck] = []
    for enumerator_id, total in sorted(totals.items()):
        wanted = math.ceil(settings.backcheck_percent * total / 100 - 1e-9) - drawn.get(enumerator_id, 0)
        candidates = sorted(by_enumerator.get(enumerator_id, []), reverse=True)[:max(0, wanted)]
        new.extend(BackCheck(round_id=round_id, original_id=pk, enumerator_id=enumerator_id, weight=weight)
                   for _key, pk, weight in candidates)
    BackCheck.objects.bulk_create(new)
    return len(new)


def _drawn_counts(round_id: int) -> dict[int, int]:
    from django.db.models import Count

    return dict(BackCheck.objects.filter(round_id=round_id, sampled=True).values_list("enumerator_id")
                .annotate(n=Count("id")).values_list("enumerator_id", "n"))
