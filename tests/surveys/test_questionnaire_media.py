"""Media files: what a form needs, attaching them (import, API, admin), the manifest, and choices read from an
attached CSV, XML or GeoJSON."""

from __future__ import annotations

import hashlib
import json

import pytest
from lxml import etree
from rest_framework.test import APIClient

from surveys.models import Questionnaire, QuestionnaireMedia
from surveys.services.questionnaire_media import MediaUpload, questionnaire_media_add
from surveys.services.questionnaires import questionnaire_import
from tests.clients import token_client, upload
from tests.factories import AssignmentFactory, EnumeratorFactory, UserFactory
from tests.forms import form_bytes, simple_form
from tests.submissions import auth, ingest_processed, new_instance_id

NS = {"f": "http://openrosa.org/xforms/xformsList", "m": "http://openrosa.org/xforms/xformsManifest"}
PLACES = ("name,label::English (en),label::Russian (ru),district\n"
          "almaty,Almaty,Алматы,south\nastana,Astana,,north\n").encode()
CROPS = (b"<root><item><name>wheat</name><label>Wheat</label></item>"
         b"<item><name>rice</name><label>Rice</label></item></root>")
REGIONS = json.dumps({"type": "FeatureCollection", "features": [
    {"type": "Feature", "id": "kz-75", "geometry": {"type": "Point", "coordinates": [76.9, 43.25]},
     "properties": {"title": "Almaty city"}},
    {"type": "Feature", "geometry": {"type": "Point", "coordinates": [71.45, 51.15]},
     "properties": {"id": "kz-71", "title": "Astana city", "population": 1350000}}]}).encode()


@pytest.fixture
def media_form(db):
    q = questionnaire_import(source=form_bytes("media.md"), filename="media.md", survey_slug="mtm",
                             round_number=4).questionnaire
    AssignmentFactory(enumerator=EnumeratorFactory(user=UserFactory(username="enum01")), round=q.round)
    return q


def md5(data: bytes) -> str:
    return "md5:" + hashlib.md5(data).hexdigest()


def manifest(client, form_id="media_form"):
    doc = etree.fromstring(client.get(f"/forms/{form_id}/manifest", **auth()).content)
    return [(e.findtext("m:filename", namespaces=NS), e.findtext("m:hash", namespaces=NS),
             e.findtext("m:downloadUrl", namespaces=NS)) for e in doc.findall("m:mediaFile", NS)]


def attached(q):
    return {m.filename: m.md5 for m in QuestionnaireMedia.objects.filter(questionnaire=q)}


@pytest.mark.django_db
class TestNeededFiles:
    def test_every_file_the_form_names_is_listed_with_its_kind(self, media_form):
        assert [(f["filename"], f["type"]) for f in media_form.media_needed] == [
            ("crops.xml", "file"), ("fruits.csv", "file"), ("logo.png", "image"), ("people.csv", "file"),
            ("places.csv", "file"), ("red.mp3", "audio"), ("regions.geojson", "file")]
        assert media_form.media_missing == [f["filename"] for f in media_form.media_needed]

    def test_the_import_says_which_files_are_missing(self, db, tmp_path, capsys):
        from django.core.management import call_command

        (tmp_path / "places.csv").write_bytes(PLACES)
        (tmp_path / "logo.png").write_bytes(b"\x89PNG logo")
        call_command("import_xlsform", "tests/fixtures/forms/media.md", "--media", str(tmp_path / "places.csv"),
                     "--media", str(tmp_path / "logo.png"))

        out = capsys.readouterr()
        assert out.out == "media_form 1\n"
        assert out.err.splitlines()[-6:] == [
            "media: 2 of 7 files the form needs are attached", "missing media: crops.xml",
            "missing media: fruits.csv", "missing media: people.csv", "missing media: red.mp3",
            "missing media: regions.geojson"]

    def test_select_one_external_gets_pyxforms_itemsets_csv(self, db):
        source = b"""
| survey |
| | type | name | label | choice_filter |
| | select_one states | state | State | |
| | select_one_external counties | county | County | state=${state} |
| choices |
| | list_name | name | label |
| | states | tx | Texas |
| external_choices |
| | list_name | name | label | state |
| | counties | travis | Travis | tx |
| | counties | harris | Harris | tx |
"""
        q = questionnaire_import(source=source, filename="ext.md").questionnaire
        assert q.media_needed == [{"filename": "itemsets.csv", "type": "file", "value": "name", "label": "label"}]
        assert q.media_missing == []
        assert [c["name"] for c in q.schema["choices"]["counties"]] == ["travis", "harris"]
        assert q.schema["choices"]["counties"][0]["extra"] == {"state": "tx"}


@pytest.mark.django_db
class TestManifest:
    def test_form_list_gives_a_manifest_only_to_forms_that_need_files(self, client, media_form):
        questionnaire_import(source=simple_form(form_id="plain"), filename="plain.md", survey_slug="mtm",
                             round_number=4)
        listed = etree.fromstring(client.get("/formList", **auth()).content)
        manifests = {x.findtext("f:formID", namespaces=NS): x.findtext("f:manifestUrl", namespaces=NS)
                     for x in listed.findall("f:xform", NS)}
        assert manifests == {"media_form": "http://testserver/forms/media_form/manifest", "plain": None}
        assert manifest(client) == []

    def test_attached_files_are_listed_with_their_md5_and_served(self, client, media_form):
        questionnaire_media_add(questionnaire=media_form, files=[MediaUpload("logo.png", b"\x89PNG logo"),
                                                                 MediaUpload("red.mp3", b"ID3 red")])
        listed = manifest(client)
        assert listed == [
            ("logo.png", md5(b"\x89PNG logo"), "http://testserver/forms/media_form/media/logo.png"),
            ("red.mp3", md5(b"ID3 red"), "http://testserver/forms/media_form/media/red.mp3")]
        served = client.get("/forms/media_form/media/red.mp3", **auth())
        assert b"".join(served.streaming_content) == b"ID3 red"
        assert served["Content-Type"] == "audio/mpeg"


@pytest.mark.django_db
class TestAttach:
    def test_twice_is_a_no_op(self, media_form):
        assert questionnaire_media_add(questionnaire=media_form, files=[MediaUpload("logo.png", b"A")]) == [
            "logo.png"]
        assert questionnaire_media_add(questionnaire=media_form, files=[MediaUpload("logo.png", b"A")]) == []
        assert attached(media_form) == {"logo.png": hashlib.md5(b"A").hexdigest()}

    @pytest.mark.parametrize(("upload", "message"), [
        (MediaUpload("other.png", b"x"), "Form 'media_form' version '1' does not use a file 'other.png'. The files "
                                         "it uses: crops.xml, fruits.csv, logo.png, people.csv, places.csv, "
                                         "red.mp3, regions.geojson."),
        (MediaUpload("logo.png", b""), "logo.png: the file is empty."),
        (MediaUpload("places.csv", b"code,label\nalmaty,Almaty\n"),
         "places.csv: row 1 has no 'name' column (the choices' values); its columns are: code, label."),
        (MediaUpload("places.csv", b"name,label\nalmaty,Almaty\n,Nowhere\n"), "places.csv: row 3 has no 'name'."),
        (MediaUpload("crops.xml", b"<root><item><name>x</name>"), "crops.xml: line 1: "),
        (MediaUpload("regions.geojson", b'{"type": "FeatureCollection", "features": [{"properties": {}}]}'),
         "regions.geojson: feature 1 has no 'id'."),
    ], ids=["unknown", "empty", "no-name-column", "empty-name", "broken-xml", "feature-without-id"])
    def test_a_bad_file_stores_nothing_not_even_the_good_ones_beside_it(self, media_form, upload, message):
        from mtm.errors import InvalidInput

        with pytest.raises(InvalidInput) as refused:
            questionnaire_media_add(questionnaire=media_form, files=[MediaUpload("logo.png", b"fine"), upload])
        assert refused.value.message.startswith(message)
        assert attached(media_form) == {}
        assert Questionnaire.objects.get(pk=media_form.pk).schema_rev == 0

    def test_a_file_is_replaced_until_the_version_has_interviews(self, media_form):
        from mtm.errors import Conflict

        questionnaire_media_add(questionnaire=media_form, files=[MediaUpload("logo.png", b"first")])
        assert questionnaire_media_add(questionnaire=media_form, files=[MediaUpload("logo.png", b"second")]) == [
            "logo.png"]
        ingest_processed(instance(media_form, place=""))
        with pytest.raises(Conflict, match=r"has interviews made with logo\.png"):
            questionnaire_media_add(questionnaire=media_form, files=[MediaUpload("logo.png", b"third")])
        assert attached(media_form) == {"logo.png": hashlib.md5(b"second").hexdigest()}


def instance(q, *, place="almaty", crops="wheat", region="kz-71") -> bytes:
    return (f'<data id="media_form" version="{q.version}"><q1>hi</q1><colour>red</colour><place>{place}</place>'
            f"<crops>{crops}</crops><region>{region}</region><person/><price/>"
            f"<meta><instanceID>{new_instance_id()}</instanceID></meta></data>").encode()


@pytest.mark.django_db
class TestChoicesFromFiles:
    def test_csv_xml_and_geojson_choices_are_the_lists_choices(self, media_form):
        questionnaire_media_add(questionnaire=media_form, files=[
            MediaUpload("places.csv", PLACES), MediaUpload("crops.xml", CROPS),
            MediaUpload("regions.geojson", REGIONS)])
        q = Questionnaire.objects.get(pk=media_form.pk)

        assert q.schema_rev == 1
        assert q.schema["choices"]["places.csv"] == [
            {"name": "almaty", "label": {"English (en)": "Almaty", "Russian (ru)": "Алматы"},
             "extra": {"district": "south"}},
            {"name": "astana", "label": {"English (en)": "Astana"}, "extra": {"district": "north"}}]
        assert [c["name"] for c in q.schema["choices"]["crops.xml"]] == ["wheat", "rice"]
        assert q.schema["choices"]["regions.geojson"] == [
            {"name": "kz-75", "label": {"default": "Almaty city"}, "extra": {}},
            {"name": "kz-71", "label": {"default": "Astana city"}, "extra": {"population": 1350000}}]

        good = ingest_processed(instance(q))
        bad = ingest_processed(instance(q, place="shymkent", crops="wheat maize", region="kz-99"))
        assert (good.validation, good.problems) == ("valid", [])
        assert [(p["path"], p["message"]) for p in bad.problems] == [
            ("place", "Place: 'shymkent' is not a choice of this question."),
            ("crops", "Crops: 'maize' is not a choice of this question."),
            ("region", "Region: 'kz-99' is not a choice of this question.")]

    def test_before_the_file_is_attached_any_value_is_taken(self, media_form):
        sub = ingest_processed(instance(media_form, place="anywhere"))
        assert (sub.validation, sub.problems) == ("valid", [])


@pytest.fixture
def api(db):
    return token_client("designer", "add_questionnaire", "view_questionnaire")


@pytest.mark.django_db
class TestMediaApi:
    def test_post_attaches_and_get_lists(self, api, media_form):
        response = api.post("/api/v1/questionnaires/media_form/media/",
                            {"file": [upload("logo.png", b"L"), upload("red.mp3", b"R")]}, format="multipart")
        again = api.post("/api/v1/questionnaires/media_form/media/", {"file": [upload("logo.png", b"L")]},
                         format="multipart")
        listing = api.get("/api/v1/questionnaires/media_form/media/")

        assert (response.status_code, again.status_code, listing.status_code) == (201, 200, 200)
        assert response.json()["added"] == ["logo.png", "red.mp3"]
        assert again.json()["added"] == []
        assert listing.json() == {"form_id": "media_form", "version": "1", "added": [], "media": [
            {"filename": "crops.xml", "type": "file", "present": False, "hash": None},
            {"filename": "fruits.csv", "type": "file", "present": False, "hash": None},
            {"filename": "logo.png", "type": "image", "present": True, "hash": md5(b"L")},
            {"filename": "people.csv", "type": "file", "present": False, "hash": None},
            {"filename": "places.csv", "type": "file", "present": False, "hash": None},
            {"filename": "red.mp3", "type": "audio", "present": True, "hash": md5(b"R")},
            {"filename": "regions.geojson", "type": "file", "present": False, "hash": None}]}

    def test_bad_file_is_400_and_unknown_form_404_nothing_stored(self, api, media_form):
        bad = api.post("/api/v1/questionnaires/media_form/media/", {"file": [upload("x.png", b"x")]},
                       format="multipart")
        unknown = api.post("/api/v1/questionnaires/nope/media/", {"file": [upload("x.png", b"x")]},
                           format="multipart")
        old = api.post("/api/v1/questionnaires/media_form/media/", {"file": [upload("logo.png", b"x")],
                                                                   "version": "9"}, format="multipart")

        assert (bad.status_code, unknown.status_code, old.status_code) == (400, 404, 404)
        assert bad.json()["file"][0].startswith("Form 'media_form' version '1' does not use a file 'x.png'.")
        assert unknown.json() == {"detail": "No form 'nope' on this server."}
        assert attached(media_form) == {}

    def test_import_with_media_reports_them(self, api):
        response = api.post("/api/v1/questionnaires/", {"file": upload("media.md", form_bytes("media.md")),
                                                        "media": [upload("logo.png", b"L")]}, format="multipart")
        assert response.status_code == 201
        assert [(m["filename"], m["present"]) for m in response.json()["media"]][2] == ("logo.png", True)

    def test_without_permission_403(self, db, media_form):
        client = APIClient()
        client.force_authenticate(UserFactory(username="enum50"))
        response = client.post("/api/v1/questionnaires/media_form/media/", {"file": [upload("logo.png", b"x")]},
                               format="multipart")
        assert response.status_code == 403
        assert attached(media_form) == {}


@pytest.mark.django_db
class TestAdmin:
    @pytest.fixture
    def admin_client(self, client):
        client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
        return client

    def test_the_version_page_shows_media_and_warnings_and_takes_files(self, admin_client, media_form):
        Questionnaire.objects.filter(pk=media_form.pk).update(warnings=["[row : 2] Repeat has no label"])
        url = f"/admin/surveys/questionnaire/{media_form.pk}/change/"
        page = admin_client.get(url).content.decode()
        assert "<td>logo.png</td><td>image</td><td>MISSING</td>" in page
        assert "<li>[row : 2] Repeat has no label</li>" in page

        response = admin_client.post(url, {"round": media_form.round_id, "allow_anonymous": "",
                                           "media_upload": [upload("logo.png", b"L"), upload("red.mp3", b"R")]})

        assert response.status_code == 302
        assert set(attached(media_form)) == {"logo.png", "red.mp3"}
        listing = admin_client.get("/admin/surveys/questionnaire/").content.decode()
        assert "5 of 7 missing" in listing

    def test_a_bad_file_shows_the_error_and_stores_nothing(self, admin_client, media_form):
        response = admin_client.post(f"/admin/surveys/questionnaire/{media_form.pk}/change/", {
            "round": media_form.round_id, "media_upload": [upload("places.csv", b"code\nx\n")]})
        assert response.status_code == 200
        assert "places.csv: row 1 has no &#x27;name&#x27; column" in response.content.decode()
        assert attached(media_form) == {}

    def test_a_round_made_by_an_import_is_marked_incomplete(self, admin_client, media_form):
        page = admin_client.get("/admin/surveys/round/").content.decode()
        assert "incomplete: no dates and no target" in page
