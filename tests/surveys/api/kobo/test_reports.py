"""/api/v2/assets/<uid>/reports/: the round tables in KoboToolbox's report shape."""

import pytest

from surveys.kobo_ids import kuid

pytestmark = pytest.mark.django_db


def test_report_shape(household, send, analyst, uid):
    send(sex="male", age="30")
    send(sex="female", age="40", reasons="work")

    body = analyst.get(f"/api/v2/assets/{uid}/reports/").json()

    assert (body["url"], body["count"]) == (f"http://testserver/api/v2/assets/{uid}/reports/", 2)
    by_name = {item["name"]: item for item in body["list"]}
    assert by_name["sex"] == {
        "name": "sex", "row": {"type": "select_one", "label": ["Sex"]}, "kuid": kuid("household", "resp/sex"),
        "style": {}, "data": {"total_count": 2, "provided": 2, "not_provided": 0, "show_graph": True,
                              "responses": ["Male", "Female"], "response_values": ["male", "female"],
                              "frequencies": [1, 1], "percentages": [50.0, 50.0]}}
    assert by_name["age"]["data"] == {"total_count": 2, "provided": 2, "not_provided": 0, "show_graph": False,
                                      "stats": {"mean": 35.0, "median": 35, "stdev": 7.07, "min": 30, "max": 40}}
    assert by_name["reasons"]["data"]["frequencies"] == [1, 0]
    assert by_name["reasons"]["data"]["not_provided"] == 1


def test_split_by_and_language(household, send, analyst, uid):
    send(sex="male", country="uz")
    send(sex="female", country="tj", region="sughd")

    body = analyst.get(f"/api/v2/assets/{uid}/reports/?split_by=sex&lang=ru").json()

    country = next(item for item in body["list"] if item["name"] == "country")
    assert country["row"]["label"] == ["Страна происхождения"]
    assert country["data"]["values"] == [
        ["male", {"provided": 1, "show_graph": True, "responses": ["Узбекистан", "Таджикистан"],
                  "response_values": ["uz", "tj"], "frequencies": [1, 0], "percentages": [100.0, 0.0]}],
        ["female", {"provided": 1, "show_graph": True, "responses": ["Узбекистан", "Таджикистан"],
                    "response_values": ["uz", "tj"], "frequencies": [0, 1], "percentages": [0.0, 100.0]}]]
    assert analyst.get(f"/api/v2/assets/{uid}/reports/?split_by=nope").status_code == 400
