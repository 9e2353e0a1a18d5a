"""/api/v2/assets/: one asset per form, its content as KoboToolbox writes it, who sees it."""

import pytest

from mtm.errors import NotFound
from surveys.api.kobo.content import xlsform_expression
from surveys.kobo_ids import asset_uid
from surveys.services.questionnaires import questionnaire_import
from tests.clients import body_json, token_client
from tests.factories import UserFactory
from tests.forms import simple_form

pytestmark = pytest.mark.django_db


def test_asset_uid_is_stable_and_kobo_shaped():
    uid = asset_uid("household")

    assert uid == asset_uid("household") != asset_uid("household2")
    assert (len(uid), uid[0], uid.isalnum()) == (22, "a", True)


def test_list_has_one_asset_per_form_with_its_versions(household, send, analyst, uid):
    questionnaire_import(source=simple_form(form_id="household", version="2024060101"), filename="v2.md",
                         survey_slug="mtm-kz", round_number=4)
    send()

    body = analyst.get("/api/v2/assets/?asset_type=survey").json()

    assert (body["count"], body["next"], body["previous"]) == (1, None, None)
    asset = body["results"][0]
    assert (asset["uid"], asset["name"], asset["asset_type"], asset["has_deployment"]) == (
        uid, "Simple form", "survey", True)
    assert (asset["deployment__active"], asset["deployment__submission_count"]) == (True, 1)
    assert asset["data"] == f"http://testserver/api/v2/assets/{uid}/data/"
    assert [v["uid"] for v in asset["deployed_versions"]["results"]] == ["2024060101", "2024050101"]
    assert "content" not in asset


def test_search_and_paging(household, analyst, uid):
    questionnaire_import(source=simple_form(form_id="other", title="Other form"), filename="o.md",
                         survey_slug="mtm-kz", round_number=4)

    def uids(query):
        return [a["uid"] for a in analyst.get(f"/api/v2/assets/{query}").json()["results"]]

    assert uids("") == [uid, asset_uid("other")]
    assert uids("?q=asset_type:survey") == [uid, asset_uid("other")]
    assert uids("?q=asset_type:block") == []
    assert uids("?q=other") == [asset_uid("other")]
    assert uids(f"?q=uid:{uid}") == [uid]
    page = analyst.get("/api/v2/assets/?limit=1&offset=1").json()
    assert (page["count"], [a["uid"] for a in page["results"]]) == (2, [asset_uid("other")])
    assert page["previous"] == "http://testserver/api/v2/assets/?limit=1&offset=0"


def test_detail_content_in_kobo_form(household, analyst, uid):
    for url in (f"/api/v2/assets/{uid}/", f"/api/v2/assets/{uid}.json"):
        response = analyst.get(url)
        assert response.status_code == 200
    content = response.json()["content"]
    assert content == analyst.get(f"/api/v2/assets/{uid}/content/").json()["data"]

    assert content["translations"] == ["English (en)", "Russian (ru)"]
    assert content["settings"] == {"form_id": "household", "version": "2024050101", "form_title": "Household survey",
                                   "default_language": "English (en)"}
    rows = {row.get("$xpath", row["$kuid"]): row for row in content["survey"]}
    assert [row["type"] for row in content["survey"]] == [
        "start", "end", "deviceid", "begin_group", "text", "text", "select_one", "integer", "geopoint", "end_group",
        "select_one", "select_one", "integer", "begin_repeat", "integer", "end_repeat", "select_multiple", "decimal",
        "calculate"]
    sex = rows["resp/sex"]
    assert (sex["name"], sex["$autoname"], sex["label"], sex["select_from_list_name"], sex["required"]) == (
        "sex", "sex", ["Sex", "Пол"], "sex", True)
    assert rows["member"]["relevant"] == "${dependants} > 0"
    assert rows["income_kzt"]["calculation"] == "${income} * 450"
    assert rows["region"]["choice_filter"] == "country=${country}"
    choices = [(c["list_name"], c["name"], c["label"]) for c in content["choices"]][:3]
    assert choices == [("sex", "male", ["Male", "Мужской"]), ("sex", "female", ["Female", "Женский"]),
                       ("country", "uz", ["Uzbekistan", "Узбекистан"])]


def test_expressions_back_in_xlsform_references():
    assert xlsform_expression("/data/resp/age >= 18 and /data/x != ''", "data") == "${age} >= 18 and ${x} != ''"
    assert xlsform_expression(None, "data") is None


def test_enumerators_and_anonymous_see_no_asset(household, enumerator, uid):
    enum = token_client("enum01")

    assert enum.get("/api/v2/assets/").json()["count"] == 0
    assert enum.get(f"/api/v2/assets/{uid}/").status_code == 404
    assert enum.get(f"/api/v2/assets/{uid}/data/").status_code == 404


def test_token_is_required(household, client, uid):
    assert client.get("/api/v2/assets/").status_code in (401, 403)
    assert client.get(f"/api/v2/assets/{uid}/data/").status_code in (401, 403)


def test_unknown_asset_is_404(household, analyst):
    assert analyst.get("/api/v2/assets/aNoSuchAsset/").status_code == 404


def test_a_supervisor_token_sees_only_their_teams_records(household, enumerator, send, uid):
    from enumerators.roles import SUPERVISORS
    from enumerators.services.roles import roles_ensure
    from tests.factories import AssignmentFactory, EnumeratorFactory, UserFactory

    groups = roles_ensure()
    boss = UserFactory(username="boss")
    boss.groups.add(groups[SUPERVISORS])
    enumerator.supervisor = boss
    enumerator.save()
    AssignmentFactory(enumerator=EnumeratorFactory(user=UserFactory(username="enum02")), round=household.round)
    mine, _theirs = send(passport="P1"), send("enum02", passport="P2")
    client = token_client("boss")

    records = body_json(client.get(f"/api/v2/assets/{uid}/data/"))

    assert [r["_id"] for r in records["results"]] == [mine.pk]
    assert client.get(f"/api/v2/assets/{uid}/").json()["deployment__submission_count"] == 1


def test_every_version_stores_its_asset_uid_and_an_asset_is_one_query(household, uid, django_assert_num_queries):
    from enumerators.models import User
    from surveys.models import Questionnaire
    from surveys.selectors.kobo.assets import asset_for_user
    from surveys.selectors.questionnaires import questionnaire_schema

    UserFactory(username="root", is_superuser=True)
    root = User.objects.get(username="root")
    assert list(Questionnaire.objects.values_list("form_id", "kobo_uid")) == [("household", uid)]
    questionnaire_schema.cache_clear()

    with django_assert_num_queries(2):  # the versions (without XForm and schema), and the schema the first time
        asset_for_user(user=root, uid=uid)
    with django_assert_num_queries(1):  # then the process's copy of the schema
        asset = asset_for_user(user=root, uid=uid)

    assert asset.current.schema == Questionnaire.objects.get().schema

    assert (asset.uid, asset.form_id, [q.version for q in asset.versions], asset.active) == (
        uid, "household", [household.version], True)
    with pytest.raises(NotFound):
        asset_for_user(user=root, uid=asset_uid("other"))
