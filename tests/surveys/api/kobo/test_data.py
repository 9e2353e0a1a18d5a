"""/api/v2/assets/<uid>/data/: anonymised records as KoboToolbox returns them."""

import datetime as dt
import json
from urllib.parse import quote

import pytest
from django.utils import timezone
from lxml import etree

from surveys.kobo_ids import formhub_uuid
from surveys.models import Submission
from surveys.services.review import submission_review
from tests.clients import body, body_json
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def data(client, uid, **params):
    query = "&".join(f"{k}={quote(v if isinstance(v, str) else json.dumps(v))}" for k, v in params.items())
    response = client.get(f"/api/v2/assets/{uid}/data/?{query}")
    assert response.status_code == 200, body(response)
    return body_json(response)


def data_at(client, url, params):
    response = client.get(url, params)
    assert response.status_code == 200, body(response)
    return body_json(response)


def test_record_shape(household, send, analyst, uid):
    sub = send(sex="female", members=("10", "12"), reasons="work family", income="1500.5", name="Aziz Karimov")
    Submission.objects.filter(pk=sub.pk).update(received_at=dt.datetime(2024, 5, 2, 5, 41, 7, 250000, tzinfo=dt.UTC))

    response = analyst.get(f"/api/v2/assets/{uid}/data.json")

    page = body_json(response)
    assert (page["count"], page["next"], page["previous"]) == (1, None, None)
    record = page["results"][0]
    lat, lon = record["_geolocation"]
    assert record.pop("resp/gps") == f"{lat:.6f} {lon:.6f}"
    assert (lat, lon) != (43.25, 76.9)
    assert record.pop("resp/passport") == sub.answers["resp/passport"]  # the keyed pseudonym, not N123
    assert record == {
        "_id": sub.pk, "formhub/uuid": formhub_uuid("household"),
        "start": "2024-05-02T10:00:00.000+05:00", "end": "2024-05-02T10:40:00.000+05:00",
        "resp/sex": "female", "resp/age": "33", "country": "uz", "region": "tashkent", "dependants": "2",
        "member": [{"member/member_age": "10"}, {"member/member_age": "12"}],
        "reasons": "work family", "income": "1500.5",
        "meta/instanceID": sub.instance_id, "__version__": "2024050101", "_xform_id_string": "household",
        "_uuid": sub.instance_id.removeprefix("uuid:"), "_attachments": [], "_status": "submitted_via_web",
        "_geolocation": [lat, lon], "_submission_time": "2024-05-02T05:41:07", "_tags": [], "_notes": [],
        "_validation_status": {}, "_submitted_by": "enum01",
    }
    assert b"Aziz" not in body(response) and b"N123" not in body(response)


def test_query_sort_fields_and_paging(household, send, analyst, uid):
    old, young, woman = send(age="50"), send(age="20"), send(age="35", sex="female", reasons="work")
    Submission.objects.filter(pk=old.pk).update(received_at=dt.datetime(2024, 5, 1, 8, tzinfo=dt.UTC))
    Submission.objects.filter(pk=young.pk).update(received_at=dt.datetime(2024, 5, 2, 8, tzinfo=dt.UTC))
    Submission.objects.filter(pk=woman.pk).update(received_at=dt.datetime(2024, 5, 3, 8, tzinfo=dt.UTC))

    def ids(**params):
        return [r["_id"] for r in data(analyst, uid, **params)["results"]]

    assert ids() == [old.pk, young.pk, woman.pk]
    assert ids(query={"_submission_time": {"$gt": "2024-05-01T08:00:00"}}) == [young.pk, woman.pk]
    assert ids(query={"_submission_time": {"$gte": "2024-05-02", "$lt": "2024-05-03"}}) == [young.pk]
    assert ids(query={"resp/age": {"$gte": 30}}) == [old.pk, woman.pk]
    assert ids(query={"resp/age": "20"}) == [young.pk]
    assert ids(query={"resp/sex": {"$in": ["female"]}}) == [woman.pk]
    assert ids(query={"reasons": "work"}) == [woman.pk]
    assert ids(query={"_id": {"$in": [old.pk, woman.pk]}}) == [old.pk, woman.pk]
    assert ids(query={"$or": [{"resp/age": "50"}, {"resp/sex": "female"}]}) == [old.pk, woman.pk]
    assert ids(query={"_uuid": young.instance_id.removeprefix("uuid:")}) == [young.pk]
    assert ids(sort={"_submission_time": -1}) == [woman.pk, young.pk, old.pk]
    assert ids(sort={"resp/age": 1}) == [young.pk, woman.pk, old.pk]
    assert data(analyst, uid, fields=["_id", "resp/age"], limit="1")["results"] == [{"_id": old.pk, "resp/age": "50"}]
    page = data(analyst, uid, start="1", limit="1")
    assert (page["count"], [r["_id"] for r in page["results"]]) == (3, [young.pk])
    assert page["next"] == f"http://testserver/api/v2/assets/{uid}/data/?after_id={young.pk}&limit=1&start=2"
    assert page["previous"] == f"http://testserver/api/v2/assets/{uid}/data/?limit=1&start=0"


def test_validation_status_in_records_and_query(household, send, analyst, uid):
    approved, plain = send(), send()
    boss = UserFactory(username="boss")
    boss.is_superuser = True
    boss.save()
    submission_review(submission_id=approved.pk, status="approved", by=boss)
    approved.refresh_from_db()

    records = {r["_id"]: r for r in data(analyst, uid)["results"]}

    assert records[approved.pk]["_validation_status"] == {
        "timestamp": int(approved.reviewed_at.timestamp()), "uid": "validation_status_approved", "by_whom": "boss",
        "color": "#00ff00", "label": "Approved"}
    assert records[plain.pk]["_validation_status"] == {}
    found = data(analyst, uid, query={"_validation_status.uid": "validation_status_approved"})["results"]
    assert [r["_id"] for r in found] == [approved.pk]


def test_bad_parameters_are_400(household, analyst, uid):
    assert analyst.get(f"/api/v2/assets/{uid}/data/?query=notjson").status_code == 400
    assert analyst.get(f"/api/v2/assets/{uid}/data/?query=" + quote('{"a": {"$where": 1}}')).status_code == 400
    assert analyst.get(f"/api/v2/assets/{uid}/data/?query=" + quote('{"_id": "x"}')).status_code == 400
    assert analyst.get(f"/api/v2/assets/{uid}/data/?limit=-1").status_code == 400
    huge = analyst.get(f"/api/v2/assets/{uid}/data/?start=99999999999999999999")
    assert (huge.status_code, huge.json()) == (400, {"start": ["At most 1000000000."]})
    assert analyst.get(f"/api/v2/assets/{uid}/data/?sort=" + quote('{"_id": 5}')).status_code == 400


def test_limit_is_capped_at_30000(household, send, analyst, uid):
    send()

    body = data(analyst, uid, limit="50000")

    assert (body["count"], body["next"]) == (1, None)


def test_xml_and_geojson(household, send, analyst, uid):
    sub = send()

    xml = analyst.get(f"/api/v2/assets/{uid}/data.xml")
    geo = body_json(analyst.get(f"/api/v2/assets/{uid}/data/?format=geojson"))

    root = etree.fromstring(body(xml))
    assert root.findtext("count") == "1"
    assert root.findtext("results/item/resp/sex") == "male"
    assert root.find("results/item/resp/name") is None
    feature = geo["features"][0]
    lat, lon = data(analyst, uid)["results"][0]["_geolocation"]
    assert geo["type"] == "FeatureCollection"
    assert feature["geometry"] == {"type": "Point", "coordinates": [lon, lat]}
    assert feature["properties"]["_id"] == sub.pk


def test_single_record(household, send, analyst, uid):
    sub = send()

    assert analyst.get(f"/api/v2/assets/{uid}/data/{sub.pk}/").json()["_id"] == sub.pk
    assert analyst.get(f"/api/v2/assets/{uid}/data/{sub.pk + 100}/").status_code == 404


def test_pending_and_replaced_records_are_left_out(household, send, analyst, uid):
    shown = send()
    Submission.objects.filter(pk=send().pk).update(is_current=False)
    Submission.objects.filter(pk=send().pk).update(answers=None, processing="pending")

    assert [r["_id"] for r in data(analyst, uid)["results"]] == [shown.pk]


def test_submission_time_bounds_without_zone_are_utc(household, send, analyst, uid):
    sub = send()
    when = timezone.now().astimezone(dt.UTC).replace(tzinfo=None, microsecond=0)

    before = data(analyst, uid, query={"_submission_time": {"$gt": (when - dt.timedelta(minutes=5)).isoformat()}})
    after = data(analyst, uid, query={"_submission_time": {"$gt": (when + dt.timedelta(minutes=5)).isoformat()}})

    assert ([r["_id"] for r in before["results"]], after["count"]) == ([sub.pk], 0)


def test_released_answers_are_cached_until_the_submission_is_saved(household, send, analyst, uid):
    from surveys.models import KoboRecord

    sub = send()
    first = data(analyst, uid)["results"][0]
    cached = KoboRecord.objects.get(submission=sub)
    assert cached.source_updated_at == sub.updated_at
    KoboRecord.objects.filter(pk=sub.pk).update(answers_json='{"resp/age":"cached"}')

    assert data(analyst, uid)["results"][0]["resp/age"] == "cached"
    assert data(analyst, uid, fields=["resp/age"])["results"][0] == {"resp/age": "cached"}

    sub.save()  # processed again, reviewed…: updated_at moves
    again = data(analyst, uid)["results"][0]

    assert again == first
    assert KoboRecord.objects.get(submission=sub).source_updated_at == Submission.objects.get(pk=sub.pk).updated_at


def test_following_next_pages_by_keyset_and_gives_what_offsets_give(household, send, analyst, uid):
    subs = [send(age=str(20 + n)) for n in range(5)]
    pks = [s.pk for s in subs]

    def walk(**params) -> tuple[list[int], list[str | None], list[int]]:
        url, seen, links, counts = f"/api/v2/assets/{uid}/data/", [], [], []
        query = {"limit": "2", **params}
        while url:
            page = data_at(analyst, url, query)
            seen += [r["_id"] for r in page["results"]]
            links.append(page["next"])
            counts.append(page["count"])
            url, query = (page["next"] or "").removeprefix("http://testserver"), {}
        return seen, links, counts

    ascending, links, counts = walk()
    descending, back_links, _ = walk(sort=json.dumps({"_id": -1}))
    by_age, age_links, _ = walk(sort=json.dumps({"resp/age": -1}))

    assert ascending == pks and descending == pks[::-1] and by_age == pks[::-1]
    assert counts == [5, 5, 5]
    assert links[0] == f"http://testserver/api/v2/assets/{uid}/data/?after_id={pks[1]}&limit=2&start=2"
    assert back_links[1].startswith(f"http://testserver/api/v2/assets/{uid}/data/?after_id={pks[1]}&limit=2")
    assert "after_id" not in age_links[0]  # another order pages by offset

    # A keyset page starts after the id given whatever ``start`` says; ``previous`` goes back by offset.
    page = data_at(analyst, f"/api/v2/assets/{uid}/data/", {"limit": "2", "start": "4", "after_id": str(pks[0])})
    assert [r["_id"] for r in page["results"]] == pks[1:3]
    assert page["previous"] == f"http://testserver/api/v2/assets/{uid}/data/?limit=2&start=2"
    # The walk's count is its first page's: a record that arrives mid-walk is counted by the next walk.
    first = data_at(analyst, f"/api/v2/assets/{uid}/data/", {"limit": "2"})
    send(age="60")
    second = data_at(analyst, first["next"].removeprefix("http://testserver"), {})
    again = data_at(analyst, f"/api/v2/assets/{uid}/data/", {"limit": "2"})
    assert (first["count"], second["count"], again["count"]) == (5, 5, 6)
    bad = analyst.get(f"/api/v2/assets/{uid}/data/", {"after_id": "-3"})
    assert (bad.status_code, json.loads(body(bad))) == (400, {"after_id": ["Zero or more."]})


def test_a_page_of_up_to_a_thousand_records_is_read_in_one_query_whatever_its_place(
        household, send, analyst, uid):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    pks = [send(age=str(20 + n)).pk for n in range(6)]
    data_at(analyst, f"/api/v2/assets/{uid}/data/", {"limit": "6"})  # the count, and the records' JSON kept
    url = f"/api/v2/assets/{uid}/data/"

    with CaptureQueriesContext(connection) as queries:
        third = data_at(analyst, url, {"limit": "2", "start": "4", "after_id": str(pks[3])})

    assert [r["_id"] for r in third["results"]] == pks[4:]
    reads = [q["sql"] for q in queries.captured_queries if 'FROM "surveys_submission"' in q["sql"]]
    assert len(reads) == 1  # the page's records (the count is the walk's first page's)
    assert '"surveys_submission"."id" > ' in reads[0] and "LIMIT 2" in reads[0]
