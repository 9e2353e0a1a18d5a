import pytest

from surveys.models import Round
from surveys.services.questionnaires import questionnaire_import
from surveys.services.review import submission_review
from tests.factories import AssignmentFactory, EnumeratorFactory, RoundFactory, UserFactory, location
from tests.forms import form_bytes
from tests.reports import ROUND3, ROUND4, send_report_row


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


@pytest.fixture
def rounds(db):
    """Round 3 and round 4 of the report form, sent and processed; the 7th interview of round 4 rejected."""
    enumerator = EnumeratorFactory(user=UserFactory(username="enum01"))
    for number, form_id, rows in ((3, "report3", ROUND3), (4, "report", ROUND4)):
        round_ = RoundFactory(number=number)
        round_.privacy = {"small_cell": 2}
        round_.save()
        source = form_bytes("report.md").replace(b"| | report | 1 |", f"| | {form_id} | 1 |".encode())
        questionnaire_import(source=source, filename=f"{form_id}.md", survey_slug="mtm-kz", round_number=number)
        AssignmentFactory(enumerator=enumerator, round=round_)
        subs = [send_report_row(form_id, row) for row in rows]
    reviewer = UserFactory(username="sup1", is_superuser=True)
    submission_review(submission_id=subs[6].pk, status="not_approved", by=reviewer)
    return Round.objects.get(number=4)
