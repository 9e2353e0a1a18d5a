"""pyodk, ODK's official Python client, unchanged from PyPI, against a live server: a config file with
the server's root as ``base_url`` and an account's login, nothing else of ours."""

from __future__ import annotations

import pytest
from pyodk.client import Client
from pyodk.errors import PyODKError

from enumerators.models import CentralSession
from surveys.models import ReviewEvent, Submission, SubmissionComment
from tests.surveys.api.central.conftest import PASSWORD


def pyodk_client(live_server, tmp_path, login: str, project_id: int, password: str = PASSWORD) -> Client:
    config = tmp_path / f"{login}.toml"
    config.write_text(f'[central]\nbase_url = "{live_server.url}"\nusername = "{login}"\npassword = "{password}"\n'
                      f"default_project_id = {project_id}\n")
    return Client(config_path=config, cache_path=tmp_path / f"{login}-cache.toml")


def test_pyodk_lists_projects_and_forms_and_reads_the_table(live_server, tmp_path, analyst, interviews, project_id):
    early, later, june, other = interviews
    with pyodk_client(live_server, tmp_path, "analyst1@mtm.example.org", project_id) as client:
        projects = client.projects.list()
        forms = client.forms.list()
        form = client.forms.get("household")
        table = client.submissions.get_table(form_id="household", expand="*",
                                             filter="__system/submissionDate ge 2024-05-02T00:00:00Z")
        everything = client.submissions.get_table(form_id="household", count=True, top=2)
        members = client.submissions.get_table(form_id="household", table_name="Submissions.member")
        listed = client.submissions.list(form_id="household")
        one = client.submissions.get(early.instance_id, form_id="household")

    assert [(p.id, p.name) for p in projects] == [(project_id, early.round.survey.name)]
    assert [(f.xmlFormId, f.name, f.version, f.state, f.projectId) for f in forms] == [
        ("household", "Household survey", "2024050101", "open", project_id)]
    assert form.hash == early.questionnaire.md5
    # Newest first; submitted on or after 2 May: enum02's (2 June), June's, the second of May's.
    assert [r["__id"] for r in table["value"]] == [other.instance_id, june.instance_id, later.instance_id]
    assert table["value"][2]["resp"]["age"] == 29 and table["value"][2]["member"] == []
    assert "name" not in table["value"][0]["resp"]  # an identifier field never leaves
    assert (everything["@odata.count"], len(everything["value"])) == (4, 2)
    assert "%24skiptoken=01" in everything["@odata.nextLink"]
    assert [(m["member_age"], m["__Submissions-id"]) for m in members["value"]] == [
        (10, early.instance_id), (12, early.instance_id)]
    assert [s.instanceId for s in listed] == [other.instance_id, june.instance_id, later.instance_id,
                                              early.instance_id]
    assert (one.instanceId, one.submitterId, one.reviewState) == (early.instance_id, early.submitted_by_id, None)
    assert CentralSession.objects.filter(user=analyst).count() == 1  # one login, the token reused


def test_pyodk_reviews_with_a_comment_and_a_supervisor_sees_their_team_only(live_server, tmp_path, supervisor,
                                                                            interviews, project_id):
    early, later, june, other = interviews
    with pyodk_client(live_server, tmp_path, "sup1", project_id) as client:
        client.submissions.review(early.instance_id, review_state="approved", form_id="household",
                                  comment="Checked with the enumerator.")
        table = client.submissions.get_table(form_id="household", count=True)
        comments = client._comments.list(form_id="household", instance_id=early.instance_id)
        with pytest.raises(PyODKError) as refused:
            client.submissions.get(other.instance_id, form_id="household")

    reviewed = Submission.objects.get(pk=early.pk)
    assert (reviewed.review_status, reviewed.reviewed_by, reviewed.reviewed_at is not None) == (
        "approved", supervisor, True)
    assert list(ReviewEvent.objects.filter(submission=early).values_list("actor__username", "from_status",
                                                                          "to_status")) == [
        ("sup1", None, "approved")]
    assert list(SubmissionComment.objects.filter(submission=early).values_list("text", flat=True)) == [
        "Checked with the enumerator."]
    assert [(c.body, c.actorId) for c in comments] == [("Checked with the enumerator.", supervisor.pk)]
    assert table["@odata.count"] == 3
    assert [r["__id"] for r in table["value"]] == [june.instance_id, later.instance_id, early.instance_id]
    assert table["value"][2]["__system"]["reviewState"] == "approved"
    assert refused.value.args[1].status_code == 404
    assert refused.value.args[1].json() == {"code": 404.1,
                                             "message": "Could not find the resource you were looking for."}


def test_pyodk_with_a_wrong_password_fails_to_log_in(live_server, tmp_path, analyst, project_id):
    with pytest.raises(PyODKError) as refused, pyodk_client(live_server, tmp_path, "analyst1", project_id,
                                                           password="wrong") as client:
        client.projects.list()

    assert refused.value.args[1].status_code == 401
    assert refused.value.args[1].json() == {"code": 401.2,
                                            "message": "Could not authenticate with the provided credentials."}
    assert CentralSession.objects.count() == 0
