"""surveys.demo.sample: synthetic Collect submissions of the demo form. The
checks read the form itself (through ``xlsform_convert``) and evaluate its own
relevant / required / constraint / choice_filter / calculate expressions with
a small XPath 1.0 evaluator covering the operators and functions the form
uses. No database."""

from __future__ import annotations

import datetime as dt
import math
import re
import uuid
from collections import Counter
from typing import Any

import pytest
from lxml import etree

from surveys.demo.sample import BOXES, ENUMERATORS, FORM, LOCATIONS, DemoInstance, demo_instances
from surveys.services.instance import instance_header, parse_instance
from surveys.services.xlsform import xlsform_convert

HEADER = (b'<?xml version="1.0"?><data xmlns:jr="http://openrosa.org/javarosa" '
          b'xmlns:orx="http://openrosa.org/xforms" id="mtm_kz_r4" version="2024040102">')
STAMP = re.compile(r"^2024-0[45]-\d\dT\d\d:\d\d:\d\d\.\d{3}\+05:00$")


# --- a small XPath 1.0 evaluator for the form's expressions --------------------------------------------------------

TOKEN = re.compile(r"\s*(?:('[^']*')|(\d+(?:\.\d+)?)|(!=|<=|>=|=|<|>|\*|\(|\)|,)|(/[\w/]+|\.|[A-Za-z_][\w-]*))")


def number(value: Any) -> float:
    if isinstance(value, bool | float):
        return float(value)
    try:
        return float(value) if value.strip() else math.nan
    except ValueError:
        return math.nan


def boolean(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isnan(value) and value != 0
    return bool(value)


FUNCTIONS = {
    "true": lambda: True, "false": lambda: False, "not": lambda v: not boolean(v),
    "selected": lambda s, v: v in s.split(), "count-selected": lambda s: float(len(s.split())),
    "regex": lambda s, pattern: re.search(pattern, s) is not None,
}


class XPath:
    """Evaluates ``expression`` against ``values`` (form path "group/name" → text); ``.`` is ``here``; a bare
    name is a column of the choice being filtered (choice_filter)."""

    def __init__(self, expression: str, values: dict[str, str], *, here: str = "", columns: dict | None = None):
        self.tokens, position = [], 0
        while expression[position:].strip():
            match = TOKEN.match(expression, position)
            assert match, f"cannot read {expression[position:]!r}"
            kind = match.lastindex
            self.tokens.append(("str num op name".split()[kind - 1], match.group(kind)))
            position = match.end()
        self.values, self.here, self.columns, self.position = values, here, columns or {}, 0

    def value(self) -> Any:
        result = self._or()
        assert self.position == len(self.tokens), f"trailing tokens in {self.tokens}"
        return result

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _take(self) -> tuple[str, str]:
        self.position += 1
        return self.tokens[self.position - 1]

    def _binary(self, operand, operators: set[str], kinds: set[str]):
        left = operand()
        while (token := self._peek()) and token[0] in kinds and token[1] in operators:
            operator = self._take()[1]
            left = self._apply(operator, left, operand())
        return left

    def _or(self):
        return self._binary(self._and, {"or"}, {"name"})

    def _and(self):
        return self._binary(self._equality, {"and"}, {"name"})

    def _equality(self):
        return self._binary(self._relational, {"=", "!="}, {"op"})

    def _relational(self):
        return self._binary(self._product, {"<", ">", "<=", ">="}, {"op"})

    def _product(self):
        return self._binary(self._primary, {"*"}, {"op"})

    @staticmethod
    def _apply(operator: str, a: Any, b: Any) -> Any:
        if operator in ("and", "or"):
            return boolean(a) and boolean(b) if operator == "and" else boolean(a) or boolean(b)
        if operator == "*":
            return number(a) * number(b)
        if operator in ("=", "!="):
            if isinstance(a, bool) or isinstance(b, bool):
                a, b = boolean(a), boolean(b)
            elif isinstance(a, float) or isinstance(b, float):
                a, b = number(a), number(b)
            return (a == b) if operator == "=" else (a != b)
        a, b = number(a), number(b)
        return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[operator]

    def _primary(self) -> Any:
        kind, text = self._take()
        if kind == "str":
            return text[1:-1]
        if kind == "num":
            return float(text)
        if text == "(":
            result = self._or()
            assert self._take() == ("op", ")")
            return result
        if self._peek() == ("op", "("):
            self._take()
            args = []
            while self._peek() != ("op", ")"):
                args.append(self._or())
                if self._peek() == ("op", ","):
                    self._take()
            self._take()
            return FUNCTIONS[text](*args)
        if text == ".":
            return self.here
        if text.startswith("/data/"):
            return self.values[text.removeprefix("/data/")]
        return self.columns[text]


def xpath(expression: str, values: dict[str, str], **context: Any) -> Any:
    return XPath(expression, values, **context).value()


class TestXPath:
    def test_reads_the_forms_operators_like_xpath_1(self):
        values = {"a/sex": "female", "a/n": "3", "a/multi": "x y", "a/empty": ""}
        assert xpath("/data/a/sex = 'female' or /data/a/sex = 'male'", values) is True
        assert xpath("/data/a/n > 0 and /data/a/n * 450 = 1350", values) is True
        assert xpath("/data/a/empty > 0", values) is False
        assert xpath("/data/a/multi != '' and not(selected(/data/a/multi, 'z'))", values) is True
        assert xpath("not(selected(., 'refuse') and count-selected(.) > 1)", values, here="refuse x") is False
        assert xpath(". >= 14 and . <= 80", values, here="13") is False
        assert xpath("regex(., '^\\+?[0-9]{9,15}$')", values, here="+77011234567") is True
        assert xpath("regex(., '^\\+?[0-9]{9,15}$')", values, here="+7 701 123") is False
        assert xpath("country = /data/a/sex", values, columns={"country": "female"}) is True
        assert math.isnan(xpath("/data/a/empty * 450", values))


# --- the form and the sample --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return xlsform_convert(source=FORM.read_bytes(), filename=FORM.name).schema


@pytest.fixture(scope="module")
def sample() -> list[DemoInstance]:
    return demo_instances(count=300)


def fields_by_path(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["path"]: f for f in schema["fields"]}


def relevant(field: dict[str, Any], values: dict[str, str], by_path: dict[str, dict[str, Any]]) -> bool:
    """The field's relevant expression and those of all its groups."""
    while field is not None:
        if field["relevant"] and not boolean(xpath(field["relevant"], values)):
            return False
        field = by_path.get(field["parent"])
    return True


def read(xml: bytes, schema: dict[str, Any]) -> tuple[etree._Element, dict[str, str], dict[str, list[dict[str, str]]]]:
    """The root, every non-repeated element's text by form path (each present exactly once), and each repeat's
    instances."""
    root = etree.fromstring(xml)
    values, repeats = {}, {}
    for field in schema["fields"]:
        if field["type"] == "repeat":
            children = [f for f in schema["fields"] if f["parent"] == field["path"]]
            repeats[field["path"]] = [{c["path"]: element.findtext(c["name"]) or "" for c in children}
                                      for element in root.findall(field["path"])]
        elif field["type"] != "group" and not field["repeat"]:
            elements = root.findall(field["path"])
            assert len(elements) == 1 and len(elements[0]) == 0, field["path"]
            element = elements[0]
            values[field["path"]] = element.text or ""
    return root, values, repeats


def expected_paths(schema: dict[str, Any], repeats: dict[str, list]) -> list[str]:
    paths = []
    for field in schema["fields"]:
        if field["type"] == "repeat":
            children = [f["path"] for f in schema["fields"] if f["parent"] == field["path"]]
            paths += ([field["path"], *children]) * len(repeats[field["path"]])
        elif not field["repeat"]:
            paths.append(field["path"])
    return paths


def check_answer(field: dict[str, Any], value: str, values: dict[str, str], schema: dict[str, Any]) -> None:
    """A relevant answer: its constraint, its type, and choices from its list (and the choice filter)."""
    name = field["path"]
    if field["constraint"]:
        assert xpath(field["constraint"], values, here=value) is True, (name, value)
    if field["type"] == "integer":
        assert re.fullmatch(r"-?\d+", value), (name, value)
    if field["type"] == "decimal":
        assert re.fullmatch(r"-?\d+\.\d+", value), (name, value)
    if field["type"] in ("select_one", "select_multiple"):
        choices = {c["name"]: c for c in schema["choices"][field["list_name"]]}
        chosen = value.split()
        assert chosen and all(c in choices for c in chosen), (name, value)
        assert field["type"] == "select_multiple" or len(chosen) == 1, (name, value)
        order = list(choices)
        assert [order.index(c) for c in chosen] == sorted({order.index(c) for c in chosen}), (name, value)
        if field["choice_filter"]:  # kept as written, ${name} and all, as pyxform does: resolved here the same way
            questions = {f["name"]: f["path"] for f in schema["fields"] if f["type"] not in ("group", "repeat")}
            expression = re.sub(r"\$\{(\w+)\}", lambda m: f"/data/{questions[m[1]]}", field["choice_filter"])
            for c in chosen:
                assert xpath(expression, values, columns=choices[c]["extra"]) is True, (name, c)


class TestDemoInstances:
    def test_the_same_seed_gives_the_same_bytes_and_another_seed_other_ones(self):
        first, again = demo_instances(count=25), demo_instances(count=25, seed=4)
        other = demo_instances(count=25, seed=5)
        assert first == again
        assert [i.xml for i in first] == [i.xml for i in again]
        assert [i.xml for i in first] != [i.xml for i in other]
        assert demo_instances(count=10) == first[:10]

    def test_count_is_honoured(self):
        assert demo_instances(count=0) == []
        assert len(demo_instances(count=1)) == 1
        assert len(demo_instances(count=37, seed=11)) == 37
        with pytest.raises(ValueError):
            demo_instances(count=-1)

    def test_instance_ids_are_unique_uuids_and_match_the_meta(self, sample):
        assert len({i.instance_id for i in sample}) == 300
        for instance in sample:
            assert instance.instance_id.startswith("uuid:")
            assert uuid.UUID(instance.instance_id.removeprefix("uuid:")).version == 4
            header = instance_header(parse_instance(instance.xml))
            assert (header.form_id, header.version, header.instance_id, header.deprecated_id) == (
                "mtm_kz_r4", "2024040102", instance.instance_id, None)

    def test_every_instance_is_the_forms_instance_in_the_forms_order(self, sample, schema):
        for instance in sample:
            assert instance.xml.startswith(HEADER)
            root, _, repeats = read(instance.xml, schema)
            assert (root.tag, root.get("id"), root.get("version")) == ("data", "mtm_kz_r4", "2024040102")
            assert dict(root.nsmap) == {"jr": "http://openrosa.org/javarosa", "orx": "http://openrosa.org/xforms"}
            assert not any(element.attrib for element in root.iterdescendants())
            tree = root.getroottree()
            paths = [re.sub(r"\[\d+\]", "", tree.getpath(e)).removeprefix("/data/") for e in root.iterdescendants()]
            assert paths == expected_paths(schema, repeats)
            assert paths[-2:] == ["meta", "meta/instanceID"]

    def test_answers_follow_relevance_required_constraints_choices_and_calculations(self, sample, schema):
        by_path = fields_by_path(schema)
        answered = Counter()
        for instance in sample:
            _, values, repeats = read(instance.xml, schema)
            for field in schema["fields"]:
                if field["type"] in ("group", "repeat") or field["repeat"] or field["path"] == "meta/instanceID":
                    continue
                value, is_relevant = values[field["path"]], relevant(field, values, by_path)
                if field["type"] in ("start", "end", "today", "deviceid"):
                    assert value, field["path"]
                elif field["type"] == "note" or not is_relevant:
                    assert value == "", (field["path"], value)
                elif field["type"] == "calculate":
                    computed = xpath(field["calculate"], values)
                    assert value == ("" if math.isnan(computed) else f"{computed:.0f}"), field["path"]
                elif field["required"] and boolean(xpath(field["required"], values)):
                    assert value, (instance.instance_id, field["path"])
                if value and is_relevant and field["type"] != "calculate":
                    check_answer(field, value, values, schema)
                    answered[field["path"]] += 1
            repeat = by_path["vulnerability/household_members"]
            members = repeats[repeat["path"]]
            if relevant(repeat, values, by_path):
                assert len(members) == min(int(values["vulnerability/dependants"]), 4)
            else:
                assert members == []
            for member in members:
                for path, value in member.items():
                    field = by_path[path]
                    assert value or not field["required"], path
                    check_answer(field, value, {**values, **member}, schema)
        # every question of the form is answered somewhere in the sample (but the optional photo: a sample has
        # no camera)
        questions = {f["path"] for f in schema["fields"] if f["type"] not in ("group", "repeat", "note", "calculate",
                                                                              "image", "photo")
                     and not f["repeat"] and f["path"] != "meta/instanceID"}
        assert questions - set(answered) == set()

    def test_metadata_location_and_enumerators(self, sample, schema):
        devices: dict[str, set[str]] = {}
        places: dict[str, Counter] = {}
        for instance in sample:
            _, values, _ = read(instance.xml, schema)
            start, end = dt.datetime.fromisoformat(values["start"]), dt.datetime.fromisoformat(values["end"])
            assert STAMP.match(values["start"]) and STAMP.match(values["end"])
            assert values["today"] == start.date().isoformat()
            assert dt.date(2024, 4, 1) <= start.date() <= dt.date(2024, 5, 31)
            minutes = (end - start).total_seconds() / 60
            assert 12 <= minutes <= 45 if values["consent"] == "yes" else 0 < minutes < 12
            assert re.fullmatch(r"collect:[A-Za-z0-9]{16}", values["deviceid"])
            devices.setdefault(instance.enumerator, set()).add(values["deviceid"])
            if values["consent"] == "no":
                continue
            code = values["location/location"].upper().replace("_", "-")
            places.setdefault(instance.enumerator, Counter())[code] += 1
            lat, lon, _alt, accuracy = map(float, values["location/gps"].split())
            lat_min, lat_max, lon_min, lon_max, _ = BOXES[code]
            assert lat_min <= lat <= lat_max and lon_min <= lon <= lon_max and 0 < accuracy < 20
        assert sorted(devices) == ENUMERATORS == [f"enum{i:02d}" for i in range(1, 16)]
        assert all(len(d) == 1 for d in devices.values())
        assert len({d for ds in devices.values() for d in ds}) == 15
        assert set(Counter(i.enumerator for i in sample).values()) == {20}
        at_home = 0
        for index, enumerator in enumerate(ENUMERATORS):  # at most two places, mainly the home one (as the loader's)
            counts = places[enumerator]
            assert len(counts) <= 2 and LOCATIONS[index % 10] in counts
            at_home += counts[LOCATIONS[index % 10]]
        assert at_home / sum(sum(c.values()) for c in places.values()) >= 0.85

    def test_distributions_are_close_to_the_round4_report(self, sample, schema):
        rows = [read(i.xml, schema)[1] for i in sample]
        consented = [r for r in rows if r["consent"] == "yes"]
        assert 0 < len(rows) - len(consented) <= 20
        men = [r for r in consented if r["demographics/sex"] == "male"]
        women = [r for r in consented if r["demographics/sex"] == "female"]
        assert 0.78 <= len(men) / len(consented) <= 0.88
        for r in consented:
            assert 14 <= int(r["demographics/age"]) <= 80
        assert 31 <= sum(int(r["demographics/age"]) for r in men) / len(men) <= 35
        assert 34 <= sum(int(r["demographics/age"]) for r in women) / len(women) <= 42
        share = Counter(r["origin/origin_country"] for r in consented)
        assert 0.55 <= share["uzbekistan"] / len(consented) <= 0.71
        sends = sum(r["remittances/sends_money"] == "yes" for r in consented) / len(consented)
        assert 0.36 <= sends <= 0.52
        no_health = sum(r["health/health_access"] == "no" for r in consented) / len(consented)
        assert 0.12 <= no_health <= 0.28
        names = {r["demographics/resp_name"] for r in consented} - {""}
        phones = [r["demographics/resp_phone"] for r in consented if r["demographics/resp_phone"]]
        assert len(names) > 40 and all(re.fullmatch(r"\+(7|998)\d{9,10}", p) for p in phones)
