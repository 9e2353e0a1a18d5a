"""The enumerator roster: one row is an enumerator's account and their
assignment to one round, with its targets and per-location quotas."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext as _

from enumerators.models import Assignment, AssignmentQuota
from enumerators.services.accounts import _locations, enumerator_create_or_update
from mtm.errors import InvalidInput, NotFound
from surveys.models import Round


@dataclass(frozen=True)
class RosterRow:
    """One parsed roster line. ``quotas`` maps location codes to targets."""

    username: str
    sex: str | None = None
    first_name: str = ""
    last_name: str = ""
    phone: str | None = None
    supervisor: str | None = None
    password: str | None = None
    survey: str = ""
    round_number: int | None = None
    locations: list[str] = field(default_factory=list)
    target_total: int = 0
    target_male: int = 0
    target_female: int = 0
    quotas: dict[str, int] = field(default_factory=dict)


@transaction.atomic
def roster_row_apply(*, row: RosterRow) -> Assignment | None:
    """Create or update the enumerator, then (when the row names a round) their
    assignment to it: targets set, locations and quotas replaced by the row's
    (a quota's location is one of the assignment's). Running it twice leaves
    the same rows. :class:`InvalidInput` / :class:`NotFound` name what is wrong."""
    if row.target_male + row.target_female > row.target_total:
        raise InvalidInput(_("target_male (%(male)s) + target_female (%(female)s) is more than target_total "
                             "(%(total)s).") % {"male": row.target_male, "female": row.target_female,
                                                "total": row.target_total})
    if sum(row.quotas.values()) > row.target_total:
        raise InvalidInput(_("The location quotas add up to %(sum)s, more than target_total (%(total)s).")
                           % {"sum": sum(row.quotas.values()), "total": row.target_total})
    round_ = _round(row)
    codes = list(dict.fromkeys([*row.locations, *row.quotas]))
    locations = _locations(codes)
    enumerator = enumerator_create_or_update(
        username=row.username, password=_new_password(row), sex=row.sex, phone=row.phone,
        supervisor_username=row.supervisor or None, first_name=row.first_name, last_name=row.last_name)
    if round_ is None:
        if codes or row.target_total:
            raise InvalidInput(_("Locations, targets and quotas need a survey and round."))
        return None
    assignment, _created = Assignment.objects.update_or_create(
        enumerator=enumerator, round=round_,
        defaults={"target_total": row.target_total, "target_male": row.target_male,
                  "target_female": row.target_female})
    assignment.locations.set(locations)
    by_code = {loc.code: loc for loc in locations}
    assignment.quotas.exclude(location__code__in=list(row.quotas)).delete()
    for code, target in row.quotas.items():
        AssignmentQuota.objects.update_or_create(assignment=assignment, location=by_code[code],
                                                 defaults={"target": target})
    return assignment


def _new_password(row: RosterRow) -> str | None:
    """The row's password unless the account already has it (a re-import must not re-hash it)."""
    if not row.password:
        return None
    user = get_user_model().objects.filter(username=row.username).first()
    return None if user is not None and user.check_password(row.password) else row.password


def _round(row: RosterRow) -> Round | None:
    if not row.survey and row.round_number is None:
        return None
    if not row.survey or row.round_number is None:
        raise InvalidInput(_("Give both survey and round, or neither."))
    round_ = Round.objects.filter(survey__slug=row.survey, number=row.round_number).first()
    if round_ is None:
        raise NotFound(_("No round %(round)s of survey '%(survey)s'.") % {"round": row.round_number,
                       "survey": row.survey})
    return round_
