"""Issue 13 item 9: malformed OpenRosa and KoBo JSON submissions, generated
(hypothesis, a fixed seed): never a 5xx, always an answer in the protocol's
form, a refused one stores nothing and an accepted one is stored whole.

``MTM_FUZZ_EXAMPLES`` examples per test (500 by default; `make test-services`
runs 5,000 each on PostgreSQL: 10,000 submissions)."""

from __future__ import annotations

import json
import os

import pytest
from django.core.files.storage import default_storage
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from lxml import etree

from surveys.models import Submission, SubmissionAttachment
from tests.submissions import auth, instance_xml, multipart

RESPONSE = "{http://openrosa.org/http/response}"
EXAMPLES = int(os.environ.get("MTM_FUZZ_EXAMPLES") or 500)
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large, HealthCheck.large_base_example])

_valid = instance_xml(instance_id="uuid:fuzz-template")
_ids = st.one_of(st.text(max_size=40), st.just("x" * 5000), st.just("uuid:a\x00b"), st.just(""),
                 st.just("uuid:" + "9" * 300))


@st.composite
def malformed_xml(draw):
    kind = draw(st.sampled_from(["bytes", "truncated", "root", "id", "nul", "deep", "text", "doctype"]))
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    if kind == "truncated":
        return _valid[: draw(st.integers(0, len(_valid) - 1))]
    if kind == "root":
        root = draw(st.sampled_from(["html", "submission", "x:data", "data", "meta"]))
        return f'<{root} id="{draw(st.sampled_from(["simple", "nope", ""]))}"><q1>a</q1></{root}>'.encode()
    if kind == "id":
        instance_id = draw(_ids)
        return instance_xml(instance_id="PLACEHOLDER").replace(
            b"PLACEHOLDER", instance_id.encode("utf-8", "surrogatepass"))
    if kind == "nul":
        at = draw(st.integers(0, len(_valid)))
        return _valid[:at] + b"\x00" + _valid[at:]
    if kind == "deep":
        depth = draw(st.sampled_from([300, 5_000, 100_000]))
        return b'<data id="simple" version="1">' + b"<g>" * depth + b"</g>" * depth + b"</data>"
    if kind == "doctype":
        return b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e "x">]><data id="simple">&e;</data>'
    return instance_xml(q1=draw(st.text(max_size=60)).replace("<", "").replace("&", ""),
                        age=draw(st.sampled_from(["30", "-1", "1e400", "abc", ""])),
                        instance_id=f"uuid:fuzz-{draw(st.uuids())}").replace(b"\x00", b"")


_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
_json_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.text(max_size=8), inner, max_size=4), max_leaves=12)


@st.composite
def malformed_json(draw):
    kind = draw(st.sampled_from(["bytes", "value", "shape", "deep", "nul", "truncated"]))
    good = {"id": "simple", "submission": {"q1": "a", "age": "3", "__version__": "1",
                                           "meta": {"instanceID": f"uuid:json-{draw(st.uuids())}"}}}
    if kind == "bytes":  # never empty: the test client sends no content type without a body
        return draw(st.binary(min_size=1, max_size=300))
    if kind == "value":
        return json.dumps(draw(_json_values)).encode()
    if kind == "shape":
        document = {"id": draw(st.one_of(_ids, _json_values)),
                    "submission": draw(st.one_of(_json_values,
                                                 st.dictionaries(st.sampled_from(["q1", "age", "__version__",
                                                                                  "meta", "_uuid"]),
                                                                 _json_values, max_size=5)))}
        return json.dumps(document).encode()
    if kind == "deep":
        depth = draw(st.sampled_from([500, 5_000, 100_000]))
        return b'{"id": "simple", "submission": {"q1": ' + b"[" * depth + b"]" * depth + b"}}"
    if kind == "nul":
        text = json.dumps(good)
        at = draw(st.integers(0, len(text)))
        return (text[:at] + draw(st.sampled_from(["\x00", "\\u0000"])) + text[at:]).encode()
    text = json.dumps(good).encode()
    return text[: draw(st.integers(1, len(text) - 1))]


def stored():
    return Submission.objects.count(), SubmissionAttachment.objects.count()


def assert_stored_whole(after_pk):
    """Each submission stored since ``after_pk``: its sealed raw body, processed (tasks run in-process,
    so nothing is left pending), and every attachment's file on the disk with its size."""
    for submission in Submission.objects.filter(pk__gt=after_pk).prefetch_related("attachments"):
        assert bytes(submission.raw_body) and len(submission.raw_sha256) == 64
        assert submission.processing in ("processed", "failed"), submission.processing
        assert submission.processing == "processed" or submission.processing_error
        for attachment in submission.attachments.all():
            assert default_storage.size(attachment.file.name) >= attachment.size > 0


def last_pk():
    return Submission.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def assert_openrosa_envelope(response):
    doc = etree.fromstring(response.content)
    assert doc.tag == f"{RESPONSE}OpenRosaResponse"


@pytest.mark.django_db
@seed(13_9)
@FUZZ
@given(xml=malformed_xml(), photo=st.booleans())
def test_malformed_openrosa_posts_never_5xx_and_a_refused_one_stores_nothing(client, enumerator, xml, photo):
    before, after_pk = stored(), last_pk()
    files = [("a.jpg", b"\xff\xd8photo")] if photo else []

    response = client.post("/submission", multipart(xml, *files), **auth())

    assert response.status_code in (201, 202, 400, 403, 404, 409, 413), response.content[:300]
    assert_openrosa_envelope(response)
    if response.status_code >= 400:
        assert stored() == before
    assert_stored_whole(after_pk)


@pytest.mark.django_db
@seed(13_9)
@FUZZ
@given(body=malformed_json())
def test_malformed_json_posts_never_5xx_and_a_refused_one_stores_nothing(client, enumerator, body):
    before, after_pk = stored(), last_pk()

    response = client.post("/submission", body, content_type="application/json", **auth())

    assert response.status_code in (201, 202, 400, 403, 404, 409, 413), response.content[:300]
    if response.status_code >= 400:
        assert set(response.json()) == {"error"}
        assert stored() == before
    assert_stored_whole(after_pk)
