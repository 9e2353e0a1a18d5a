import pytest

from surveys.services.questionnaires import questionnaire_import
from tests.factories import AssignmentFactory, EnumeratorFactory, RoundFactory, UserFactory, location
from tests.forms import form_bytes


@pytest.fixture
def form(db):
    """The checks form in round 4 (its location answered in `place`), enumerators enum01–enum04 in Almaty."""
    round_ = RoundFactory()
    round_.checks = {"location_field": "place"}
    round_.save()
    q = questionnaire_import(source=form_bytes("checks.md"), filename="checks.md", survey_slug="mtm-kz",
                             round_number=4).questionnaire
    for n in range(1, 5):
        assignment = AssignmentFactory(enumerator=EnumeratorFactory(user=UserFactory(username=f"enum0{n}")),
                                       round=q.round)
        assignment.locations.add(location("KZ-75"))
    return q




@pytest.fixture
def privacy_form(db):
    """The privacy form in round 4 (consent asked, location answered in resp/place); enum01 in Almaty."""
    round_ = RoundFactory()
    round_.checks = {"location_field": "resp/place"}
    round_.privacy = {"consent_field": "consent"}
    round_.save()
    q = questionnaire_import(source=form_bytes("privacy.md"), filename="privacy.md", survey_slug="mtm-kz",
                             round_number=4).questionnaire
    assignment = AssignmentFactory(enumerator=EnumeratorFactory(user=UserFactory(username="enum01")),
                                   round=q.round)
    assignment.locations.add(location("KZ-75"))
    return q
