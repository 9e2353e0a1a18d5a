"""django-import-export: the enumerator roster (CSV / XLSX), one row per
enumerator and round: account, supervisor, assignment targets and
per-location quotas. The resource parses a row and calls
:func:`enumerators.services.roster.roster_row_apply`; an import is all or
nothing (:class:`mtm.resources.AtomicModelResource`)."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from import_export.fields import Field

from enumerators.models import Assignment
from enumerators.services.roster import RosterRow, roster_row_apply
from mtm.errors import MtmError
from mtm.resources import AtomicModelResource

COLUMNS = ["username", "first_name", "last_name", "sex", "phone", "supervisor", "password", "survey", "round",
           "locations", "target_total", "target_male", "target_female", "quotas"]
_SEXES = {"m": "m", "male": "m", "f": "f", "female": "f"}
_QUOTA = re.compile(r"^\s*([A-Za-z0-9_.-]+)\s*[:=]\s*(\d+)\s*$")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _whole(value: Any, column: str, errors: dict[str, str]) -> int:
    text = _text(value)
    if not text:
        return 0
    if not text.isdigit():
        errors[column] = _("'%(value)s' is not a whole number of interviews.") % {"value": text}
        return 0
    return int(text)


def roster_row_parse(row: dict[str, Any]) -> RosterRow:
    """A roster line as a :class:`RosterRow`; :class:`ValidationError` with a
    message per column for what cannot be read."""
    errors: dict[str, str] = {}
    username = _text(row.get("username"))
    if not username:
        errors["username"] = _("A username is required.")
    sex_text = _text(row.get("sex")).lower()
    if sex_text and sex_text not in _SEXES:
        errors["sex"] = _("'%(sex)s' is not a sex: use m or f.") % {"sex": sex_text}
    survey, round_text = _text(row.get("survey")), _text(row.get("round"))
    if not survey:
        errors["survey"] = _("The survey's slug is required (a roster row is an assignment to a round).")
    if not round_text.isdigit():
        errors["round"] = (_("'%(round)s' is not a round number.") % {"round": round_text} if round_text
                           else _("The round number is required."))
    quotas: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in _text(row.get("quotas")).split(";"))):
        match = _QUOTA.match(part)
        if match is None:
            errors["quotas"] = _("'%(quota)s' is not CODE:TARGET (e.g. KZ-75:60; KZ-11:40).") % {"quota": part}
            break
        quotas[match.group(1).upper()] = int(match.group(2))
    targets = {c: _whole(row.get(c), c, errors) for c in ("target_total", "target_male", "target_female")}
    if errors:
        raise ValidationError(errors)
    return RosterRow(
        username=username, sex=_SEXES.get(sex_text), first_name=_text(row.get("first_name")),
        last_name=_text(row.get("last_name")), phone=_text(row.get("phone")) or None,
        supervisor=_text(row.get("supervisor")) or None, password=_text(row.get("password")) or None,
        survey=survey, round_number=int(round_text),
        locations=[c.upper() for c in re.split(r"[\s,;]+", _text(row.get("locations"))) if c],
        quotas=quotas, **targets)


class RosterResource(AtomicModelResource):
    """Columns: username, first_name, last_name, sex (m/f), phone, supervisor
    (username), password (new accounts; never exported), survey (slug), round,
    locations (codes), target_total, target_male, target_female, quotas
    (``KZ-75:60; KZ-11:40``)."""

    username = Field(column_name="username", dehydrate_method="_username")
    first_name = Field(column_name="first_name", dehydrate_method="_first_name")
    last_name = Field(column_name="last_name", dehydrate_method="_last_name")
    sex = Field(column_name="sex", dehydrate_method="_sex")
    phone = Field(column_name="phone", dehydrate_method="_phone")
    supervisor = Field(column_name="supervisor", dehydrate_method="_supervisor")
    password = Field(column_name="password", dehydrate_method="_password")
    survey = Field(column_name="survey", dehydrate_method="_survey")
    round = Field(column_name="round", dehydrate_method="_round")
    locations = Field(column_name="locations", dehydrate_method="_locations")
    target_total = Field(column_name="target_total", dehydrate_method="_target_total")
    target_male = Field(column_name="target_male", dehydrate_method="_target_male")
    target_female = Field(column_name="target_female", dehydrate_method="_target_female")
    quotas = Field(column_name="quotas", dehydrate_method="_quotas")

    class Meta:
        model = Assignment
        fields = COLUMNS
        import_id_fields = ["username"]
        skip_unchanged = False

    def get_queryset(self):
        return (Assignment.objects.select_related("enumerator__user", "enumerator__supervisor", "round__survey")
                .prefetch_related("locations", "quotas__location").order_by("round", "enumerator__user__username"))

    # Import: parse, then one service call per row.
    def get_or_init_instance(self, instance_loader, row):
        parsed = roster_row_parse(row)
        instance = (Assignment.objects.filter(enumerator__user__username=parsed.username,
                                              round__survey__slug=parsed.survey, round__number=parsed.round_number)
                    .first()) if parsed.round_number is not None else None
        new = instance is None
        instance = instance or Assignment()
        setattr(instance, "_roster_row", parsed)  # noqa: B010 - carried to save_instance
        return instance, new

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        if import_validation_errors:
            raise ValidationError(import_validation_errors)

    def save_instance(self, instance, is_create, row, **kwargs):
        try:
            saved = roster_row_apply(row=getattr(instance, "_roster_row"))  # noqa: B009 - from get_or_init_instance
        except MtmError as err:
            raise ValidationError(err.message) from err
        if saved is None:  # roster_row_parse asks every row for its survey and round
            raise ValidationError(_("A roster row is an assignment to a round."))
        instance.pk = saved.pk
        instance.refresh_from_db()

    def save_m2m(self, instance, row, **kwargs):
        return None

    # Export (and the preview's before/after columns).
    def _username(self, a: Assignment) -> str:
        return a.enumerator.user.username if a.pk else ""

    def _first_name(self, a: Assignment) -> str:
        return a.enumerator.user.first_name if a.pk else ""

    def _last_name(self, a: Assignment) -> str:
        return a.enumerator.user.last_name if a.pk else ""

    def _sex(self, a: Assignment) -> str:
        return a.enumerator.sex if a.pk else ""

    def _phone(self, a: Assignment) -> str:
        return a.enumerator.phone if a.pk else ""

    def _supervisor(self, a: Assignment) -> str:
        return a.enumerator.supervisor.username if a.pk and a.enumerator.supervisor else ""

    def _password(self, a: Assignment) -> str:
        return ""

    def _survey(self, a: Assignment) -> str:
        return a.round.survey.slug if a.pk else ""

    def _round(self, a: Assignment) -> int | str:
        return a.round.number if a.pk else ""

    def _locations(self, a: Assignment) -> str:
        return " ".join(sorted(loc.code for loc in a.locations.all())) if a.pk else ""

    def _target_total(self, a: Assignment) -> int | str:
        return a.target_total if a.pk else ""

    def _target_male(self, a: Assignment) -> int | str:
        return a.target_male if a.pk else ""

    def _target_female(self, a: Assignment) -> int | str:
        return a.target_female if a.pk else ""

    def _quotas(self, a: Assignment) -> str:
        if not a.pk:
            return ""
        return "; ".join(f"{q.location.code}:{q.target}" for q in sorted(a.quotas.all(), key=lambda q: q.location.code))


