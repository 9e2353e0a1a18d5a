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
def teams(form):
    """Round 4 of the checks form (10 days, half gone today, target 40) with two supervised teams:
    supA → enum01, enum02; supB → enum03, enum04; an analyst, a data-protection officer, a superuser;
    another survey's round 1 (the household form) where only enum03 (team B) works. Submissions: enum01
    3 men (one aged 92: outlier) and 1 woman in Almaty; enum02 1 man in Astana with Almaty GPS
    (gps_outside_area); enum03 2 women in Astana, one then not approved by supB."""
    import datetime as dt
    from types import SimpleNamespace

    from django.contrib.auth.models import Group
    from django.utils import timezone

    from enumerators.models import Assignment, AssignmentQuota, Enumerator
    from enumerators.services.roles import roles_ensure
    from surveys.models import Round, Survey
    from surveys.round_settings import CHECKS
    from surveys.services.review import submission_review
    from tests.submissions import send_checks_instance

    roles_ensure()
    today = timezone.localdate()
    round_ = form.round
    round_.start_date, round_.end_date, round_.target_sample = today - dt.timedelta(days=4), \
        today + dt.timedelta(days=5), 40
    # The round runs this week (for the dashboard's days gone) but the interviews are dated 2024-05-02:
    # every check but interview_dates, which would flag them all as dated before the round.
    round_.checks = {**round_.checks, "enabled": [c for c in CHECKS if c != "interview_dates"]}
    round_.save()
    users = SimpleNamespace(
        admin=UserFactory(username="admin", is_staff=True, is_superuser=True),
        supA=UserFactory(username="supA", is_staff=True), supB=UserFactory(username="supB", is_staff=True),
        analyst=UserFactory(username="analyst", is_staff=True), dpo=UserFactory(username="dpo", is_staff=True))
    for name, group in (("supA", "Supervisors"), ("supB", "Supervisors"), ("analyst", "Analysts"),
                        ("dpo", "Data protection")):
        getattr(users, name).groups.add(Group.objects.get(name=group))
    targets = {"enum01": (10, 8, 2, {"KZ-75": 6, "KZ-71": 4}), "enum02": (10, 8, 2, {"KZ-75": 10}),
               "enum03": (2, 1, 1, {"KZ-71": 2}), "enum04": (0, 0, 0, {})}
    for username, (total, male, female, quotas) in targets.items():
        Enumerator.objects.filter(user__username=username).update(
            supervisor=users.supA if username in ("enum01", "enum02") else users.supB)
        assignment = Assignment.objects.get(enumerator__user__username=username, round=round_)
        assignment.target_total, assignment.target_male, assignment.target_female = total, male, female
        assignment.save()
        for code, target in quotas.items():
            AssignmentQuota.objects.create(assignment=assignment, location=location(code), target=target)
            assignment.locations.add(location(code))
    other_round = Round.objects.create(survey=Survey.objects.create(slug="other", name="Other survey"), number=1)
    AssignmentFactory(enumerator=Enumerator.objects.get(user__username="enum03"), round=other_round)
    questionnaire_import(source=form_bytes("household.md"), filename="household.md", survey_slug="other",
                         round_number=1)

    subs = SimpleNamespace(
        a1=[send_checks_instance("enum01", name="Zhanibek Rakhimov 1"),
            send_checks_instance("enum01", name="Zhanibek Rakhimov 2"),
            send_checks_instance("enum01", name="Zhanibek Rakhimov 3", age="92"),
            send_checks_instance("enum01", name="Zhanibek Rakhimov 4", sex="female")],
        a2=[send_checks_instance("enum02", name="Zhanibek Rakhimov 5", place="kz_71")],
        b3=[send_checks_instance("enum03", name="Zhanibek Rakhimov 6", sex="female", place="kz_71", gps=ASTANA),
            send_checks_instance("enum03", name="Zhanibek Rakhimov 7", sex="female", place="kz_71", gps=ASTANA)],
    )
    submission_review(submission_id=subs.b3[1].pk, status="not_approved", by=users.supB)
    return SimpleNamespace(round=round_, other_round=other_round, users=users, subs=subs, today=today)


ASTANA = "51.1500 71.4500 350 5"


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


@pytest.fixture
def kazakhstan(transactional_db):
    """The locations of migration 0002 in a transactional test: an earlier one may have flushed them."""
    from surveys.locations_kz import ensure_kazakhstan
    from surveys.models import Location

    ensure_kazakhstan(Location)
