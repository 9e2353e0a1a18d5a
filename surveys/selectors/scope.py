"""Who may see what: the roles' row-level scope.

A supervisor (group Supervisors, not a superuser, analyst or data-protection
officer) sees their team only: the enumerators whose supervisor they are,
their assignments, locations, rounds and submissions. Everyone else who may
see submissions sees all of them, anonymised; only the data-protection role
opens the raw store."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeGuard, TypeVar

from django.contrib.auth.models import AnonymousUser
from django.db.models import Model, Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from enumerators.roles import ANALYSTS, DATA_PROTECTION, SUPERVISORS
from mtm.errors import Forbidden, NotFound
from surveys.models import Location, Round

if TYPE_CHECKING:
    from enumerators.models import AnyUser, Assignment, Enumerator, User

M = TypeVar("M", bound=Model)


def may_see_submissions(user: AnyUser) -> bool:
    """Whether ``user`` may see submissions and what is made of them (anonymised)."""
    return bool(user.is_active and (user.is_superuser or user.has_perm("surveys.view_submission")))


def ensure_submission_viewer(user: AnyUser) -> User:
    """``user``, an account that may see submissions and what is made of them; else :class:`Forbidden`."""
    if isinstance(user, AnonymousUser) or not may_see_submissions(user):
        raise Forbidden(_("This account may not see submissions."))
    return user


#: Roles that see every survey (anonymised): a supervisor who also holds one of them is not limited to a team.
_ALL_SURVEY_ROLES = {ANALYSTS, DATA_PROTECTION}


def team_scoped(user: AnyUser) -> TypeGuard[User]:
    """True for a supervisor (group Supervisors, not a superuser, analyst or
    data-protection officer): they see only their team's work."""
    if not user.is_authenticated or user.is_superuser:
        return False
    names: set[str] | None = getattr(user, "_mtm_group_names", None)
    if names is None:  # once per request (the user object lives as long as the request)
        names = set(user.groups.values_list("name", flat=True))
        setattr(user, "_mtm_group_names", names)  # noqa: B010 - a memo on the user object
    return SUPERVISORS in names and not names.intersection(_ALL_SURVEY_ROLES)


def team_user_ids(user: AnyUser) -> list[int] | None:
    """The accounts of a supervisor's team (read once per request); None for a user not limited to a team."""
    if not team_scoped(user):
        return None
    team: list[int] | None = getattr(user, "_mtm_team_ids", None)
    if team is None:
        from enumerators.models import Enumerator

        team = list(Enumerator.objects.filter(supervisor=user).values_list("user_id", flat=True))
        setattr(user, "_mtm_team_ids", team)  # noqa: B010 - a memo on the user object
    return team


def within_scope(qs: QuerySet[M], *, user: AnyUser, prefix: str = "", field: str = "submitted_by_id") -> QuerySet[M]:
    """``qs`` (of submissions, or of rows reaching them through ``prefix``) cut to ``user``'s scope: a
    supervisor's team only, filtered by the team's user ids (a short list) so that the query uses the
    submissions' own indexes instead of a join."""
    team = team_user_ids(user)
    return qs if team is None else qs.filter(**{f"{prefix}{field}__in": team})


def enumerators_for_user(*, user: AnyUser) -> QuerySet[Enumerator]:
    """The enumerators ``user`` oversees: all for a superuser, analyst or
    data protection; a supervisor's team (``Enumerator.supervisor``)."""
    from enumerators.models import Enumerator

    qs = Enumerator.objects.select_related("user", "supervisor")
    return qs.filter(supervisor=user) if team_scoped(user) else qs


def assignments_for_user(*, user: AnyUser) -> QuerySet[Assignment]:
    from enumerators.models import Assignment

    qs = Assignment.objects.select_related("enumerator__user", "round__survey")
    return qs.filter(enumerator__supervisor=user) if team_scoped(user) else qs


def viewable_rounds(*, user: AnyUser) -> QuerySet[Round]:
    """The rounds ``user`` may monitor: a supervisor's are those of their team's assignments."""
    qs = Round.objects.select_related("survey")
    if team_scoped(user):
        qs = qs.filter(pk__in=assignments_for_user(user=user).values("round_id"))
    return qs


def viewable_locations(*, user: AnyUser) -> QuerySet[Location]:
    """The locations ``user`` may see: a supervisor's are those of their team's assignments and quotas."""
    qs = Location.objects.all()
    if team_scoped(user):
        from enumerators.models import AssignmentQuota

        assignments = assignments_for_user(user=user)
        qs = qs.filter(Q(assignments__in=assignments)
                       | Q(pk__in=AssignmentQuota.objects.filter(assignment__in=assignments).values("location_id")))
    return qs.distinct()


def round_for_user(*, user: AnyUser, round_id: int) -> Round:
    """A round ``user`` may monitor; :class:`NotFound` for one outside their team's (as for an unknown one)."""
    ensure_submission_viewer(user)
    round_ = viewable_rounds(user=user).filter(pk=round_id).first()
    if round_ is None:
        raise NotFound(_("No round %(round_id)s.") % {"round_id": round_id})
    return round_


#: Why a supervisor is refused the disclosure risk (the API's 403 and the round admin's risk field).
RISK_WHOLE_ROUND = gettext_lazy("The disclosure risk is worked out over the whole round's records; a supervisor's "
                                "account sees their team's records only.")


def round_for_risk(*, user: AnyUser, round_id: int) -> Round:
    """A round whose disclosure risk ``user`` may open (the v1 risk endpoint, the round admin's risk field):
    :class:`NotFound` as :func:`round_for_user`; :class:`Forbidden` for a supervisor, since the risk and the
    release step are figures of the whole round (a team's share of it would measure something else)."""
    round_ = round_for_user(user=user, round_id=round_id)
    if team_scoped(user):
        raise Forbidden(RISK_WHOLE_ROUND)
    return round_


def may_open_raw(user: AnyUser) -> bool:
    """Whether ``user`` may open the raw store (bodies, attachments): the data-protection role."""
    return bool(user.is_active and (user.is_superuser or user.has_perm("surveys.view_raw_submission")))
