"""The demo a supervisor can look at right after `make demo`: the MTM
Kazakhstan survey with rounds 3 (closed) and 4 (open), the round-4
questionnaire, 7 regions and 3 cities, 15 enumerators (5 men, 10 women, as in
the round-4 report), a supervisor, an admin, and 300 sample interviews sent
through the ingest service as the enumerators' tablets would (processed when
the load commits).

The story it tells is that of a round under way: round 4 began 9 days before
the first load and runs 61 days; the interviews are spread over its first 10
days and reached the server after they ended (most the same evening, some the
next day, a few days later); the enumerators' targets follow their location
(Almaty, Astana and Shymkent need more interviews), so the big cities' teams
are behind and the others ahead. Round 3 closed before it. Idempotent: a second
load (on any later day) resends the same interviews, which are recognised and
not stored twice."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from enumerators.models import Assignment, AssignmentQuota, Enumerator
from enumerators.roles import SUPERVISORS
from enumerators.services.accounts import enumerator_create_or_update
from enumerators.services.roles import roles_ensure
from surveys.demo.sample import demo_instances
from surveys.errors import SubmissionConflict
from surveys.locations_kz import ensure_kazakhstan
from surveys.models import Location, Round, Survey
from surveys.services.ingest import Sender, submission_ingest_xml
from surveys.services.questionnaires import questionnaire_import

FORMS = Path(__file__).parent / "forms"
SURVEY_SLUG = "mtm-kz-imw"
ROUND4_LOCATIONS = ["KZ-11", "KZ-15", "KZ-19", "KZ-23", "KZ-35", "KZ-47", "KZ-61", "KZ-71", "KZ-75", "KZ-79"]
#: (username, first name, sex); 5 men and 10 women as in the seed's round 4.
ENUMERATORS = [
    ("enum01", "Aidos", "m"), ("enum02", "Yerlan", "m"), ("enum03", "Nurlan", "m"), ("enum04", "Daulet", "m"),
    ("enum05", "Timur", "m"), ("enum06", "Aigerim", "f"), ("enum07", "Dana", "f"), ("enum08", "Madina", "f"),
    ("enum09", "Saule", "f"), ("enum10", "Zhanar", "f"), ("enum11", "Aliya", "f"), ("enum12", "Gulnara", "f"),
    ("enum13", "Asel", "f"), ("enum14", "Kamila", "f"), ("enum15", "Dinara", "f"),
]
SAMPLE_SUBMISSIONS = 300
ENUMERATOR_PASSWORD = "enum-pass"
#: Round 4's days gone by at the first load, its length, and how many times a location's share of the
#: round's target the big cities have (the others 1).
DAYS_DONE, ROUND_DAYS = 10, 61
CITY_WEIGHTS = {"KZ-75": 3, "KZ-71": 2, "KZ-79": 2}


@dataclass(frozen=True)
class DemoSummary:
    survey: Survey
    rounds: list[Round]
    enumerators: int
    form: str
    submissions: int


@transaction.atomic
def demo_load() -> DemoSummary:
    groups = roles_ensure()
    User = get_user_model()
    admin = User.objects.filter(username="admin").first()
    if admin is None:
        User.objects.create_superuser("admin", "admin@example.org", "admin")
    supervisor, created = User.objects.get_or_create(
        username="supervisor", defaults={"first_name": "Sholpan", "last_name": "(supervisor)", "is_staff": True}
    )
    if created:
        supervisor.set_password("supervisor")
        supervisor.save()
    supervisor.groups.add(groups[SUPERVISORS])

    survey, _ = Survey.objects.get_or_create(slug=SURVEY_SLUG, defaults={
        "name": "MTM Kazakhstan — international migrant workers survey",
        "description": "IOM Mobility Tracking Matrix: international migrant workers in 7 regions and 3 cities.",
    })
    ensure_kazakhstan(Location)
    locations = list(Location.objects.filter(code__in=ROUND4_LOCATIONS).order_by("code"))
    start = timezone.localdate() - dt.timedelta(days=DAYS_DONE - 1)
    end = start + dt.timedelta(days=ROUND_DAYS - 1)
    start3 = start - dt.timedelta(days=150)
    end3 = start3 + dt.timedelta(days=45)
    round3, _ = Round.objects.get_or_create(survey=survey, number=3, defaults={
        "title": f"Round 3 ({_months(start3, end3)})", "start_date": start3,
        "end_date": end3, "status": Round.Status.CLOSED, "target_sample": 1700,
        "sex_question": "sex"})
    round4, _ = Round.objects.get_or_create(survey=survey, number=4, defaults={
        "title": f"Round 4 ({_months(start, end)})", "start_date": start, "end_date": end,
        "status": Round.Status.OPEN, "target_sample": 1845, "sex_question": "sex",
        "checks": {"location_field": "location/location", "ranges": {"age": [14, 80], "hours_day": [0, 16]}},
        "privacy": {"consent_field": "consent", "gps": "displace", "k": 3, "retention_days": 365}})
    round3.locations.set(locations)
    round4.locations.set(locations)

    source = (FORMS / "mtm_kz_r4.md").read_bytes()
    form = questionnaire_import(source=source, filename="mtm_kz_r4.md", survey_slug=SURVEY_SLUG,
                                round_number=4).questionnaire

    homes = [locations[index % len(locations)].code for index in range(len(ENUMERATORS))]
    targets = _targets(round4.target_sample, homes)
    accounts = {}
    for index, (username, first_name, sex) in enumerate(ENUMERATORS):
        exists = User.objects.filter(username=username).exists()
        enumerator = enumerator_create_or_update(
            username=username, password=None if exists else ENUMERATOR_PASSWORD, sex=sex, first_name=first_name,
            supervisor_username="supervisor", form_ids=[form.form_id], location_codes=[homes[index]])
        _quota(enumerator, round4, targets[index], homes[index])
        accounts[username] = enumerator.user
    received = 0
    # The same interviews on every load: dated from the round's stored start, none after its first load.
    first_day = round4.start_date or start
    for item in demo_instances(count=SAMPLE_SUBMISSIONS, seed=4, first_day=first_day, days=DAYS_DONE,
                               until=round4.created_at):
        try:
            result = submission_ingest_xml(xml=item.xml, sender=Sender(user=accounts[item.enumerator],
                                                                       device_id=_device_id(item.xml)),
                                           received_at=item.received_at)
        except SubmissionConflict:
            continue  # loaded before with an older version of the demo form: that interview stays as it was
        received += result.created
    return DemoSummary(survey=survey, rounds=[round3, round4], enumerators=len(ENUMERATORS),
                       form=f"{form.form_id} {form.version}", submissions=received)


def _months(start: dt.date, end: dt.date) -> str:
    """``November 2026 – January 2027`` (English: the demo's titles are data, as an administrator types them)."""
    return f"{_MONTHS[start.month - 1]} {start.year} – {_MONTHS[end.month - 1]} {end.year}"


_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"]


def _targets(total: int, homes: list[str]) -> list[int]:
    """Each enumerator's share of the round's target by the weight of their location (the remainder of the
    rounding to the last)."""
    weights = [CITY_WEIGHTS.get(code, 1) for code in homes]
    shares = [total * w // sum(weights) for w in weights]
    shares[-1] += total - sum(shares)
    return shares


def _device_id(xml: bytes) -> str:
    start = xml.find(b"<deviceid>")
    return xml[start + 10: xml.find(b"</deviceid>")].decode() if start >= 0 else ""


def _quota(enumerator: Enumerator, round_: Round, total: int, location_code: str) -> None:
    """The seed's sex split (83% men, 17% women) as each enumerator's quota."""
    assignment = Assignment.objects.get(enumerator=enumerator, round=round_)
    assignment.target_total = total
    assignment.target_male = round(total * 0.83)
    assignment.target_female = total - assignment.target_male
    assignment.save()
    AssignmentQuota.objects.update_or_create(
        assignment=assignment, location=Location.objects.get(code=location_code), defaults={"target": total})
