"""The Submissions API of INTERFACES.md."""

import pytest
from rest_framework.test import APIClient

from surveys.models import ReviewEvent, Submission
from surveys.services.geo import distance_km
from tests.clients import token_client
from tests.submissions import send_checks_instance as send


@pytest.fixture
def supervisor(db):
    return token_client("sup1", "view_submission", "review_submission")


@pytest.fixture
def analyst(db):
    return token_client("analyst1", "view_submission")


@pytest.mark.django_db
class TestSubmissionsApi:
    def test_detail_has_the_interface_shape_without_identifying_answers(self, form, supervisor):
        sub = send(age="92", name="Aziz Karimov")

        response = supervisor.get(f"/api/v1/submissions/{sub.instance_id}/")

        assert response.status_code == 200
        body = response.json()
        lat, lon = (float(x) for x in body["answers"].pop("gps").split())
        assert 0 < distance_km(lat, lon, 43.25, 76.90) <= 2.0  # displaced, within the urban limit
        assert body == {
            "instance_id": sub.instance_id, "form_id": "checks", "version": "1", "round": 4,
            "received_at": sub.received_at.isoformat(), "submitted_by": "enum01",
            "validation": {"status": "valid", "problems": []},
            "flags": [{"check": "outlier", "reason": "age 92 is outside 14–80."}],
            "review": {"status": "has_issues", "by": None, "at": sub.reviewed_at.isoformat()},
            "answers": {"start": "2024-05-02T10:00:00.000+05:00", "end": "2024-05-02T10:40:00.000+05:00",
                        "place": "kz_75", "sex": "male", "age": 92, "hours_day": 8,
                        "meta/instanceID": sub.instance_id},
        }
        assert b"Aziz" not in response.content
        assert b"43.2500 76.9000" not in response.content

    def test_list_filters(self, form, supervisor):
        clean = send()
        invalid = send(age="old")
        short = send(end="2024-05-02T10:05:00.000+05:00")

        def ids(query):
            response = supervisor.get(f"/api/v1/submissions/?{query}")
            assert response.status_code == 200
            return sorted(r["instance_id"] for r in response.json()["results"])

        assert ids("form=checks") == sorted([clean.instance_id, invalid.instance_id, short.instance_id])
        assert ids("status=invalid") == [invalid.instance_id]
        assert ids("status=valid&flag=short_interview") == [short.instance_id]
        assert ids("review=has_issues") == sorted([invalid.instance_id, short.instance_id])
        assert ids("review=none") == [clean.instance_id]
        assert ids("form=other") == []
        assert supervisor.get("/api/v1/submissions/?status=bad").status_code == 400
        page = supervisor.get("/api/v1/submissions/?limit=2").json()
        assert (page["count"], len(page["results"])) == (3, 2)

    def test_review_patch_records_the_change(self, form, supervisor):
        sub = send(age="92")

        response = supervisor.patch(f"/api/v1/submissions/{sub.instance_id}/review/",
                                    {"status": "approved", "comment": "Checked by phone"}, format="json")

        assert response.status_code == 200
        assert response.json()["review"]["status"] == "approved"
        assert response.json()["review"]["by"] == "sup1"
        assert list(ReviewEvent.objects.values_list("from_status", "to_status", "comment")) == [
            (None, "has_issues", "age 92 is outside 14–80."), ("has_issues", "approved", "Checked by phone")]

    def test_refused_patches_change_nothing(self, form, supervisor, analyst):
        sub = send()
        url = f"/api/v1/submissions/{sub.instance_id}/review/"

        assert analyst.patch(url, {"status": "approved"}, format="json").status_code == 403
        bad = supervisor.patch(url, {"status": "has_issues"}, format="json")
        assert bad.status_code == 400
        assert "not a review state" in bad.json()["detail"]
        assert supervisor.patch(url, {}, format="json").status_code == 400
        assert supervisor.patch("/api/v1/submissions/uuid:nope/review/", {"status": "approved"},
                                format="json").status_code == 404
        assert (Submission.objects.get(pk=sub.pk).review_status, ReviewEvent.objects.count()) == (None, 0)

    def test_accounts_without_the_permission_see_nothing(self, form, db):
        sub = send()
        enumerator = token_client("enum50")
        assert enumerator.get("/api/v1/submissions/").status_code == 403
        assert enumerator.get(f"/api/v1/submissions/{sub.instance_id}/").status_code == 403
        assert APIClient().get("/api/v1/submissions/").status_code == 401
