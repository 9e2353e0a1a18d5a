"""Issue 13 item 8: questionnaire versions are archived, never deleted. An archived version is no longer offered
in /formList, still accepts submissions and still downloads by ?version=; its KoBo asset shows inactive."""

import base64

import pytest
from lxml import etree

from surveys.errors import QuestionnaireNotDeletable
from surveys.kobo_ids import asset_uid
from surveys.models import Questionnaire, Submission
from surveys.services.questionnaires import questionnaire_archive, questionnaire_import
from tests.clients import token_client
from tests.factories import PASSWORD, AssignmentFactory, EnumeratorFactory, RoundFactory, UserFactory
from tests.forms import simple_form
from tests.submissions import auth, instance_xml, multipart

pytestmark = pytest.mark.django_db

NS = {"f": "http://openrosa.org/xforms/xformsList"}


def basic(username="enum01"):
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"{username}:{PASSWORD}".encode()).decode()}


def offered(client):
    doc = etree.fromstring(client.get("/formList", **basic()).content)
    return [(e.findtext("f:formID", namespaces=NS), e.findtext("f:version", namespaces=NS))
            for e in doc.findall("f:xform", NS)]


@pytest.fixture
def versions(db):
    """Versions 1 and 2 of the simple form in round 4; enum01 assigned."""
    RoundFactory()
    found = [questionnaire_import(source=simple_form(version=v), filename="simple.md", survey_slug="mtm-kz",
                                  round_number=4).questionnaire for v in ("1", "2")]
    AssignmentFactory(enumerator=EnumeratorFactory(user=UserFactory(username="enum01")), round=found[0].round)
    return found


def archive(*questionnaires, archived=True):
    return questionnaire_archive(questionnaire_ids=[q.pk for q in questionnaires], archived=archived)


def test_a_version_cannot_be_deleted_by_row_or_queryset(versions):
    with pytest.raises(QuestionnaireNotDeletable):
        versions[1].delete()
    with pytest.raises(QuestionnaireNotDeletable):
        Questionnaire.objects.filter(pk=versions[0].pk).delete()
    assert Questionnaire.objects.count() == 2


def test_archiving_twice_changes_nothing_and_unarchiving_offers_it_again(versions):
    assert archive(versions[1]) == 1
    first = Questionnaire.objects.get(pk=versions[1].pk).archived_at
    assert archive(versions[1]) == 0
    assert Questionnaire.objects.get(pk=versions[1].pk).archived_at == first is not None
    assert archive(versions[1], archived=False) == 1
    assert Questionnaire.objects.get(pk=versions[1].pk).archived_at is None


def test_form_list_offers_the_latest_version_not_archived(client, versions):
    assert offered(client) == [("simple", "2")]
    archive(versions[1])
    assert offered(client) == [("simple", "1")]
    archive(versions[0])
    assert offered(client) == []
    assert client.get("/forms/simple/form.xml", **basic()).status_code == 404


def test_an_archived_version_still_downloads_by_version_and_accepts_submissions(client, versions):
    archive(*versions)

    download = client.get("/forms/simple/form.xml?version=2", **basic())
    posted = client.post("/submission", multipart(instance_xml(version="2", instance_id="uuid:archived-1")),
                         **auth())

    assert download.status_code == 200
    assert download.content.decode() == versions[1].xform_xml
    assert posted.status_code == 201
    assert Submission.objects.get(instance_id="uuid:archived-1").questionnaire_id == versions[1].pk


def test_the_admin_archives_and_never_deletes(client, versions):
    admin = UserFactory(username="admin", is_staff=True, is_superuser=True)
    client.force_login(admin)
    changelist = "/admin/surveys/questionnaire/"

    assert client.get(f"{changelist}{versions[0].pk}/delete/").status_code == 403
    actions = [name for name, _ in client.get(changelist).context["action_form"].fields["action"].choices]
    assert actions == ["", "archive", "unarchive", "encrypt_managed"]  # the last: keys (superuser, data protection)
    client.post(changelist, {"action": "delete_selected", "_selected_action": [versions[0].pk]})
    assert Questionnaire.objects.count() == 2

    client.post(changelist, {"action": "archive", "_selected_action": [versions[1].pk]})
    assert [(q.version, q.archived_at is None) for q in Questionnaire.objects.order_by("version")] == [
        ("1", True), ("2", False)]
    client.post(changelist, {"action": "unarchive", "_selected_action": [versions[1].pk]})
    assert Questionnaire.objects.filter(archived_at__isnull=False).count() == 0


def test_an_archived_forms_kobo_deployment_is_inactive(versions):
    analyst = token_client("analyst1", "view_submission")
    url = f"/api/v2/assets/{asset_uid('simple')}/"

    assert analyst.get(url).json()["deployment__active"] is True
    archive(versions[1])
    assert analyst.get(url).json()["deployment__active"] is True  # version 1 is still offered
    archive(versions[0])
    body = analyst.get(url).json()
    assert (body["deployment__active"], body["deployment_status"]) == (False, "archived")
