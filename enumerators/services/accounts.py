"""Writes on field staff: enumerator accounts and their assignments."""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from enumerators.models import Assignment, Enumerator, Sex
from mtm.errors import InvalidInput, NotFound
from surveys.models import Location, Questionnaire, Round


@transaction.atomic
def enumerator_create_or_update(
    *,
    username: str,
    password: str | None = None,
    sex: str | None = None,
    phone: str | None = None,
    supervisor_username: str | None = None,
    form_ids: Sequence[str] = (),
    location_codes: Sequence[str] = (),
    first_name: str = "",
    last_name: str = "",
) -> Enumerator:
    """Create the account and enumerator, or update the given attributes of
    an existing one. Each form in ``form_ids`` gives an assignment to the
    round of its current version (kept if it exists); ``location_codes`` are
    added to those assignments. Running it twice with the same arguments
    leaves the same rows."""
    User = get_user_model()
    if not username or not username.strip():
        raise InvalidInput(_("A username is required."))
    if sex is not None and sex not in Sex.values:
        raise InvalidInput(_("Sex must be one of %(allowed)s, not '%(sex)s'.") % {"allowed": ", ".join(Sex.values),
                                                                                 "sex": sex})
    locations = _locations(location_codes)
    rounds = [_current_round(form_id) for form_id in form_ids]
    supervisor = None
    if supervisor_username:
        supervisor = User.objects.filter(username=supervisor_username).first()
        if supervisor is None:
            raise NotFound(_("No supervisor account '%(username)s'.") % {"username": supervisor_username})
        if supervisor_username == username:
            raise InvalidInput(_("An enumerator cannot supervise themselves."))

    user, created = User.objects.get_or_create(username=username)
    if created and password is None:
        raise InvalidInput(_("A password is required for a new enumerator."))
    if password is not None:
        user.set_password(password)
    if first_name:
        user.first_name = first_name
    if last_name:
        user.last_name = last_name
    user.save()

    enumerator = Enumerator.objects.filter(user=user).first()
    if enumerator is None:
        if sex is None:
            raise InvalidInput(_("Sex (m or f) is required for a new enumerator."))
        enumerator = Enumerator(user=user, sex=sex)
    if sex is not None:
        enumerator.sex = sex
    if phone is not None:
        enumerator.phone = phone
    if supervisor is not None:
        enumerator.supervisor = supervisor
    enumerator.save()

    for round_ in rounds:
        assignment, _created = Assignment.objects.get_or_create(enumerator=enumerator, round=round_)
        if locations:
            assignment.locations.add(*locations)
    if locations and not rounds:
        for assignment in enumerator.assignments.all():
            assignment.locations.add(*locations)
    return enumerator


def _locations(codes: Sequence[str]) -> list[Location]:
    found = {loc.code: loc for loc in Location.objects.filter(code__in=codes)}
    missing = [code for code in codes if code not in found]
    if missing:
        raise NotFound(ngettext("Unknown location code: %(codes)s.", "Unknown location codes: %(codes)s.",
                                len(missing)) % {"codes": ", ".join(missing)})
    return [found[code] for code in codes]


def _current_round(form_id: str) -> Round:
    questionnaire = Questionnaire.objects.filter(form_id=form_id).select_related("round").first()
    if questionnaire is None:
        raise NotFound(_("No form '%(form_id)s' has been imported.") % {"form_id": form_id})
    return questionnaire.round


def user_language_set(*, user_id: int, language: str) -> bool:
    """Remember an account's interface language (one of ``LANGUAGES``; "" for the browser's). True when it
    changed; setting the same language again changes nothing."""
    if language and language not in dict(settings.LANGUAGES):
        raise InvalidInput(_("'%(language)s' is not an interface language.") % {"language": language})
    return bool(get_user_model().objects.filter(pk=user_id).exclude(language=language).update(language=language))
