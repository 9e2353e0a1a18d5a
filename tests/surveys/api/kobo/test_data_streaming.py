"""The data endpoint streams (issue 13, item 4): a page is written a chunk of
records at a time, with exactly the bytes the whole page rendered at once
had, and the view reads no record before its response starts."""

import json
from urllib.parse import quote, urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

import surveys.api.kobo.renderers as renderers
import surveys.selectors.kobo.records as record_selectors
from enumerators.models import User
from surveys.api.kobo.records import records_shaped
from surveys.api.kobo.renderers import FastJSONRenderer, GeoJSONRenderer, XMLRenderer
from surveys.selectors.kobo.assets import asset_for_user
from surveys.selectors.kobo.records import asset_records
from tests.clients import body

pytestmark = pytest.mark.django_db

RENDERERS = {"json": FastJSONRenderer, "xml": XMLRenderer, "geojson": GeoJSONRenderer}


@pytest.fixture
def five(household, send):
    """Five interviews; pages read two records at a time and written in pieces of 1 kB."""
    subs = [send(sex="female", members=("10", "12"), reasons="work family"), send(age="50"),
            send(sex="female", age="35", name="Aziz Karimov"), send(members=("7",)), send(age="61")]
    return subs


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(record_selectors, "CHUNK", 2)
    monkeypatch.setattr(renderers, "PIECE_BYTES", 1024)


def whole_page(uid, fmt, *, start=0, limit=30_000, fields=None, url, query=None):
    """The page as the endpoint wrote it before it streamed: every record shaped into one list, the
    page rendered at once (``render``) — the same selector and shapes, no stream."""
    user = User.objects.get(username="analyst1")
    asset = asset_for_user(user=user, uid=uid)
    page = asset_records(user=user, asset=asset, start=start, limit=limit)
    results = list(records_shaped(page, asset=asset, fields=fields, as_json=fmt == "json"))
    def link(at, **keyset):
        return f"{url}?" + urlencode(sorted({**(query or {}), **keyset, "limit": str(limit),
                                             "start": str(at)}.items()))

    nxt = link(start + limit, after_id=str(page.last_id)) if start + limit < page.count else None
    prev = link(max(0, start - limit)) if start else None
    return RENDERERS[fmt]().render({"count": page.count, "next": nxt, "previous": prev, "results": results})


@pytest.mark.parametrize("fmt", ["json", "xml", "geojson"])
@pytest.mark.parametrize("window", [(0, 30_000), (1, 3), (4, 3)])
def test_a_page_streams_the_bytes_it_had_when_rendered_whole(five, small_chunks, analyst, uid, fmt, window):
    start, limit = window
    url = f"http://testserver/api/v2/assets/{uid}/data/"

    response = analyst.get(f"/api/v2/assets/{uid}/data/?format={fmt}&start={start}&limit={limit}")
    pieces = list(response.streaming_content)

    assert response.status_code == 200 and response.streaming
    assert b"".join(pieces) == whole_page(uid, fmt, start=start, limit=limit, url=url, query={"format": fmt})
    assert len(pieces) > 1 if (fmt, window) == ("xml", (0, 30_000)) else len(pieces) >= 1
    assert response["Content-Type"] == {"json": "application/json", "xml": "application/xml; charset=utf-8",
                                        "geojson": "application/geo+json"}[fmt]


def test_fields_stream_as_the_whole_page_rendered(five, small_chunks, analyst, uid):
    fields = ["_id", "resp/age", "member"]

    response = analyst.get(f"/api/v2/assets/{uid}/data/?fields={quote(json.dumps(fields))}")

    assert response.streaming
    expected = whole_page(uid, "json", fields=fields, url=f"http://testserver/api/v2/assets/{uid}/data/")
    assert body(response) == expected
    assert json.loads(expected)["results"][0] == {"_id": five[0].pk, "resp/age": "33",
                                                  "member": [{"member/member_age": "10"},
                                                             {"member/member_age": "12"}]}


def test_an_empty_page_is_exact(household, analyst, uid):
    json_page = analyst.get(f"/api/v2/assets/{uid}/data.json")
    xml_page = analyst.get(f"/api/v2/assets/{uid}/data.xml")
    geo_page = analyst.get(f"/api/v2/assets/{uid}/data/?format=geojson")

    assert body(json_page) == b'{"count":0,"next":null,"previous":null,"results":[]}'
    assert body(xml_page) == (b"<?xml version='1.0' encoding='utf-8'?>\n"
                              b"<root><count>0</count><next/><previous/><results/></root>")
    assert body(geo_page) == b'{"type":"FeatureCollection","features":[]}'


def test_xml_records_are_exact(household, send, analyst, uid):
    sub = send(members=("10",), reasons="work")

    text = body(analyst.get(f"/api/v2/assets/{uid}/data.xml?fields=" + quote(json.dumps(
        ["_id", "resp/sex", "resp/age", "member", "_geolocation", "_tags"]))))

    lat, lon = (json.loads(body(analyst.get(f"/api/v2/assets/{uid}/data.json")))["results"][0]["_geolocation"])
    expected = (
        b"<?xml version='1.0' encoding='utf-8'?>\n<root><count>1</count><next/><previous/><results><item>"
        b"<_id>%d</_id><resp><sex>male</sex><age>33</age></resp>"
        b"<member><item><member><member_age>10</member_age></member></item></member>"
        b"<_geolocation><item>%s</item><item>%s</item></_geolocation><_tags/>"
        b"</item></results></root>" % (sub.pk, str(lat).encode(), str(lon).encode()))
    if connection.vendor == "sqlite":
        assert text == expected
    else:  # PostgreSQL's jsonb keeps a record's keys in an order of its own: the same elements, the same values
        assert _sorted_xml(text) == _sorted_xml(expected)


def _sorted_xml(text: bytes) -> bytes:
    """The document with each element's children in tag order (item lists keep theirs)."""
    from lxml import etree

    def sort(node):
        for child in node:
            sort(child)
        if node.tag != "results" and not all(child.tag == "item" for child in node):
            node[:] = sorted(node, key=lambda child: child.tag)
    root = etree.fromstring(text)
    sort(root)
    return etree.tostring(root)


def test_the_view_reads_no_record_before_its_response_starts(five, small_chunks, analyst, uid):
    """The count and the page's ids only; then one query per chunk of records as the stream is read
    (a worker holds one chunk, whatever the page's size)."""
    with CaptureQueriesContext(connection) as before_streaming:
        response = analyst.get(f"/api/v2/assets/{uid}/data.xml")
    with CaptureQueriesContext(connection) as while_streaming:
        streamed = body(response)

    def record_reads(queries):
        return [q["sql"] for q in queries if "answers_json" in q["sql"] and "surveys_koborecord" in q["sql"]
                and q["sql"].lstrip().upper().startswith("SELECT")]

    assert response.streaming and streamed.count(b"<item><_id>") == streamed.count(b"</_id><formhub>") == 5
    assert record_reads(before_streaming.captured_queries) == []
    assert len(record_reads(while_streaming.captured_queries)) == 3  # 5 records, 2 at a time


def test_the_selector_yields_chunks(five, small_chunks, uid):
    user = User.objects.get(username="enum01")
    user.is_superuser = True
    user.save()
    asset = asset_for_user(user=user, uid=uid)

    page = asset_records(user=user, asset=asset, start=1, limit=4)

    assert page.count == 5
    assert [[row[0] for row in chunk.rows] for chunk in page.chunks] == [[five[1].pk, five[2].pk],
                                                                         [five[3].pk, five[4].pk]]
    assert list(page.chunks) == []  # read once


def test_a_bad_query_is_400_before_any_byte(household, send, analyst, uid):
    send()

    response = analyst.get(f"/api/v2/assets/{uid}/data.xml?sort=" + quote('{"_id": 5}'))

    assert (response.status_code, response.streaming) == (400, False)


def test_a_record_replaced_while_the_page_streams_is_left_out(five, small_chunks, analyst, uid):
    from surveys.models import Submission

    user = User.objects.get(username="analyst1")
    asset = asset_for_user(user=user, uid=uid)
    page = asset_records(user=user, asset=asset)
    Submission.objects.filter(pk=five[3].pk).update(is_current=False)  # an edit replaced it meanwhile

    shown = [record["_id"] for record in records_shaped(page, asset=asset)]

    assert (page.count, shown) == (5, [five[0].pk, five[1].pk, five[2].pk, five[4].pk])
