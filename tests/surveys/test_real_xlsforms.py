"""Real XLSForms from public repositories (``../shared/xlsforms/``, read in place, never copied here):
every form pyxform converts imports as published — offered in ``/formList`` to an assigned enumerator and
downloadable with the ``md5:`` the list gives — and every form pyxform refuses is refused with its message
and exit 2, nothing stored. Then a valid interview of five of them (repeats, ``select_one_from_file``, media
in choices, several languages) posted over OpenRosa is accepted and validated as valid."""

from __future__ import annotations

import hashlib
import uuid
from functools import cache
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from lxml import etree
from pyxform.errors import PyXFormError
from pyxform.xls2xform import convert

from surveys.models import Questionnaire, Round, Submission, Survey
from surveys.selectors.reports import round_tabulate
from tests.factories import AssignmentFactory, EnumeratorFactory, UserFactory
from tests.forms import shared_xlsforms
from tests.submissions import auth, multipart

NS = {"f": "http://openrosa.org/xforms/xformsList", "m": "http://openrosa.org/xforms/xformsManifest"}
REPO = Path(__file__).resolve().parents[2]


FOLDER = shared_xlsforms()
FORMS = sorted(p for p in FOLDER.iterdir() if p.name != "README.md") if FOLDER else []
needs_forms = pytest.mark.skipif(FOLDER is None, reason="the shared XLSForms are not here: set MTM_SHARED_XLSFORMS "
                                                        "to the folder ../shared/xlsforms of the repository")


@cache
def pyxform_says(path: Path) -> tuple[bool, str]:
    """What pyxform itself makes of the file: (converts, its error message)."""
    try:
        convert(xlsform=str(path))
    except PyXFormError as err:
        return False, str(err).strip()
    return True, ""


def stored() -> tuple[int, int, int]:
    return Questionnaire.objects.count(), Survey.objects.count(), Round.objects.count()


def enumerator_for(round_: Round, username: str = "enum01"):
    user = UserFactory(username=username)
    AssignmentFactory(enumerator=EnumeratorFactory(user=user), round=round_)
    return user


def import_form(path: Path, *extra: str, capsys=None) -> Questionnaire:
    call_command("import_xlsform", str(path), "--survey", "real", "--round", "1", *extra)
    form_id, version = capsys.readouterr().out.strip().rsplit(" ", 1)
    return Questionnaire.objects.get(form_id=form_id, version=version)


@needs_forms
def test_pyxform_converts_31_of_the_38_forms():
    verdicts = [pyxform_says(path)[0] for path in FORMS]
    assert (len(FORMS), verdicts.count(True), verdicts.count(False)) == (38, 31, 7)


@needs_forms
@pytest.mark.django_db
@pytest.mark.parametrize("path", FORMS, ids=[p.name for p in FORMS])
def test_every_form_imports_as_pyxform_converts_it(path, client, capsys):
    converts, message = pyxform_says(path)
    if not converts:
        with pytest.raises(CommandError) as refused:
            call_command("import_xlsform", str(path), "--survey", "real", "--round", "1")
        assert refused.value.returncode == 2
        assert str(refused.value) == f"{path.name}: {message}"
        assert stored() == (0, 0, 0)
        return

    q = import_form(path, capsys=capsys)
    enumerator_for(q.round)
    listed = etree.fromstring(client.get("/formList", **auth()).content)
    (entry,) = [x for x in listed.findall("f:xform", NS) if x.findtext("f:formID", namespaces=NS) == q.form_id]
    assert entry.findtext("f:version", namespaces=NS) == q.version
    assert entry.findtext("f:hash", namespaces=NS) == f"md5:{q.md5}"
    download = client.get(entry.findtext("f:downloadUrl", namespaces=NS).removeprefix("http://testserver"),
                          **auth())
    assert download.status_code == 200
    assert f"md5:{hashlib.md5(download.content).hexdigest()}" == f"md5:{q.md5}"
    root = etree.fromstring(download.content).find(".//{http://www.w3.org/2002/xforms}instance/*")
    assert (root.get("id"), root.get("version")) == (q.form_id, q.version)
    manifest_url = entry.findtext("f:manifestUrl", namespaces=NS)
    assert (manifest_url is not None) == bool(q.media_needed)
    if manifest_url:
        manifest = etree.fromstring(client.get(manifest_url.removeprefix("http://testserver"), **auth()).content)
        attached = {m.filename: f"md5:{m.md5}" for m in q.media.all()}
        assert {e.findtext("m:filename", namespaces=NS): e.findtext("m:hash", namespaces=NS)
                for e in manifest.findall("m:mediaFile", NS)} == attached


@needs_forms
@pytest.mark.django_db
class TestVersionsAsWritten:
    """The settings' version as Excel shows the cell, whatever type it has."""

    @pytest.mark.parametrize(("name", "form_id", "version"), [
        ("04_ODK_XLSForm_Template_v2023.1.xlsx", "04_ODK_XLSForm_Template_v2023.1", "20250515003701"),
        ("32_UCL_Biomass_Plot_Form.xlsx", "32_UCL_Biomass_Plot_Form", "2022-04-11T16:26:29"),
        ("10_waterpoints.xls", "waterpoints", "2023-04-23T09:06:30"),
        ("05_smaple_PUBLISHED_-_All_question_types.xlsx", "all-question-types", "2024091201"),
        ("19_household.xlsx", "serious_survey", None),
    ], ids=["formula-text-now", "formula-now-date-format", "xls-date", "number", "id_string"])
    def test_form_id_and_version(self, name, form_id, version, capsys):
        q = import_form(FOLDER / name, capsys=capsys)
        assert q.form_id == form_id
        if version is None:
            assert q.version_assigned is True and len(q.version) == 10 and q.version.isdigit()
        else:
            assert (q.version, q.version_assigned) == (version, False)
            assert f'version="{version}"' in q.xform_xml


def send(client, xml: str, django_capture_on_commit_callbacks) -> Submission:
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/submission", multipart(xml.encode()), **auth())
    assert response.status_code == 201, response.content
    return Submission.objects.get(instance_id=etree.fromstring(xml.encode()).findtext("meta/instanceID"))


def iid() -> str:
    return f"uuid:{uuid.uuid4()}"


@needs_forms
@pytest.mark.django_db
class TestValidInterviewsOfRealForms:
    def test_nested_repeats(self, client, capsys, django_capture_on_commit_callbacks):
        q = import_form(FOLDER / "20_nested_repeats.xlsx", capsys=capsys)
        enumerator_for(q.round)
        sub = send(client, (
            f'<data id="nested_repeats" version="{q.version}"><kids><has_kids>1</has_kids>'
            "<kids_details><kids_name>Amina</kids_name><kids_age>7</kids_age>"
            "<kids_immunization><immunization_info>polio</immunization_info></kids_immunization>"
            "<kids_immunization><immunization_info>measles</immunization_info></kids_immunization></kids_details>"
            "<kids_details><kids_name>Omar</kids_name><kids_age>4</kids_age></kids_details>"
            "<nested_group><nested_name>Ali</nested_name><nested_age>40</nested_age></nested_group></kids>"
            "<address>Almaty</address><gps/><web_browsers>firefox chrome</web_browsers>"
            f"<meta><instanceID>{iid()}</instanceID></meta></data>"), django_capture_on_commit_callbacks)

        assert (sub.questionnaire_id, sub.validation, sub.problems) == (q.pk, "valid", [])

    def test_select_one_from_file_reads_the_attached_csv(self, client, capsys, tmp_path,
                                                         django_capture_on_commit_callbacks):
        communities = tmp_path / "communities.csv"
        communities.write_text("name,label\nkibera,Kibera\nmathare,Mathare\n")
        q = import_form(FOLDER / "11_solidwaste.xlsx", "--media", str(communities), capsys=capsys)
        enumerator_for(q.round)

        def interview(community: str) -> str:
            return (f'<data id="solidwaste_v2" version="{q.version}"><start>2024-05-02T10:00:00.000+05:00</start>'
                    "<end>2024-05-02T10:20:00.000+05:00</end><today>2024-05-02</today><city>Nairobi</city>"
                    f"<street>Moi Avenue</street><communities>{community}</communities><location/>"
                    "<name>Depot 4</name><amenity>recycling</amenity><recycle>plastic</recycle>"
                    "<status>operational</status><comment/>"
                    f"<meta><instanceID>{iid()}</instanceID></meta></data>")

        valid = send(client, interview("kibera"), django_capture_on_commit_callbacks)
        invalid = send(client, interview("atlantis"), django_capture_on_commit_callbacks)

        assert q.schema_rev == 1
        assert q.schema["choices"]["communities.csv"] == [
            {"name": "kibera", "label": {"default": "Kibera"}, "extra": {}},
            {"name": "mathare", "label": {"default": "Mathare"}, "extra": {}}]
        assert (valid.validation, valid.problems) == ("valid", [])
        assert invalid.validation == "invalid"
        assert [(p["path"], p["code"]) for p in invalid.problems] == [("communities", "type")]
        table = next(t for t in round_tabulate(form_id="solidwaste_v2", round_number=1)["questions"]
                     if t["name"] == "communities")
        assert [(r["value"], r["label"], r["count"]) for r in table["rows"]] == [
            ("kibera", "Kibera", 1), ("mathare", "Mathare", 0)]

    def test_media_in_choices(self, client, capsys, tmp_path, django_capture_on_commit_callbacks):
        media = tmp_path / "media"
        media.mkdir()
        for name in ("a.jpg", "b.jpg", "happy.jpg", "sad.jpg"):
            (media / name).write_bytes(b"\xff\xd8\xff" + name.encode())
        q = import_form(FOLDER / "30_widgets.xls", "--media", str(media), capsys=capsys)
        enumerator_for(q.round)
        manifest = etree.fromstring(client.get("/forms/30_widgets/manifest", **auth()).content)
        assert [(e.findtext("m:filename", namespaces=NS), e.findtext("m:hash", namespaces=NS))
                for e in manifest.findall("m:mediaFile", NS)] == [
            (name, "md5:" + hashlib.md5(b"\xff\xd8\xff" + name.encode()).hexdigest())
            for name in ("a.jpg", "b.jpg", "happy.jpg", "sad.jpg")]

        sub = send(client, (
            f'<data id="30_widgets" version="{q.version}"><my_string>hello</my_string><my_int>5</my_int>'
            "<my_select1>2</my_select1><grid_test>a</grid_test><grid_test_audio>b</grid_test_audio>"
            "<happy_sad_table_2><happy_sad_second_method>happy</happy_sad_second_method>"
            "<happy_sad_brian2>sad</happy_sad_brian2></happy_sad_table_2>"
            f"<meta><instanceID>{iid()}</instanceID></meta></data>"), django_capture_on_commit_callbacks)

        assert (sub.validation, sub.problems) == ("valid", [])

    def test_several_languages(self, client, capsys, django_capture_on_commit_callbacks):
        q = import_form(FOLDER / "18_good_eats_multilang.xlsx", capsys=capsys)
        enumerator_for(q.round)
        assert q.schema["languages"] == ["English", "French"]
        sub = send(client, (
            f'<data id="18_good_eats_multilang" version="{q.version}"><submit_data>2024-05-02</submit_data>'
            "<food_type>lunch</food_type><food_type_other/><description>Plov</description><amount>12.5</amount>"
            "<rating>delectible</rating><risk_factor>low_risk</risk_factor><location_name>Bazaar</location_name>"
            f"<gps/><submit_date>2024-05-02</submit_date><meta><instanceID>{iid()}</instanceID></meta></data>"),
            django_capture_on_commit_callbacks)

        assert (sub.validation, sub.problems) == ("valid", [])
