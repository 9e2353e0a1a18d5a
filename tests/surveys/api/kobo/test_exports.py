"""/export-settings/ and /exports/ over the record exports."""

import csv
import io

import pytest

from surveys.models import KoboExportSetting, RecordExport

pytestmark = pytest.mark.django_db


def test_export_is_created_polled_and_downloaded_whatever_the_accept_header(household, send, analyst, uid,
                                                                            django_capture_on_commit_callbacks):
    sub = send()

    with django_capture_on_commit_callbacks(execute=True):
        created = analyst.post(f"/api/v2/assets/{uid}/exports/", {"type": "csv", "lang": "_xml", "fields": [],
                                                                 "query": {}}, format="json")

    assert created.status_code == 201
    body = created.json()
    export = RecordExport.objects.get(uid=body["uid"])
    polled = analyst.get(f"/api/v2/assets/{uid}/exports/{export.uid}/").json()
    assert (polled["status"], polled["data"]["type"], polled["data"]["lang"]) == ("complete", "csv", "_xml")
    assert polled["result"] == f"http://testserver/api/v1/exports/{export.uid}/file"
    assert [e["uid"] for e in analyst.get(f"/api/v2/assets/{uid}/exports/").json()["results"]] == [export.uid]
    download = analyst.get(polled["result"], HTTP_ACCEPT="application/json")
    assert download.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(download.streaming_content).decode("utf-8-sig"))))
    assert (rows[0][0], rows[1][0]) == ("_id", str(sub.pk))
    assert "resp/name" not in rows[0]


def test_an_export_whose_file_is_gone_is_404_with_a_reason(household, send, analyst, uid,
                                                             django_capture_on_commit_callbacks):
    send()
    with django_capture_on_commit_callbacks(execute=True):
        created = analyst.post(f"/api/v2/assets/{uid}/exports/", {"type": "csv", "lang": "_xml", "fields": [],
                                                                 "query": {}}, format="json")
    export = RecordExport.objects.get(uid=created.json()["uid"])
    export.file.storage.delete(export.file.name)

    response = analyst.get(f"/api/v1/exports/{export.uid}/file")

    assert response.status_code == 404
    assert response.json() == {"detail": "The export's file is no longer on the server; create the export again."}
    assert RecordExport.objects.get(pk=export.pk).status == "complete"


def test_export_refuses_what_it_cannot_do(household, analyst, uid):
    for payload in ({"type": "spss_labels"}, {"type": "xls", "fields": ["resp/age"]},
                    {"type": "xls", "query": {"_id": 1}}, {"type": "xls", "lang": "Klingon"}):
        assert analyst.post(f"/api/v2/assets/{uid}/exports/", payload, format="json").status_code == 400
    assert RecordExport.objects.count() == 0


def test_export_settings_crud_and_data_urls(household, send, analyst, uid):
    send()
    url = f"/api/v2/assets/{uid}/export-settings/"

    created = analyst.post(url, {"name": "labels", "export_settings": {"type": "csv", "lang": "Russian (ru)"}},
                           format="json")
    duplicate = analyst.post(url, {"name": "labels", "export_settings": {"type": "csv"}}, format="json")

    assert (created.status_code, duplicate.status_code) == (201, 400)
    setting = created.json()
    assert setting["data_url_csv"] == f"http://testserver{url}{setting['uid']}/data.csv"
    assert analyst.get(url).json()["count"] == 1
    patched = analyst.patch(f"{url}{setting['uid']}/", {"name": "russian"}, format="json").json()
    assert (patched["name"], patched["export_settings"]) == ("russian", {"type": "csv", "lang": "Russian (ru)"})
    csv_file = analyst.get(setting["data_url_csv"], HTTP_ACCEPT="application/json")
    text = b"".join(csv_file.streaming_content).decode("utf-8-sig")
    assert csv_file.status_code == 200 and "Узбекистан" in text
    xlsx = analyst.get(setting["data_url_xlsx"])
    assert b"".join(xlsx.streaming_content)[:2] == b"PK"
    assert analyst.delete(f"{url}{setting['uid']}/").status_code == 204
    assert KoboExportSetting.objects.count() == 0


def test_an_export_setting_with_an_integer_beyond_64_bits_is_answered_not_500(household, analyst, uid):
    """orjson writes no integer beyond 64 bits; such a response falls back to DRF's JSON (found by schemathesis)."""
    big = -61522114106711667155927040

    response = analyst.post(f"/api/v2/assets/{uid}/export-settings/",
                            {"name": "big", "export_settings": {"fields": [], "extra": {"n": big}}}, format="json")

    assert response.status_code == 201
    assert response.json()["export_settings"]["extra"] == {"n": big}
    assert KoboExportSetting.objects.get(name="big").export_settings["extra"] == {"n": big}
