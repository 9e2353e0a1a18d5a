"""Respondents, known only by the keyed hash of a round's pseudonym answers."""

from __future__ import annotations

from surveys.models import Respondent


def respondent_link(*, survey_id: int, key: str | None, consent: bool | None, round_id: int) -> Respondent | None:
    """The respondent an interview belongs to (created on first sight), so
    one person's interviews link across rounds without saying who they are."""
    if not key:
        return None
    respondent, _ = Respondent.objects.get_or_create(survey_id=survey_id, key=key,
                                                     defaults={"first_round_id": round_id})
    state = (respondent.consent if consent is None
             else Respondent.Consent.GIVEN if consent else Respondent.Consent.REFUSED)
    if respondent.consent != state:
        respondent.consent = state
        respondent.save(update_fields=["consent"])
    return respondent
