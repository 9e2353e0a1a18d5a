"""XLSForm conversion and questionnaire import."""

import hashlib

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from surveys.errors import QuestionnaireVersionConflict, XLSFormError
from surveys.models import Questionnaire, Round, Survey
from surveys.services.questionnaires import questionnaire_import
from surveys.services.xlsform import xlsform_convert
from tests.forms import FORMS, form_bytes, simple_form


def field(schema, path):
    return next(f for f in schema["fields"] if f["path"] == path)


def stored_counts():
    return Questionnaire.objects.count(), Survey.objects.count(), Round.objects.count()


class TestConvert:
    def test_groups_repeats_languages_relevance_and_privacy_reach_the_schema(self):
        converted = xlsform_convert(source=form_bytes("household.md"), filename="household.md")
        schema = converted.schema

        assert (converted.form_id, converted.version, converted.title) == ("household", "2024050101",
                                                                          "Household survey")
        assert converted.md5 == hashlib.md5(converted.xform_xml.encode()).hexdigest()
        assert schema["languages"] == ["English (en)", "Russian (ru)"]
        assert schema["default_language"] == "English (en)"
        assert [f["path"] for f in schema["fields"]] == [
            "start", "end", "deviceid", "resp", "resp/name", "resp/passport", "resp/sex", "resp/age",
            "resp/gps", "country", "region", "dependants", "member", "member/member_age", "reasons", "income",
            "income_kzt", "meta", "meta/instanceID",
        ]
        age = field(schema, "resp/age")
        assert age == {
            "path": "resp/age", "name": "age", "type": "integer", "xpath": "/data/resp/age", "data_type": "int",
            "label": {"English (en)": "Age", "Russian (ru)": "Возраст"}, "hint": {}, "list_name": None,
            "required": "true()", "relevant": None, "constraint": ". >= 14 and . <= 80",
            "constraint_message": None, "calculate": None, "choice_filter": None, "privacy": "quasi",
            "parent": "resp", "repeat": None,
        }
        assert field(schema, "member")["type"] == "repeat"
        assert field(schema, "member")["relevant"] == "/data/dependants > 0"
        assert field(schema, "member/member_age")["repeat"] == "member"
        assert field(schema, "reasons")["type"] == "select_multiple"
        assert field(schema, "reasons")["relevant"] == "selected( /data/resp/sex , 'female')"
        assert field(schema, "region")["choice_filter"] == "country=${country}"
        assert field(schema, "income_kzt")["calculate"] == "/data/income * 450"
        assert {f["path"]: f["privacy"] for f in schema["fields"] if f["privacy"]} == {
            "deviceid": "identifier", "resp/name": "identifier", "resp/passport": "pseudonym",
            "resp/sex": "quasi", "resp/age": "quasi", "resp/gps": "location",
        }
        assert schema["choices"]["sex"] == [
            {"name": "male", "label": {"English (en)": "Male", "Russian (ru)": "Мужской"}, "extra": {}},
            {"name": "female", "label": {"English (en)": "Female", "Russian (ru)": "Женский"}, "extra": {}},
        ]
        assert schema["choices"]["region"][0]["extra"] == {"country": "uz"}

    @pytest.mark.parametrize(("rows", "message"), [
        ("| | integer | age | Age |\n| | integer | age | Age again |",
         "[row : 4] On the 'survey' sheet, the 'name' value 'age' is invalid."),
        ("| | text | q2 | Q2 |\n| | integer | q3 | ${nope} |",
         "Could not find the name 'nope'."),
        ("| | select_one nolist | s | S |", "There should be a choices sheet in this xlsform."),
    ], ids=["duplicate-name", "bad-reference", "missing-choices"])
    def test_broken_forms_are_refused_with_pyxforms_message(self, rows, message):
        with pytest.raises(XLSFormError) as err:
            xlsform_convert(source=simple_form(extra_rows=rows), filename="f.md")
        assert message in err.value.message

    def test_bad_reference_names_its_row(self):
        source = simple_form(extra_rows="| | integer | q2 | Q2 |\n| | note | q3 | Value ${nope} |")
        with pytest.raises(XLSFormError) as err:
            xlsform_convert(source=source, filename="f.md")
        assert err.value.message.startswith("[row : 4] On the 'survey' sheet, the 'label' value is invalid.")

    def test_missing_list_on_choices_sheet(self):
        source = b"""
| survey |
| | type | name | label |
| | select_one colours | c | Colour |
| choices |
| | list_name | name | label |
| | sizes | s | Small |
| settings |
| | form_id | version |
| | f | 1 |
"""
        with pytest.raises(XLSFormError) as err:
            xlsform_convert(source=source, filename="f.md")
        assert err.value.message == "[row : 2] List name not in choices sheet: colours"

    @pytest.mark.parametrize(("row", "message"), [
        ("| | text | q2 | Q2 | secret |",
         "[row : 3] On the 'survey' sheet, the 'privacy' value 'secret' is invalid. It must be one of: "
         "identifier, pseudonym, quasi, location."),
        ("| | integer | q2 | Q2 | location |",
         "[row : 3] On the 'survey' sheet, the 'privacy' value 'location' is invalid on a 'integer' question."),
        ("| | begin group | g | G | quasi |\n| | text | q2 | Q2 | |\n| | end group | | | |",
         "[row : 3] On the 'survey' sheet, the 'privacy' value 'quasi' is invalid on a 'begin group' row."),
    ], ids=["unknown-tag", "location-on-integer", "tag-on-group"])
    def test_bad_privacy_tags_are_refused_with_their_row(self, row, message):
        source = f"""
| survey |
| | type | name | label | privacy |
| | text | q1 | Q1 | |
{row}
| settings |
| | form_id | version |
| | f | 1 |
""".encode()
        with pytest.raises(XLSFormError) as err:
            xlsform_convert(source=source, filename="f.md")
        assert err.value.message.startswith(message)

    def test_form_id_from_form_id_else_id_string_else_the_file_name_and_no_version_is_left_to_the_server(self):
        survey = "| survey |\n| | type | name | label |\n| | text | q | Q |\n"
        cases = {
            "| settings |\n| | form_id | version |\n| | f | 7 |": ("f", "7"),
            "| settings |\n| | id_string |\n| | legacy |": ("legacy", None),
            "| settings |\n| | form_title |\n| | Title only |": ("My form 2", None),
            "": ("My form 2", None),
        }
        for settings, expected in cases.items():
            converted = xlsform_convert(source=(survey + settings).encode(), filename="uploads/My form 2.md")
            assert (converted.form_id, converted.version) == expected
            assert (' version="7"' in converted.xform_xml) is (expected[1] is not None)

    def test_a_form_id_that_cannot_be_an_address_is_refused(self):
        source = b"| survey |\n| | type | name | label |\n| | text | q | Q |\n| settings |\n| | form_id |\n| | a/b |\n"
        with pytest.raises(XLSFormError) as err:
            xlsform_convert(source=source, filename="f.md")
        assert err.value.message == ("On the 'settings' sheet, the 'form_id' value 'a/b' is invalid: it may not "
                                     "contain '/' or control characters (it is part of the form's addresses).")

    @pytest.mark.parametrize("name", ["household.md", "all_types.md", "validation.md"])
    def test_a_server_version_makes_the_xform_pyxform_writes_with_it(self, name):
        from surveys.services.xlsform import _render

        source = form_bytes(name).replace(b"| settings |", b"| ignored |")
        converted = xlsform_convert(source=source, filename=name)
        versioned = converted.with_version('2026112901&"<')

        assert converted.version is None
        assert versioned.xform_xml == _render(converted.pyxform_data, version='2026112901&"<', warnings=[])
        assert versioned.md5 == hashlib.md5(versioned.xform_xml.encode()).hexdigest()
        assert versioned.schema["version"] == '2026112901&"<'
        assert versioned.content_md5 == converted.content_md5

    def test_pyxforms_warnings_are_kept(self):
        source = (b"| survey |\n| | type | name | label |\n| | begin repeat | r | |\n| | text | q | Q |\n"
                  b"| | end repeat | | |\n")
        converted = xlsform_convert(source=source, filename="r.md")
        assert converted.warnings == ["[row : 2] Repeat has no label: {'name': 'r', 'type': 'begin repeat'}"]

    def test_unsupported_file_and_unreadable_workbook(self):
        with pytest.raises(XLSFormError, match=r"'form\.docx' is not an XLSForm file"):
            xlsform_convert(source=b"x", filename="form.docx")
        with pytest.raises(XLSFormError, match=r"could not be read|not recognized"):
            xlsform_convert(source=b"PK\x03\x04 not really a zip", filename="form.xlsx")

    def test_xlsx_workbook(self, tmp_path):
        from openpyxl import Workbook

        book = Workbook()
        survey = book.active
        survey.title = "survey"
        survey.append(["type", "name", "label::English (en)", "label::Kazakh (kk)", "privacy"])
        survey.append(["text", "phone", "Phone", "Телефон", "identifier"])
        settings = book.create_sheet("settings")
        settings.append(["form_id", "version"])
        settings.append(["xl", "3"])
        path = tmp_path / "xl.xlsx"
        book.save(path)

        converted = xlsform_convert(source=path.read_bytes(), filename="xl.xlsx")

        assert (converted.form_id, converted.version) == ("xl", "3")
        assert field(converted.schema, "phone")["label"] == {"English (en)": "Phone", "Kazakh (kk)": "Телефон"}
        assert field(converted.schema, "phone")["privacy"] == "identifier"


@pytest.mark.django_db
class TestImport:
    def test_import_stores_the_version_in_its_round(self):
        result = questionnaire_import(source=form_bytes("household.md"), filename="household.md",
                                      survey_slug="mtm-kz", round_number=4)

        q = result.questionnaire
        assert result.created is True
        assert (q.form_id, q.version, q.round.survey.slug, q.round.number) == ("household", "2024050101",
                                                                              "mtm-kz", 4)
        assert q.md5 == hashlib.md5(q.xform_xml.encode()).hexdigest()
        assert q.source_file.read() == form_bytes("household.md")
        assert q.schema["form_id"] == "household"

    def test_importing_the_same_version_twice_changes_nothing(self):
        first = questionnaire_import(source=form_bytes("household.md"), filename="household.md")
        before = stored_counts()
        again = questionnaire_import(source=form_bytes("household.md"), filename="household.md")

        assert again.created is False
        assert again.questionnaire.pk == first.questionnaire.pk
        assert stored_counts() == before == (1, 1, 1)

    def test_new_version_is_kept_beside_the_old_one(self):
        old = questionnaire_import(source=simple_form(version="1"), filename="s.md").questionnaire
        new = questionnaire_import(source=simple_form(version="2", extra_rows="| | integer | q2 | Q2 |"),
                                   filename="s.md").questionnaire

        assert list(Questionnaire.objects.filter(form_id="simple").values_list("version", flat=True)
                    .order_by("version")) == ["1", "2"]
        assert new.round_id == old.round_id
        assert [f["path"] for f in Questionnaire.objects.get(version="1").schema["fields"]] == [
            "q1", "meta", "meta/instanceID"]

    def test_same_version_with_other_content_is_refused_and_nothing_changes(self):
        stored = questionnaire_import(source=simple_form(version="1"), filename="s.md").questionnaire
        with pytest.raises(QuestionnaireVersionConflict, match="exists already with different content"):
            questionnaire_import(source=simple_form(version="1", title="Changed"), filename="s.md")

        stored.refresh_from_db()
        assert stored.title == "Simple form"
        assert stored_counts() == (1, 1, 1)

    @pytest.mark.parametrize("name", ["dup", "badref", "nochoices", "badprivacy"])
    def test_broken_form_stores_nothing(self, name):
        rows = {
            "dup": "| | text | q1 | again |",
            "badref": "| | text | q2 | ${missing} |",
            "nochoices": "| | select_one none | q2 | Q2 |",
            "badprivacy": "",
        }[name]
        source = simple_form(extra_rows=rows) if name != "badprivacy" else (
            b"| survey |\n| | type | name | label | privacy |\n| | text | q | Q | secret |\n"
            b"| settings |\n| | form_id | version |\n| | f | 1 |\n")
        with pytest.raises(XLSFormError):
            questionnaire_import(source=source, filename="f.md", survey_slug="new", round_number=2)
        assert stored_counts() == (0, 0, 0)

    def test_round_and_survey_default_to_the_forms_earlier_version(self):
        first = questionnaire_import(source=simple_form(version="1"), filename="s.md", survey_slug="mtm-kz",
                                     round_number=3).questionnaire
        Round.objects.create(survey=first.round.survey, number=4)
        second = questionnaire_import(source=simple_form(version="2", title="v2"), filename="s.md").questionnaire
        assert (second.round.survey.slug, second.round.number) == ("mtm-kz", 3)

    def test_round_zero_is_refused(self):
        from mtm.errors import InvalidInput

        with pytest.raises(InvalidInput):
            questionnaire_import(source=simple_form(), filename="s.md", round_number=0)
        assert stored_counts() == (0, 0, 0)


@pytest.mark.django_db
class TestImportCommand:
    def test_prints_form_id_and_version(self, capsys):
        call_command("import_xlsform", str(FORMS / "household.md"), "--round", "4", "--survey", "mtm-kz")
        assert capsys.readouterr().out == "household 2024050101\n"
        assert Round.objects.get().number == 4

    def test_broken_form_exits_2_with_the_row(self, tmp_path):
        path = tmp_path / "broken.md"
        path.write_bytes(simple_form(extra_rows="| | text | q1 | twice |"))
        with pytest.raises(CommandError) as err:
            call_command("import_xlsform", str(path))
        assert err.value.returncode == 2
        assert str(err.value).startswith("broken.md: [row : 3] On the 'survey' sheet, the 'name' value 'q1'")
        assert stored_counts() == (0, 0, 0)

    def test_missing_file_exits_2(self, tmp_path):
        with pytest.raises(CommandError) as err:
            call_command("import_xlsform", str(tmp_path / "nope.xlsx"))
        assert err.value.returncode == 2


def test_every_question_type_pyxform_supports_reaches_the_schema():
    converted = xlsform_convert(source=(FORMS / "all_types.md").read_bytes(), filename="all_types.md")
    types = {f["name"]: (f["type"], f["data_type"], f["privacy"]) for f in converted.schema["fields"]}

    assert types == {
        "start": ("start", "dateTime", None), "end": ("end", "dateTime", None), "today": ("today", "date", None),
        "deviceid": ("deviceid", "string", "identifier"), "phonenumber": ("phonenumber", "string", "identifier"),
        "username": ("username", "string", "identifier"), "simserial": ("simserial", "string", "identifier"),
        "subscriberid": ("subscriberid", "string", "identifier"),
        "start_gps": ("start-geopoint", "geopoint", "location"),
        "t": ("text", "string", None), "i": ("integer", "int", None), "d": ("decimal", "decimal", None),
        "r": ("range", "int", None), "dt": ("date", "date", None), "tm": ("time", "time", None),
        "dtm": ("dateTime", "dateTime", None), "gp": ("geopoint", "geopoint", None),
        "gt": ("geotrace", "geotrace", None), "gs": ("geoshape", "geoshape", None),
        "so": ("select_one", "string", None), "sm": ("select_multiple", "string", None),
        "rk": ("rank", "odk:rank", None), "sf": ("select_one", "string", None),
        "n": ("note", "string", None), "ack": ("acknowledge", "string", None),
        "img": ("photo", "binary", None), "aud": ("audio", "binary", None), "vid": ("video", "binary", None),
        "f": ("file", "binary", None), "bc": ("barcode", "barcode", None), "h": ("hidden", "string", None),
        "c": ("calculate", "string", None), "meta": ("group", None, None), "instanceID": ("calculate", "string", None),
    }
    assert field(converted.schema, "sf")["list_name"] == "places.csv"
