"""Issue 15 item 2: an interview's page reads as a person reads it — labels in the
chosen language beside the codes, groups as sections, repeats as tables, the
metadata in a collapsed technical section — and shows no identifying answer to
any role."""

import re

import pytest
from django.contrib.auth.models import Group

from enumerators.models import Enumerator
from enumerators.services.roles import roles_ensure
from surveys.models import Submission
from surveys.services.geo import distance_km
from surveys.services.ingest import Sender, submission_ingest_xml
from surveys.services.processing import submission_process
from tests.factories import AssignmentFactory, EnumeratorFactory, UserFactory
from tests.surveys.api.kobo.conftest import ALMATY, household_instance

pytestmark = pytest.mark.django_db


@pytest.fixture
def interview(household):
    """A woman's interview of the household form by enum01 (supervised by sup1): two household members
    (40 and 12), reasons work and family, name, passport and GPS answered."""
    roles_ensure()
    supervisor = UserFactory(username="sup1", is_staff=True)
    supervisor.groups.add(Group.objects.get(name="Supervisors"))
    enumerator = EnumeratorFactory(user=UserFactory(username="enum01"), supervisor=supervisor)
    AssignmentFactory(enumerator=enumerator, round=household.round)
    xml = household_instance(sex="female", members=("40", "12"), reasons="work family", income="250.5",
                             name="Gulnara Saidova", passport="N7654321")
    sub = submission_ingest_xml(xml=xml, sender=Sender(user=enumerator.user, device_id="collect:ABC")).submission
    submission_process(submission_id=sub.pk)
    return Submission.objects.get(pk=sub.pk)


def page(client, user, sub, language="en") -> str:
    client.force_login(user)
    response = client.get(f"/admin/surveys/submission/{sub.pk}/change/", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return " ".join(response.content.decode().split())


def answers_html(html: str) -> str:
    return html[html.index('<div class="module mtm-answers" id="answers">'):html.index("Technical details")
                if "Technical details" in html else html.index("Технические сведения")]


def test_answers_by_section_with_labels_beside_codes(client, interview):
    html = page(client, UserFactory(username="root", is_staff=True, is_superuser=True), interview)
    answers = answers_html(html)

    # The form's order: the group resp, then the questions at the top level (no heading of their own).
    assert re.findall(r"<h2>([^<]+)</h2>", answers) == ["Respondent"]
    assert answers.index('data-path="resp/sex"') < answers.index('data-path="country"')
    assert ('<div class="mtm-answer" data-path="resp/sex"><div class="q">Sex</div><div class="a">'
            '<span class="mtm-choice">Female <code>female</code></span></div></div>') in answers
    assert ('<div class="mtm-answer" data-path="reasons"><div class="q">Reasons</div><div class="a">'
            '<span class="mtm-choice">Work <code>work</code></span><br>'
            '<span class="mtm-choice">Family <code>family</code></span></div></div>') in answers
    assert ('<div class="mtm-answer" data-path="country"><div class="q">Country of origin</div><div class="a">'
            '<span class="mtm-choice">Uzbekistan <code>uz</code></span></div></div>') in answers
    assert '<div class="q">Income</div><div class="a">250.5</div>' in answers


def test_a_repeat_is_a_table(client, interview):
    answers = answers_html(page(client, UserFactory(username="root", is_staff=True, is_superuser=True), interview))

    assert ('<h3 class="mtm-repeat-title">Household member <span class="mtm-quiet">2 entries</span></h3>'
            in answers)
    assert ('<table class="mtm-repeat" data-path="member"><thead><tr><th scope="col">#</th>'
            '<th scope="col">Age</th></tr></thead> <tbody><tr><td>1</td><td>40</td></tr>'
            '<tr><td>2</td><td>12</td></tr></tbody></table>') in answers
    assert "member_age" not in answers and "{" not in answers


def test_metadata_sits_in_a_collapsed_technical_section(client, interview):
    html = page(client, UserFactory(username="root", is_staff=True, is_superuser=True), interview)
    answers = answers_html(html)
    technical = html[html.index('<fieldset class="module aligned collapse"'):]

    for path in ("start", "end", "meta/instanceID"):
        assert f'data-path="{path}"' not in answers
        assert f"<th>{path}</th>" in technical
    assert technical.index("<details><summary>") < technical.index("Technical details") \
        < technical.index(interview.raw_sha256) < technical.index("</details>")


def test_labels_in_russian_for_a_russian_reader(client, interview):
    html = page(client, UserFactory(username="root", is_staff=True, is_superuser=True), interview, "ru")
    answers = answers_html(html)

    assert '<html lang="ru"' in html and "Выйти" in html  # Django's own Russian admin
    assert re.findall(r"<h2>([^<]+)</h2>", answers) == ["Респондент"]
    assert '<div class="q">Пол</div><div class="a"><span class="mtm-choice">Женский <code>female</code>' in answers
    assert '<th scope="col">Возраст</th>' in answers


@pytest.mark.parametrize("role", ["superuser", "supervisor", "analyst", "data protection"])
def test_no_role_sees_an_identifying_answer(client, interview, role):
    user = UserFactory(username="reader", is_staff=True, is_superuser=role == "superuser")
    if role == "supervisor":
        user = UserFactory(username="sup1")
    elif role != "superuser":
        user.groups.add(Group.objects.get(name={"analyst": "Analysts", "data protection": "Data protection"}[role]))
    html = page(client, user, interview)

    assert "Gulnara" not in html and "Saidova" not in html and 'data-path="resp/name"' not in html
    assert "N7654321" not in html  # the passport is a pseudonym: its keyed hash only
    # The true GPS point is not there; the one shown is displaced by at least the round's 0.5 km (its digits
    # may share a prefix with the true point's by chance: the distance is what protects).
    assert " ".join(ALMATY.split()[:2]) not in html and "43.25 76.9" not in html
    shown = re.search(r'data-path="resp/gps"><div class="q">[^<]*</div><div class="a">([-\d.]+) ([-\d.]+)<', html)
    true_lat, true_lon = (float(v) for v in ALMATY.split()[:2])
    assert 0.5 <= distance_km(true_lat, true_lon, float(shown[1]), float(shown[2])) <= 10.0
    assert Enumerator.objects.get(user__username="enum01").supervisor.username == "sup1"
