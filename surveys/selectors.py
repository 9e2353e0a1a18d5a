"""Reads on surveys, rounds and questionnaires: querysets and read models."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from enumerators.services.roles import ANALYSTS, DATA_PROTECTION, SUPERVISORS
from mtm.errors import Forbidden, NotFound
from surveys.models import Questionnaire, QuestionnaireMedia, Round


def rounds_for_user(*, user) -> QuerySet[Round]:
    """Open rounds whose forms ``user`` may download and submit to: all open
    rounds for a superuser, otherwise those of an active enumerator's
    assignments."""
    rounds = Round.objects.filter(status=Round.Status.OPEN)
    if user is None or not user.is_active:
        return rounds.none()
    if user.is_superuser:
        return rounds
    return rounds.filter(
        assignments__enumerator__user=user, assignments__enumerator__active=True
    ).distinct()


def questionnaires_for_user(*, user, anonymous_only: bool = False) -> list[Questionnaire]:
    """The current (latest imported) version of every form ``user`` may
    collect, one per form_id, ordered by form_id."""
    qs = Questionnaire.objects.filter(round__in=rounds_for_user(user=user))
    if anonymous_only:
        qs = qs.filter(allow_anonymous=True)
    current: dict[str, Questionnaire] = {}
    for questionnaire in qs.order_by("form_id", "-created_at", "-id").prefetch_related("media"):
        current.setdefault(questionnaire.form_id, questionnaire)
    return list(current.values())


def questionnaire_for_user(*, user, form_id: str, version: str | None = None,
                           anonymous_only: bool = False) -> Questionnaire:
    """One form for ``user``: its current version, or ``version`` when given
    (older versions stay downloadable for devices that still hold them)."""
    if version is None:
        for questionnaire in questionnaires_for_user(user=user, anonymous_only=anonymous_only):
            if questionnaire.form_id == form_id:
                return questionnaire
        raise NotFound(f"No form '{form_id}' is available to this account.")
    qs = Questionnaire.objects.filter(round__in=rounds_for_user(user=user), form_id=form_id, version=version)
    if anonymous_only:
        qs = qs.filter(allow_anonymous=True)
    questionnaire = qs.first()
    if questionnaire is None:
        raise NotFound(f"No form '{form_id}' version '{version}' is available to this account.")
    return questionnaire


def questionnaire_media_file(*, questionnaire: Questionnaire, filename: str) -> QuestionnaireMedia:
    media = questionnaire.media.filter(filename=filename).first()
    if media is None:
        raise NotFound(f"Form '{questionnaire.form_id}' has no media file '{filename}'.")
    return media


def submission_attachment_for_user(*, user, form_id: str, instance_id: str, filename: str):
    """An attachment, for the data-protection role: attachments (photos,
    recordings) belong to the raw store."""
    submission = submission_raw_for_user(user=user, instance_id=instance_id, form_id=form_id or None)
    attachment = submission.attachments.filter(filename=filename).first()
    if attachment is None:
        raise NotFound("No such attachment.")
    return attachment


@dataclass(frozen=True)
class SubmissionTarget:
    """What ingest needs of a questionnaire version, read in one query."""

    pk: int
    form_id: str
    version: str
    md5: str
    round_id: int
    round_number: int
    round_open: bool
    allow_anonymous: bool
    assigned: bool

    @property
    def schema(self) -> dict[str, Any]:
        return questionnaire_schema(pk=self.pk, md5=self.md5)


_TARGET_SQL = """
SELECT q.id, q.form_id, q.version, q.md5, q.round_id, r.number, r.status, q.allow_anonymous,
       EXISTS (SELECT 1 FROM enumerators_assignment a
               JOIN enumerators_enumerator e ON e.id = a.enumerator_id
               WHERE a.round_id = q.round_id AND e.user_id = %(user)s AND e.active) AS assigned
FROM surveys_questionnaire q JOIN surveys_round r ON r.id = q.round_id
WHERE q.form_id = %(form_id)s AND (%(version)s = '' OR q.version = %(version)s)
ORDER BY q.created_at DESC, q.id DESC
LIMIT 1
"""


def submission_target(*, form_id: str, version: str | None, submitter) -> SubmissionTarget:
    """The version an instance names (the latest when it names none), and
    whether ``submitter`` may submit to its round (an active enumerator
    assigned to it, or a superuser), in one query: this runs on every
    submission, and the ORM's compiling of it cost four times its execution.
    :class:`NotFound` for an unknown form or version."""
    active = submitter is not None and submitter.is_active
    with connection.cursor() as cursor:
        cursor.execute(_TARGET_SQL, {"form_id": form_id, "version": version or "",
                                     "user": submitter.pk if active else -1})
        row = cursor.fetchone()
    if row is None:
        if version and Questionnaire.objects.filter(form_id=form_id).exists():
            raise NotFound(f"Form '{form_id}' has no version '{version}' on this server.")
        raise NotFound(f"No form '{form_id}' on this server.")
    pk, form_id, version, md5, round_id, number, status, allow_anonymous, assigned = row
    return SubmissionTarget(pk=pk, form_id=form_id, version=version, md5=md5, round_id=round_id,
                            round_number=number, round_open=status == Round.Status.OPEN,
                            allow_anonymous=bool(allow_anonymous),
                            assigned=active and (submitter.is_superuser or bool(assigned)))


@lru_cache(maxsize=256)
def questionnaire_schema(*, pk: int, md5: str) -> dict[str, Any]:
    """A version's field schema. Versions never change once stored (the md5
    in the key makes that certain), so it is read once per process."""
    return Questionnaire.objects.values_list("schema", flat=True).get(pk=pk, md5=md5)


#: Privacy tags whose answers never leave the raw store. The anonymised record
#: has none already; this is the last guard before any response.
WITHHELD_PRIVACY = {"identifier"}


def ensure_submission_viewer(user) -> None:
    """:class:`Forbidden` unless ``user`` may see submissions and what is made of them."""
    if not (user.is_active and (user.is_superuser or user.has_perm("surveys.view_submission"))):
        raise Forbidden("This account may not see submissions.")


#: Roles that see every survey (anonymised): a supervisor who also holds one of them is not limited to a team.
_ALL_SURVEY_ROLES = {ANALYSTS, DATA_PROTECTION}


def team_scoped(user) -> bool:
    """True for a supervisor (group Supervisors, not a superuser, analyst or
    data-protection officer): they see only their team's work."""
    if not user.is_authenticated or user.is_superuser:
        return False
    names = getattr(user, "_mtm_group_names", None)
    if names is None:  # once per request (the user object lives as long as the request)
        names = user._mtm_group_names = set(user.groups.values_list("name", flat=True))
    return SUPERVISORS in names and not names.intersection(_ALL_SURVEY_ROLES)


def enumerators_for_user(*, user) -> QuerySet:
    """The enumerators ``user`` oversees: all for a superuser, analyst or
    data protection; a supervisor's team (``Enumerator.supervisor``)."""
    from enumerators.models import Enumerator

    qs = Enumerator.objects.select_related("user", "supervisor")
    return qs.filter(supervisor=user) if team_scoped(user) else qs


def assignments_for_user(*, user) -> QuerySet:
    from enumerators.models import Assignment

    qs = Assignment.objects.select_related("enumerator__user", "round__survey")
    return qs.filter(enumerator__supervisor=user) if team_scoped(user) else qs


def viewable_rounds(*, user) -> QuerySet[Round]:
    """The rounds ``user`` may monitor: a supervisor's are those of their team's assignments."""
    qs = Round.objects.select_related("survey")
    if team_scoped(user):
        qs = qs.filter(pk__in=assignments_for_user(user=user).values("round_id"))
    return qs


def viewable_locations(*, user) -> QuerySet:
    """The locations ``user`` may see: a supervisor's are those of their team's assignments and quotas."""
    from surveys.models import Location

    qs = Location.objects.all()
    if team_scoped(user):
        from enumerators.models import AssignmentQuota

        assignments = assignments_for_user(user=user)
        qs = qs.filter(Q(assignments__in=assignments)
                       | Q(pk__in=AssignmentQuota.objects.filter(assignment__in=assignments).values("location_id")))
    return qs.distinct()


def round_for_user(*, user, round_id: int) -> Round:
    """A round ``user`` may monitor; :class:`NotFound` for one outside their team's (as for an unknown one)."""
    ensure_submission_viewer(user)
    round_ = viewable_rounds(user=user).filter(pk=round_id).first()
    if round_ is None:
        raise NotFound(f"No round {round_id}.")
    return round_


def scoped_submissions(*, user) -> QuerySet:
    """Every submission ``user`` may see, unordered and unjoined: the row-level
    rule in one place. A supervisor sees their team's submissions (the
    enumerators whose supervisor they are); others who may view submissions
    see all of them (anonymised; raw data stay behind
    :func:`submission_raw_for_user`)."""
    from surveys.models import Submission

    ensure_submission_viewer(user)
    return within_scope(Submission.objects.all(), user=user)


def scoped_flags(*, user) -> QuerySet:
    """The quality-check flags of the submissions ``user`` may see (a join, not a subquery)."""
    from surveys.models import SubmissionFlag

    ensure_submission_viewer(user)
    return within_scope(SubmissionFlag.objects.all(), user=user, prefix="submission__")


def team_user_ids(user) -> list[int] | None:
    """The accounts of a supervisor's team (read once per request); None for a user not limited to a team."""
    if not team_scoped(user):
        return None
    team = getattr(user, "_mtm_team_ids", None)
    if team is None:
        from enumerators.models import Enumerator

        team = user._mtm_team_ids = list(Enumerator.objects.filter(supervisor=user).values_list("user_id", flat=True))
    return team


def within_scope(qs: QuerySet, *, user, prefix: str = "", field: str = "submitted_by_id") -> QuerySet:
    """``qs`` (of submissions, or of rows reaching them through ``prefix``) cut to ``user``'s scope: a
    supervisor's team only, filtered by the team's user ids (a short list) so that the query uses the
    submissions' own indexes instead of a join."""
    team = team_user_ids(user)
    return qs if team is None else qs.filter(**{f"{prefix}{field}__in": team})


def scoped_progress_counts(*, user) -> QuerySet:
    """The dashboard's running counts (:class:`ProgressCount`) within ``user``'s scope."""
    from surveys.models import ProgressCount

    ensure_submission_viewer(user)
    return within_scope(ProgressCount.objects.all(), user=user, field="user_id")


def submissions_for_user(*, user, form_id: str | None = None, validation: str | None = None,
                         flag: str | None = None, review: str | None = None,
                         current_only: bool = False) -> QuerySet:
    """The submissions ``user`` may see (:func:`scoped_submissions`), newest
    first, filtered as asked. ``review="none"`` selects those without a review
    state; ``current_only`` leaves out versions replaced by an edit."""
    qs = (scoped_submissions(user=user).select_related("questionnaire__round", "submitted_by", "reviewed_by")
          .prefetch_related("flags").order_by("-received_at", "-id"))
    if form_id:
        qs = qs.filter(form_id=form_id)
    if current_only:
        qs = qs.filter(is_current=True)
    if validation:
        qs = qs.filter(validation=validation)
    if flag:
        qs = qs.filter(flags__check_name=flag)
    if review == "none":
        qs = qs.filter(review_status__isnull=True)
    elif review:
        qs = qs.filter(review_status=review)
    return qs


def submission_in_scope(*, user, submission_id: int) -> bool:
    """Whether this submission is within ``user``'s scope (their team's, for a
    supervisor); what they may do with it is a matter of permissions."""
    from surveys.models import Submission

    return within_scope(Submission.objects.filter(pk=submission_id), user=user).exists()


def submission_for_user(*, user, instance_id: str, form_id: str | None = None):
    qs = submissions_for_user(user=user, form_id=form_id).filter(instance_id=instance_id)
    found = list(qs[:2])
    if not found:
        raise NotFound(f"No submission '{instance_id}'.")
    if len(found) > 1:
        raise NotFound(f"'{instance_id}' names submissions of several forms; add ?form=<form_id>.")
    return found[0]


def withheld_paths(schema: dict[str, Any]) -> frozenset[str]:
    """The paths of a version's fields that never leave the raw store."""
    return frozenset(f["path"] for f in schema.get("fields", []) if f.get("privacy") in WITHHELD_PRIVACY)


def answers_released(*, answers: dict[str, Any] | None, schema: dict[str, Any],
                     withheld: frozenset[str] | None = None) -> dict[str, Any]:
    """The anonymised record without any field tagged identifier. ``withheld``
    (:func:`withheld_paths` of ``schema``) may be given by callers that
    release many records of one version."""
    if not answers:
        return {}
    if withheld is None:
        withheld = withheld_paths(schema)

    def keep(record: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for path, value in record.items():
            if path in withheld:
                continue
            out[path] = [keep(item) for item in value] if type(value) is list and value and type(
                value[0]) is dict else value
        return out

    return keep(answers)


def questionnaires_visible_to(user) -> QuerySet[Questionnaire]:
    """Every questionnaire version ``user`` may see with its (anonymised)
    records: all of them for a superuser and for the roles that see
    submissions (supervisors, analysts, data protection); none for anyone
    else, enumerators included. Which *records* of them a user sees is
    :func:`submissions_for_user`'s decision."""
    qs = Questionnaire.objects.select_related("round__survey")
    if user is None or not user.is_active:
        return qs.none()
    if user.is_superuser or user.has_perm("surveys.view_submission"):
        return qs
    return qs.none()


def may_open_raw(user) -> bool:
    """Whether ``user`` may open the raw store (bodies, attachments): the data-protection role."""
    return bool(user.is_active and (user.is_superuser or user.has_perm("surveys.view_raw_submission")))


def submission_raw_for_user(*, user, instance_id: str, form_id: str | None = None):
    """A submission whose raw store the data-protection role may open."""
    if not may_open_raw(user):
        raise Forbidden("Raw data (bodies, attachments): only the data-protection role may open them.")
    return submission_for_user(user=user, instance_id=instance_id, form_id=form_id)


class JsonText(Cast):
    """A JSON column as its text, for reads of many rows that decode it with orjson (several times faster)."""

    def __init__(self, column: str) -> None:
        super().__init__(column, output_field=TextField())


#: The rule a submission counts by in its round's tables (see :func:`counted_submissions`).
#: Written without negations of nullable columns, so that it is never NULL and ``exclude(COUNTED)`` is its
#: exact complement.
COUNTED = (Q(is_current=True, answers__isnull=False)
           & (Q(review_status__isnull=True) | Q(review_status__in=["approved", "on_hold", "has_issues"]))
           & (Q(consent__isnull=True) | Q(consent=True))
           & (Q(validation="valid") | Q(review_status="approved")))


def counted_submissions(*, round_id: int, form_id: str | None = None) -> QuerySet:
    """The submissions a round's tables, exports and risk figures count:
    current (not replaced by an edit), processed, not a refused interview,
    not rejected, and valid — or approved by a supervisor despite its
    problems. :func:`submission_counts` is the same rule for one row."""
    from surveys.models import Submission

    qs = Submission.objects.filter(COUNTED, round_id=round_id)
    return qs.filter(form_id=form_id) if form_id else qs


def submission_counts(submission) -> bool:
    """Whether one submission counts in its round's tables (the rule of :func:`counted_submissions`)."""
    from surveys.models import Submission

    return bool(submission.is_current and submission.answers is not None and submission.consent is not False
                and submission.review_status != Submission.Review.NOT_APPROVED
                and (submission.validation == Submission.Validation.VALID
                     or submission.review_status == Submission.Review.APPROVED))


def record_export_for_user(*, user, uid: str):
    """One record export, for the one who asked for it (or a superuser)."""
    from surveys.models import RecordExport

    ensure_submission_viewer(user)
    export = RecordExport.objects.filter(uid=uid).select_related("round").first()
    if export is None:
        raise NotFound(f"No export '{uid}'.")
    if export.requested_by_id != user.pk and not user.is_superuser:
        raise Forbidden("This export belongs to someone else.")
    return export


def exports_waiting(*, older_than: timedelta) -> list[int]:
    """Ids of record exports still pending ``older_than`` after they were asked for (the broker was down)."""
    from surveys.models import RecordExport

    return list(RecordExport.objects.filter(status=RecordExport.Status.PENDING,
                                            created_at__lte=timezone.now() - older_than)
                .order_by("created_at").values_list("pk", flat=True))


def submissions_unprocessed(*, older_than: timedelta = timedelta(0), form_id: str | None = None) -> list[int]:
    """Ids of complete submissions still waiting, oldest first."""
    from surveys.models import Submission

    qs = Submission.objects.filter(processing=Submission.Processing.PENDING, complete=True,
                                   received_at__lte=timezone.now() - older_than)
    if form_id:
        qs = qs.filter(form_id=form_id)
    return list(qs.order_by("received_at", "id").values_list("id", flat=True))


@dataclass(frozen=True)
class ReportChoices:
    """What a round's report can be asked for: its forms, and for one form its languages and groupings."""

    forms: list[str]
    form_id: str
    languages: list[str]
    by_options: list[str]


def round_report_choices(*, round_: Round, form_id: str | None = None) -> ReportChoices:
    """The round's forms (the latest imported first when none is asked for)."""
    versions = list(round_.questionnaires.order_by("-created_at", "-id").values_list("form_id", "schema"))
    forms = sorted({f for f, _ in versions})
    chosen = form_id or (versions[0][0] if versions else "")
    schema = next((schema for f, schema in versions if f == chosen), {"fields": []})
    by = ["location"] + [f["name"] for f in schema["fields"] if f["type"] == "select_one"
                         and f.get("privacy") not in ("identifier", "pseudonym")]
    return ReportChoices(forms=forms, form_id=chosen, languages=schema.get("languages", []), by_options=by)
