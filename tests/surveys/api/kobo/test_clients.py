"""The PyPI clients analysts use — koboextractor, kobo-api-v2 (``kobo``) and
kobo2pandas — run unchanged against a live server: only the address and the
token are ours."""

import datetime as dt

import pytest
from kobo import KoboClient
from kobo2pandas import KoboAPI
from koboextractor import KoboExtractor

from surveys.models import Submission
from tests.clients import token_client


@pytest.fixture
def token(db):
    client = token_client("analyst1", "view_submission")
    return client._credentials["HTTP_AUTHORIZATION"].removeprefix("Token ")


@pytest.fixture
def interviews(household, send):
    """Three interviews: two in May (one with two household members), one in June."""
    early = send(sex="female", members=("10", "12"), reasons="work family", passport="P1")
    later = send(sex="male", passport="P2")
    june = send(sex="male", country="tj", region="sughd", passport="P3")
    for sub, day in ((early, 1), (later, 2)):
        Submission.objects.filter(pk=sub.pk).update(received_at=dt.datetime(2024, 5, day, 9, tzinfo=dt.UTC))
    Submission.objects.filter(pk=june.pk).update(received_at=dt.datetime(2024, 6, 1, 9, tzinfo=dt.UTC))
    return early, later, june


def test_koboextractor_lists_reads_labels_and_fetches_since(live_server, interviews, token, uid):
    early, later, june = interviews
    kobo = KoboExtractor(token, f"{live_server.url}/api/v2")

    assets = kobo.list_assets()
    asset = kobo.get_asset(assets["results"][0]["uid"])
    choices = kobo.get_choices(asset)
    questions = kobo.get_questions(asset, unpack_multiples=True)
    since = kobo.get_data(uid, submitted_after="2024-05-01T12:00:00")
    everything = kobo.get_data(uid, start=0, limit=2)

    assert (assets["count"], asset["uid"], asset["name"]) == (1, uid, "Household survey")
    assert choices["sex"] == {"male": {"label": "Male", "sequence": 0}, "female": {"label": "Female", "sequence": 1}}
    assert questions["groups"]["resp"]["questions"]["sex"]["list_name"] == "sex"
    assert questions["groups"]["member"]["repeat"] is True
    assert [r["_id"] for r in since["results"]] == [later.pk, june.pk]
    assert (everything["count"], len(everything["results"])) == (3, 2)
    labelled = kobo.label_result(unlabeled_result=everything["results"][0], choice_lists=choices,
                                 questions=questions, unpack_multiples=True)
    results = labelled["results"]
    assert (results["resp/sex"]["label"], results["resp/sex"]["answer_label"]) == ("Sex", "Female")
    assert results["reasons"]["answer_label"] == "Work;Family;"
    assert results["reasons"]["choices"]["work"]["answer_code"] == 1
    assert results["member"][1]["member_age"]["answer_code"] == "12"
    assert "resp/name" not in results and labelled["meta"]["_id"] == early.pk


def test_kobo2pandas_builds_dataframes(live_server, interviews, token, uid):
    early, later, june = interviews
    api = KoboAPI(token, endpoint=f"{live_server.url}/")

    assert api.list_uid() == {"Household survey": uid}
    asset = api.get_asset(uid)
    since = api.get_data(uid, submitted_after="2024-05-15T00:00:00")
    frames = api.get_dataframes(uid)

    assert api.get_choices(asset)["country"]["tj"]["label"] == "Tajikistan"
    assert [r["_id"] for r in since["results"]] == [june.pk]
    root, members = frames
    assert list(root["_id"]) == [early.pk, later.pk, june.pk]
    assert list(root["sex"]) == ["female", "male", "male"]
    assert "name" not in root.columns
    assert list(members["member_age"]) == ["10", "12"]
    assert list(members["_parent_index"]) == [1, 1]


def test_kobo_api_v2_lists_and_reads_content(live_server, interviews, token, uid):
    client = KoboClient(token, base_url=live_server.url)

    surveys = client.get_surveys()
    survey = client.get_survey(uid)
    content = client.get_survey_content(uid)

    assert [s["uid"] for s in surveys] == [uid]
    assert (survey["deployment__submission_count"], survey["deployment__active"]) == (3, True)
    assert content["data"]["survey"][0] == survey["content"]["survey"][0]
    assert client.get_surveys(search="no such form") == []


def test_kobo_api_v2_downloads_an_xlsx_export(live_server, interviews, token, uid, tmp_path):
    from openpyxl import load_workbook

    early, later, june = interviews
    client = KoboClient(token, base_url=live_server.url)

    saved = client.get_excel(uid, path=tmp_path / "data.xlsx", poll_interval=0.2, timeout=30)

    sheet = load_workbook(saved).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    headers = rows[0]
    assert headers[0] == "_id"
    assert sorted(row[0] for row in rows[1:]) == sorted([early.pk, later.pk, june.pk])
    assert "resp/name" not in headers
    assert [s["name"] for s in client.list_export_settings(uid)] == ["python-client"]
    assert client.get_or_create_export_setting(uid, name="python-client")[1] is False
