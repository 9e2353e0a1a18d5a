"""OpenRosa form list, form download and manifest."""

import base64
import hashlib

import pytest
from django.core.files.base import ContentFile
from lxml import etree

from enumerators.models import Enumerator
from surveys.models import QuestionnaireMedia, Round
from surveys.services.questionnaires import questionnaire_import
from tests.factories import PASSWORD, AssignmentFactory, EnumeratorFactory, RoundFactory, UserFactory
from tests.forms import simple_form

NS = {"f": "http://openrosa.org/xforms/xformsList", "m": "http://openrosa.org/xforms/xformsManifest",
      "r": "http://openrosa.org/http/response"}


def basic(username, password=PASSWORD):
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {token}"}


def form_ids(response):
    doc = etree.fromstring(response.content)
    return [e.text for e in doc.findall("f:xform/f:formID", NS)]


def import_form(form_id, version="1", round_number=4, allow_anonymous=False):
    return questionnaire_import(source=simple_form(form_id=form_id, version=version), filename=f"{form_id}.md",
                                survey_slug="mtm-kz", round_number=round_number,
                                allow_anonymous=allow_anonymous).questionnaire


@pytest.mark.django_db
class TestFormList:
    def test_lists_only_the_forms_of_the_enumerators_open_assigned_rounds(self, client):
        r4 = import_form("r4_form").round
        import_form("r3_form", round_number=3)
        closed = import_form("closed_form", round_number=5).round
        closed.status = Round.Status.CLOSED
        closed.save()
        enum = EnumeratorFactory(user=UserFactory(username="enum01"))
        AssignmentFactory(enumerator=enum, round=r4)
        AssignmentFactory(enumerator=enum, round=closed)

        response = client.get("/formList", **basic("enum01"))

        assert response.status_code == 200
        assert form_ids(response) == ["r4_form"]

    def test_other_enumerator_sees_nothing_and_inactive_enumerator_sees_nothing(self, client):
        r4 = import_form("r4_form").round
        AssignmentFactory(enumerator=EnumeratorFactory(user=UserFactory(username="enum01")), round=r4)
        EnumeratorFactory(user=UserFactory(username="enum02"))
        AssignmentFactory(enumerator=EnumeratorFactory(user=UserFactory(username="enum03"), active=False),
                          round=r4)

        assert form_ids(client.get("/formList", **basic("enum02"))) == []
        assert form_ids(client.get("/formList", **basic("enum03"))) == []
        assert Enumerator.objects.count() == 3

    def test_serves_the_latest_version_with_openrosa_headers_and_fields(self, client, enumerator):
        newer = questionnaire_import(source=simple_form(form_id="household", version="2024060101"),
                                     filename="h.md").questionnaire

        response = client.get("/formList", **basic("enum01"))

        assert response["X-OpenRosa-Version"] == "1.0"
        assert response["Content-Type"] == "text/xml; charset=utf-8"
        assert response["Date"].endswith(" GMT")
        doc = etree.fromstring(response.content)
        assert doc.tag == "{http://openrosa.org/xforms/xformsList}xforms"
        (xform,) = doc.findall("f:xform", NS)
        assert {child.tag.split("}")[1]: child.text for child in xform} == {
            "formID": "household",
            "name": "Simple form",
            "version": "2024060101",
            "hash": f"md5:{newer.md5}",
            "descriptionText": "MTM Kazakhstan — international migrant workers survey — round 4",
            "downloadUrl": "http://testserver/forms/household/form.xml",
        }

    def test_hash_is_the_md5_of_the_served_form(self, client, enumerator):
        listed = etree.fromstring(client.get("/formList", **basic("enum01")).content)
        listed_hash = listed.findtext("f:xform/f:hash", namespaces=NS)
        url = listed.findtext("f:xform/f:downloadUrl", namespaces=NS)

        served = client.get(url.removeprefix("http://testserver"), **basic("enum01"))

        assert served.status_code == 200
        assert listed_hash == "md5:" + hashlib.md5(served.content).hexdigest()
        assert served.content.startswith(b'<?xml version="1.0"?>\n<h:html')

    def test_form_id_filter(self, client, enumerator):
        import_form("second")
        assert form_ids(client.get("/formList?formID=second", **basic("enum01"))) == ["second"]

    def test_superuser_sees_every_open_form(self, client, household):
        UserFactory(username="root", is_superuser=True, is_staff=True)
        assert form_ids(client.get("/formList", **basic("root"))) == ["household"]


@pytest.mark.django_db
class TestFormDownload:
    def test_older_version_stays_downloadable(self, client, enumerator, household):
        questionnaire_import(source=simple_form(form_id="household", version="9"), filename="h.md")

        current = client.get("/forms/household/form.xml", **basic("enum01"))
        old = client.get("/forms/household/form.xml?version=2024050101", **basic("enum01"))

        assert b'version="9"' in current.content
        assert old.content == household.xform_xml.encode()

    def test_unknown_or_unassigned_form_is_404_in_an_openrosa_envelope(self, client, enumerator):
        RoundFactory(number=9)
        import_form("elsewhere", round_number=9)

        for url in ("/forms/nope/form.xml", "/forms/elsewhere/form.xml", "/forms/household/manifest?version=x"):
            response = client.get(url, **basic("enum01"))
            assert response.status_code == 404
            doc = etree.fromstring(response.content)
            assert doc.tag == "{http://openrosa.org/http/response}OpenRosaResponse"
            assert doc.find("r:message", NS).get("nature") == "error"

    def test_manifest_lists_media_with_md5_and_serves_them(self, client, enumerator, household):
        assert etree.fromstring(client.get("/forms/household/manifest", **basic("enum01")).content).findall(
            "m:mediaFile", NS) == []
        content = b"name,label\nuz,Uzbekistan\n"
        media = QuestionnaireMedia(questionnaire=household, filename="countries.csv",
                                   md5=hashlib.md5(content).hexdigest(), content_type="text/csv")
        media.file.save("countries.csv", ContentFile(content))

        listed = etree.fromstring(client.get("/formList", **basic("enum01")).content)
        manifest = etree.fromstring(client.get("/forms/household/manifest", **basic("enum01")).content)
        (entry,) = manifest.findall("m:mediaFile", NS)
        download = client.get("/forms/household/media/countries.csv", **basic("enum01"))

        assert listed.findtext("f:xform/f:manifestUrl", namespaces=NS) == "http://testserver/forms/household/manifest"
        assert entry.findtext("m:filename", namespaces=NS) == "countries.csv"
        assert entry.findtext("m:hash", namespaces=NS) == "md5:" + hashlib.md5(content).hexdigest()
        assert entry.findtext("m:downloadUrl", namespaces=NS) == (
            "http://testserver/forms/household/media/countries.csv")
        assert b"".join(download.streaming_content) == content
        assert client.get("/forms/household/media/other.csv", **basic("enum01")).status_code == 404


@pytest.mark.django_db
class TestAnonymousForms:
    def test_user_prefix_lists_only_anonymous_forms_without_credentials(self, client):
        round_ = import_form("open_form", allow_anonymous=True).round
        import_form("private_form")
        AssignmentFactory(enumerator=EnumeratorFactory(user=UserFactory(username="enum01")), round=round_)

        listed = client.get("/enum01/formList")
        assert listed.status_code == 200
        assert form_ids(listed) == ["open_form"]
        assert etree.fromstring(listed.content).findtext("f:xform/f:downloadUrl", namespaces=NS) == (
            "http://testserver/enum01/forms/open_form/form.xml")
        assert client.get("/enum01/forms/open_form/form.xml").status_code == 200
        assert client.get("/enum01/forms/private_form/form.xml").status_code == 404
        assert client.get("/nobody/formList").status_code == 404
