"""Validation statuses per record and in bulk, through the review workflow."""

import pytest

from surveys.models import ReviewEvent, Submission

pytestmark = pytest.mark.django_db


def url(uid, pk):
    return f"/api/v2/assets/{uid}/data/{pk}/validation_status/"


def test_patch_get_delete_one(household, send, supervisor, uid):
    sub = send()

    patched = supervisor.patch(url(uid, sub.pk), {"validation_status.uid": "validation_status_on_hold"}, format="json")
    again = supervisor.patch(url(uid, sub.pk), {"validation_status.uid": "validation_status_on_hold"}, format="json")
    got = supervisor.get(url(uid, sub.pk))

    sub.refresh_from_db()
    assert (patched.status_code, again.status_code) == (200, 200)
    assert patched.json() == got.json() == {"timestamp": int(sub.reviewed_at.timestamp()),
                                            "uid": "validation_status_on_hold", "by_whom": "sup1",
                                            "color": "#0000ff", "label": "On Hold"}
    assert sub.review_status == "on_hold"
    assert list(ReviewEvent.objects.filter(submission=sub).values_list("from_status", "to_status")) == [
        (None, "on_hold")]

    deleted = supervisor.delete(url(uid, sub.pk))

    sub.refresh_from_db()
    assert (deleted.status_code, sub.review_status, supervisor.get(url(uid, sub.pk)).json()) == (204, None, {})


def test_analyst_may_not_change_status(household, send, analyst, uid):
    sub = send()

    response = analyst.patch(url(uid, sub.pk), {"validation_status.uid": "validation_status_approved"},
                             format="json")

    sub.refresh_from_db()
    assert (response.status_code, sub.review_status, ReviewEvent.objects.filter(submission=sub).count()) == (
        403, None, 0)


def test_unknown_status_and_record(household, send, supervisor, uid):
    sub = send()

    bad = supervisor.patch(url(uid, sub.pk), {"validation_status.uid": "validation_status_great"}, format="json")
    missing = supervisor.patch(url(uid, sub.pk + 50), {"validation_status.uid": "validation_status_approved"},
                               format="json")
    empty = supervisor.patch(url(uid, sub.pk), {}, format="json")

    sub.refresh_from_db()
    assert (bad.status_code, missing.status_code, empty.status_code, sub.review_status) == (400, 404, 400, None)


def test_bulk_patch_and_delete(household, send, supervisor, uid):
    first, second, other = send(passport="P1"), send(passport="P2"), send(passport="P3")
    bulk = f"/api/v2/assets/{uid}/data/validation_statuses/"
    body = {"payload": {"submission_ids": [first.pk, second.pk], "validation_status.uid":
                        "validation_status_not_approved"}}

    response = supervisor.patch(bulk, body, format="json")

    assert (response.status_code, response.json()) == (200, {"detail": "2 submissions have been updated"})
    states = dict(Submission.objects.values_list("pk", "review_status"))
    assert states == {first.pk: "not_approved", second.pk: "not_approved", other.pk: None}

    cleared = supervisor.delete(bulk, {"payload": {"submission_ids": [first.pk]}}, format="json")

    assert cleared.json() == {"detail": "1 submissions have been updated"}
    assert dict(Submission.objects.values_list("pk", "review_status"))[first.pk] is None


def test_bulk_with_an_unknown_id_changes_nothing(household, send, supervisor, uid):
    sub = send()
    body = {"payload": {"submission_ids": [sub.pk, sub.pk + 99], "validation_status.uid":
                        "validation_status_approved"}}

    response = supervisor.patch(f"/api/v2/assets/{uid}/data/validation_statuses/", body, format="json")

    sub.refresh_from_db()
    assert (response.status_code, sub.review_status) == (404, None)
