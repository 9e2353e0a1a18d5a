"""Encrypted interviews against PostgreSQL and the real worker: ODK Collect's multipart post over HTTP is
stored and the worker marks it waiting for its key, without failing it; once the private key is given it is
decrypted, validated and counted. (The test settings keep files in each process's memory
(``InMemoryStorage``), which the worker process cannot read: the decryption after the key runs in this
process, eagerly, on the same PostgreSQL database.)"""


import pytest
import requests

from surveys.models import FormKey, Submission
from surveys.services.form_keys import form_private_key_set
from surveys.services.questionnaires import questionnaire_import
from tests.factories import PASSWORD, AssignmentFactory, EnumeratorFactory, RoundFactory, UserFactory
from tests.odk_encryptor import encrypt_interview, key_pair, pem
from tests.submissions import new_instance_id, wait_for
from tests.surveys.test_encryption import PHOTO, encrypted_form_md, plain_instance

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_the_worker_waits_for_the_key_then_decrypts_validates_and_counts(live_server, celery_worker_process):
    private, public = key_pair()
    RoundFactory()
    q = questionnaire_import(source=encrypted_form_md(public), filename="sealed.md", survey_slug="mtm-kz",
                             round_number=4).questionnaire
    AssignmentFactory(enumerator=EnumeratorFactory(user=UserFactory(username="enum01")), round=q.round)
    instance_id = new_instance_id()
    interview = encrypt_interview(instance=plain_instance(instance_id=instance_id, age="37"), form_id="sealed",
                                  version="1", instance_id=instance_id, public_key=public,
                                  media={"photo.jpg": PHOTO})
    files = [("xml_submission_file", ("submission.xml", interview.manifest, "text/xml"))]
    files += [(f"file{i}", (name, content, "application/octet-stream"))
              for i, (name, content) in enumerate(interview.files.items())]

    sent = requests.post(f"{live_server.url}/submission", files=files, auth=("enum01", PASSWORD), timeout=60)
    again = requests.post(f"{live_server.url}/submission", files=files, auth=("enum01", PASSWORD), timeout=60)

    assert (sent.status_code, again.status_code) == (201, 202)
    assert wait_for(instance_id, "awaiting_key") == "awaiting_key"
    assert Submission.objects.get(instance_id=instance_id).validation == "pending"

    from mtm.celery import app

    eager = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    try:
        given = form_private_key_set(form_id="sealed", private_key=pem(private), by=None)
    finally:
        app.conf.task_always_eager, app.conf.task_eager_propagates = eager

    assert given.requeued == 1
    assert wait_for(instance_id, "processed") == "processed"
    sub = Submission.objects.get(instance_id=instance_id)
    assert (sub.validation, sub.answers["age"], sub.tallied, sub.encrypted) == ("valid", 37, True, True)
    assert FormKey.objects.get().private_key is not None
