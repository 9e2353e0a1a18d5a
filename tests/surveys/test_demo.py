import base64

import pytest
from django.core.management import call_command
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
        assert (a.target_total, a.target_male, a.target_female) == (123, 102, 21)

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
    assert Submission.objects.exclude(location=None).count() == 291  # 9 refused consent: no location answered
    assert Submission.objects.filter(device__isnull=False).count() == 300
    assert SubmissionFlag.objects.filter(check_name="interview_dates").count() == 0  # dated within round 4
