import base64

import pytest
from django.core.management import call_command
from django.db import models
from lxml import etree

from enumerators.models import Assignment, Enumerator, User
from surveys.models import Questionnaire, Round, Submission, SubmissionFlag


def basic(username, password):
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


@pytest.mark.django_db
class TestDemo:
    def test_loads_the_round4_demo_and_loading_twice_changes_nothing(self):
        call_command("load_demo")
        counts = (User.objects.count(), Enumerator.objects.count(), Assignment.objects.count(),
                  Questionnaire.objects.count(), Round.objects.count())
        call_command("load_demo")

        assert (User.objects.count(), Enumerator.objects.count(), Assignment.objects.count(),
                Questionnaire.objects.count(), Round.objects.count()) == counts == (17, 15, 15, 1, 2)
        assert Submission.objects.count() == 300
        assert list(Enumerator.objects.values_list("sex", flat=True).order_by("sex")) == ["f"] * 10 + ["m"] * 5
        round4 = Round.objects.get(number=4)
        assert (round4.status, round4.target_sample, round4.locations.count()) == ("open", 1845, 10)
        assert sorted(round4.locations.values_list("level", flat=True)).count("city") == 3
        a = Assignment.objects.get(enumerator__user__username="enum01")
        # enum01 works in Kokshetau (KZ-11): 1845 × 1/19 of the weights (Almaty 3, Astana and Shymkent 2)
        assert (a.target_total, a.target_male, a.target_female) == (97, 81, 16)

    def test_demo_form_has_follow_ups_languages_and_privacy(self):
        call_command("load_demo")
        schema = Questionnaire.objects.get(form_id="mtm_kz_r4").schema
        fields = {f["name"]: f for f in schema["fields"]}

        assert schema["languages"] == ["English (en)", "Russian (ru)"]
        assert fields["pregnancy_care"]["relevant"] == "/data/demographics/sex = 'female'"
        assert fields["resp_name"]["privacy"] == "identifier"
        assert fields["gps"]["privacy"] == "location"
        assert fields["sex"]["privacy"] == "quasi"
        assert fields["household_members"]["type"] == "repeat"
        assert [c["name"] for c in schema["choices"][fields["sex"]["list_name"]]] == ["male", "female"]

    def test_people_can_log_in(self, client):
        call_command("load_demo")
        listed = client.get("/formList", **basic("enum01", "enum-pass"))
        ids = etree.fromstring(listed.content).findall("{http://openrosa.org/xforms/xformsList}xform")
        assert [x.findtext("{http://openrosa.org/xforms/xformsList}formID") for x in ids] == ["mtm_kz_r4"]

        assert client.login(username="supervisor", password="supervisor")
        assert client.get("/admin/surveys/round/").status_code == 200
        assert client.get("/admin/enumerators/enumerator/").status_code == 200
        client.logout()
        assert client.login(username="admin", password="admin")
        assert client.get("/admin/").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_demo_interviews_are_processed_valid_and_spread_over_the_team():
    call_command("load_demo")

    assert Submission.objects.count() == 300
    assert set(Submission.objects.values_list("processing", "validation")) == {("processed", "valid")}
    assert Submission.objects.values("submitted_by").distinct().count() == 15
    assert Submission.objects.exclude(location=None).count() == 289  # 11 refused consent: no location answered
    assert Submission.objects.filter(device__isnull=False).count() == 300
    assert SubmissionFlag.objects.filter(check_name="interview_dates").count() == 0  # dated within round 4


@pytest.mark.django_db(transaction=True)
def test_demo_tells_the_story_of_a_round_under_way():
    """Issue 15: the interviews are spread over the round's first days and reached the server after they
    ended; the big cities' enumerators are behind, the furthest behind first."""
    import datetime as dt

    from django.utils import timezone

    from surveys.selectors.progress import round_progress

    call_command("load_demo")
    round4 = Round.objects.get(number=4)
    today = timezone.localdate()
    assert (round4.start_date, round4.end_date) == (today - dt.timedelta(days=9), today + dt.timedelta(days=51))
    days = set(Submission.objects.exclude(interview_date=None).values_list("interview_date", flat=True))
    assert min(days) == round4.start_date and max(days) <= today and len(days) >= 9
    assert not Submission.objects.filter(received_at__lt=models.F("ended_at")).exists()
    assert not Submission.objects.filter(received_at__gt=round4.created_at).exists()
    received_days = {timezone.localdate(t) for t in Submission.objects.values_list("received_at", flat=True)}
    assert len(received_days) >= 9  # not all "received today"

    p = round_progress(user=User.objects.get(username="supervisor"), round_id=round4.pk)
    assert p.received_total == 300 and p.quota.done == 289
    assert p.standing == {"counted": 289, "refused": 11}
    behind = [e.username for e in p.behind]
    assert behind[0] == "enum09" and set(behind[1:3]) == {"enum08", "enum10"}  # Almaty, then Astana and Shymkent
    assert [e.shortfall for e in p.behind] == sorted((e.shortfall for e in p.behind), reverse=True)
