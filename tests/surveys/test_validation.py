"""Validation of instances against real XForms produced by pyxform."""

import datetime as dt

import pytest

from surveys.services.validation import FormRules, submission_validate
from surveys.services.xlsform import xlsform_convert
from tests.forms import form_bytes

NOW = dt.datetime(2024, 5, 2, 12, 0, tzinfo=dt.UTC)
BASE = {
    "sex": "female", "age": "30", "income": "12.5", "arrived": "2024-01-10",
    "visit": "2024-05-02T10:00:00.000+05:00", "at": "10:15:00.000+05:00", "gps": "43.2 76.9 800 5",
    "reasons": "work family", "pregnant": "yes", "months": "5", "phone": "+77011234567", "initials": "AB",
    "kids": "0", "double_age": "60", "label_text": "x",
}


@pytest.fixture(scope="module")
def rules():
    return FormRules(xlsform_convert(source=form_bytes("validation.md"), filename="validation.md").schema)


def instance(consent="yes", children=(), extra="", **answers):
    a = {**BASE, **answers}
    kids = "".join(f"<child><child_age>{age}</child_age><school>{school}</school></child>" for age, school in children)
    women = f"<women><pregnant>{a['pregnant']}</pregnant><months>{a['months']}</months></women>"
    main = "".join(f"<{k}>{a[k]}</{k}>" for k in ("sex", "age", "income", "arrived", "visit", "at", "gps", "reasons"))
    main += women + "".join(f"<{k}>{a[k]}</{k}>" for k in ("phone", "initials", "kids"))
    main += kids + f"<double_age>{a['double_age']}</double_age><label_text>{a['label_text']}</label_text>{extra}"
    return (f'<data id="validation" version="1"><start>2024-05-02T10:00:00.000+05:00</start>'
            f"<end>2024-05-02T10:30:00.000+05:00</end><consent>{consent}</consent><main>{main}</main>"
            f"<meta><instanceID>uuid:v1</instanceID></meta></data>").encode()


def problems(rules, xml):
    return [(p.path, p.code, p.message) for p in submission_validate(xml=xml, rules=rules, now=NOW).problems]


def test_a_valid_instance_gives_typed_answers(rules):
    result = submission_validate(xml=instance(kids="2", children=(("4", ""), ("8", "yes"))), rules=rules, now=NOW)
    assert result.status == "valid"
    assert result.answers == {
        "start": "2024-05-02T10:00:00.000+05:00", "end": "2024-05-02T10:30:00.000+05:00", "consent": "yes",
        "main/sex": "female", "main/age": 30, "main/income": 12.5, "main/arrived": "2024-01-10",
        "main/visit": "2024-05-02T10:00:00.000+05:00", "main/at": "10:15:00.000+05:00",
        "main/gps": "43.2 76.9 800 5", "main/reasons": ["work", "family"], "main/women/pregnant": "yes",
        "main/women/months": 5, "main/phone": "+77011234567", "main/initials": "AB", "main/kids": 2,
        "main/child": [{"main/child/child_age": 4}, {"main/child/child_age": 8, "main/child/school": "yes"}],
        "main/double_age": "60", "main/label_text": "x", "meta/instanceID": "uuid:v1",
    }


@pytest.mark.parametrize(("answers", "expected"), [
    ({"age": "thirty", "label_text": ""}, ("main/age", "type", "Age: 'thirty' is not a whole number.")),
    ({"income": "12,5"}, ("main/income", "type", "Income: '12,5' is not a number.")),
    ({"arrived": "10/01/2024"}, ("main/arrived", "type", "Arrival date: '10/01/2024' is not a date (YYYY-MM-DD).")),
    ({"arrived": "2024-02-30"}, ("main/arrived", "type", "Arrival date: '2024-02-30' is not a date (YYYY-MM-DD).")),
    ({"visit": "2024-05-02T10:00:00"}, ("main/visit", "type",
                                         "Visit: '2024-05-02T10:00:00' has no time zone offset.")),
    ({"visit": "yesterday"}, ("main/visit", "type", "Visit: 'yesterday' is not a date and time.")),
    ({"at": "25h"}, ("main/at", "type", "Time: '25h' is not a time (HH:MM:SS).")),
    ({"gps": "43.2"}, ("main/gps", "type",
                       "GPS: the answer is not a GPS point (latitude longitude altitude accuracy).")),
    ({"gps": "143.2 76.9 0 5"}, ("main/gps", "type",
                                 "GPS: the answer is outside the range of latitudes and longitudes.")),
    ({"sex": "other", "pregnant": "", "months": ""},
     ("main/sex", "type", "Sex: 'other' is not a choice of this question.")),
    ({"sex": "male female", "pregnant": "", "months": ""},
     ("main/sex", "type", "Sex: 'male female' is more than one choice.")),
    ({"reasons": "work holiday"}, ("main/reasons", "type", "Reasons: 'holiday' is not a choice of this question.")),
    ({"reasons": "work work"}, ("main/reasons", "type", "Reasons: 'work work' repeats a choice.")),
], ids=["integer", "decimal", "date-format", "date-impossible", "datetime-offset", "datetime", "time", "geopoint",
        "geopoint-range", "select-one", "select-one-two", "select-multiple", "select-multiple-repeat"])
def test_each_type_error(rules, answers, expected):
    assert problems(rules, instance(**answers)) == [expected]


@pytest.mark.parametrize(("answers", "expected"), [
    ({"age": "12", "label_text": ""}, ("main/age", "constraint", "Age: Age must be 14 to 80 ('12').")),
    ({"arrived": "2024-06-01"}, ("main/arrived", "constraint",
                                 "Arrival date: Arrival cannot be in the future ('2024-06-01').")),
    ({"reasons": "work none"}, ("main/reasons", "constraint", "Reasons: None excludes others ('work none').")),
    ({"phone": "call me"}, ("main/phone", "constraint", "Phone: Digits only.")),
    ({"initials": "ABCD"}, ("main/initials", "constraint", "Initials: the answer is not allowed.")),
    ({"income": "-1"}, ("main/income", "constraint", "Income: the answer is not allowed ('-1').")),
], ids=["range", "date-vs-today", "exclusive-choice", "regex", "string-length", "no-message"])
def test_constraints(rules, answers, expected):
    assert problems(rules, instance(**answers)) == [expected]


def test_required_answers(rules):
    assert problems(rules, instance(age="", label_text="")) == [
        ("main/age", "required", "Age: the answer is required but missing.")]
    no_consent = (b'<data id="validation" version="1"><consent/><main><sex/></main>'
                  b"<meta><instanceID>uuid:v4</instanceID></meta></data>")
    assert problems(rules, no_consent) == [("consent", "required", "Consent: the answer is required but missing.")]


def test_a_malformed_answer_counts_as_no_answer_for_other_expressions(rules):
    # label_text is relevant only if age > 17: with an unreadable age it is not relevant.
    assert problems(rules, instance(age="thirty")) == [
        ("main/age", "type", "Age: 'thirty' is not a whole number."),
        ("main/label_text", "not_relevant", "Label: answered although it was not relevant."),
    ]


def test_nested_relevance(rules):
    # A man: the women-only group is not relevant, so its answers must be empty and are not required.
    assert problems(rules, instance(sex="male", pregnant="", months="")) == []
    # A woman who is not pregnant: months is not relevant inside a relevant group.
    assert problems(rules, instance(pregnant="no", months="")) == []
    assert problems(rules, instance(pregnant="no", months="3")) == [
        ("main/women/months", "not_relevant", "Months: answered ('3') although it was not relevant.")]
    # Pregnant: months is relevant and required.
    assert problems(rules, instance(pregnant="yes", months="")) == [
        ("main/women/months", "required", "Months: the answer is required but missing.")]


def test_refused_consent_makes_the_whole_group_not_relevant(rules):
    result = submission_validate(xml=instance(consent="no", kids="1", children=(("4", ""),)), rules=rules, now=NOW)
    codes = {(p.path, p.code) for p in result.problems}
    assert ("main/age", "not_relevant") in codes
    assert ("main/child[1]", "not_relevant") in codes
    assert "main/age" not in result.answers
    empty = (b'<data id="validation" version="1"><consent>no</consent><main><sex/><age/></main>'
             b"<meta><instanceID>uuid:v2</instanceID></meta></data>")
    assert problems(rules, empty) == []


def test_repeats_are_checked_per_record_with_relative_references(rules):
    assert problems(rules, instance(kids="2", children=(("40", ""), ("3", "yes")))) == [
        ("main/child[1]/child_age", "constraint", "Child age: Younger than the parent ('40')."),
        ("main/child[2]/school", "not_relevant", "In school: answered ('yes') although it was not relevant."),
    ]
    assert problems(rules, instance(kids="0", children=(("4", ""),))) == [
        ("main/child[1]", "not_relevant", "Child: answered although it was not relevant.")]
    assert problems(rules, instance(kids="1", children=(("", ""),))) == [
        ("main/child[1]/child_age", "required", "Child age: the answer is required but missing.")]


def test_unknown_fields_and_missing_required_nodes(rules):
    assert problems(rules, instance(extra="<surprise>1</surprise>")) == [
        ("main/surprise", "unknown_field", "'main/surprise' is not a question of this form version.")]
    bare = (b'<data id="validation" version="1"><consent>yes</consent><main></main>'
            b"<meta><instanceID>uuid:v3</instanceID></meta></data>")
    assert problems(rules, bare) == [
        ("main/sex", "required", "Sex: the answer is required but missing."),
        ("main/age", "required", "Age: the answer is required but missing."),
    ]


def test_validating_twice_gives_the_same_result(rules):
    first = submission_validate(xml=instance(age="12", kids="1", children=(("4", ""),)), rules=rules, now=NOW)
    second = submission_validate(xml=instance(age="12", kids="1", children=(("4", ""),)), rules=rules, now=NOW)
    assert len(first.problems) == 2
    assert (first.answers, first.problems) == (second.answers, second.problems)


def test_household_form_from_the_fixtures(db):
    schema = xlsform_convert(source=form_bytes("household.md"), filename="household.md").schema
    xml = (b'<data id="household" version="2024050101"><resp><name>Ali</name><passport>N123</passport>'
           b"<sex>male</sex><age>33</age><gps/></resp><country>uz</country><region>tashkent</region>"
           b"<dependants>1</dependants><member><member_age>5</member_age></member><reasons>work</reasons>"
           b"<income/><income_kzt/><meta><instanceID>uuid:h1</instanceID></meta></data>")
    result = submission_validate(xml=xml, rules=FormRules(schema), now=NOW)
    assert [(p.path, p.code) for p in result.problems] == [("reasons", "not_relevant")]
    assert result.answers["member"] == [{"member/member_age": 5}]


def test_a_relevant_group_left_out_counts_its_questions_as_asked(db):
    schema = xlsform_convert(source=form_bytes("household.md"), filename="household.md").schema
    xml = (b'<data id="household" version="2024050101"><country>uz</country><region>tashkent</region>'
           b"<dependants>0</dependants><income/><income_kzt/><meta><instanceID>uuid:h2</instanceID></meta></data>")

    result = submission_validate(xml=xml, rules=FormRules(schema), now=NOW)

    assert [(p.path, p.code) for p in result.problems] == [("resp/sex", "required"), ("resp/age", "required")]
    assert result.unanswered == ["income", "resp/name", "resp/passport", "resp/sex", "resp/age", "resp/gps"]


def test_today_is_the_evaluations_own_when_one_expression_is_compiled_once():
    """The compiled expression is kept once per expression (not per minute received): today() and now() are
    read from the evaluation under way, so the same constraint gives each submission its own verdict."""
    from lxml import etree

    from surveys.services.xpath import evaluate

    node = etree.fromstring("<data><seen>19845.0</seen></data>")  # 2024-05-02 as days since 1970
    seen = node.find("seen")
    before, on, after = (dt.datetime(2024, 5, d, 6, 0, tzinfo=dt.UTC) for d in (1, 2, 3))
    assert [evaluate(". <= today()", seen, now=moment) for moment in (before, on, after, before)] == [
        False, True, True, False]
    assert evaluate("now() > 19846", seen, now=after) is True
    assert evaluate("now() > 19846", seen, now=on) is False
