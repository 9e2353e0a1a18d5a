"""Encrypted forms (issue 14, item 4): interviews made as ODK Collect makes them (tests/odk_encryptor.py)
round-trip — stored as received, decrypted at the start of processing with the element signature checked,
validated, anonymised, counted; without the private key they wait, never invalid; a wrong key, a tampered
file or a bad signature is a readable processing failure and the ciphertext is kept."""

from __future__ import annotations

import hashlib

import pytest
from django.test import Client

from surveys.models import FormKey, Questionnaire, RoundTally, Submission, SubmissionAttachment
from surveys.services.form_keys import form_encryption_managed, form_private_key_set, xform_public_key
from surveys.services.processing import submission_process
from surveys.services.questionnaires import questionnaire_import
from surveys.services.raw_store import open_chunks, raw_open
from tests.factories import AssignmentFactory, EnumeratorFactory, RoundFactory, UserFactory
from tests.forms import simple_form
from tests.odk_encryptor import encrypt_interview, key_pair, pem
from tests.submissions import auth, new_instance_id

pytestmark = pytest.mark.django_db

ROWS = "| | integer | age | Age |\n| | image | photo | Photo |"
PHOTO = b"\xff\xd8\xff\xe0JFIF-a-tiny-jpeg" + bytes(range(256)) * 3


def encrypted_form_md(public_key: str, *, version: str = "1") -> bytes:
    return f"""
| survey |
| | type | name | label |
| | text | q1 | Question one |
{ROWS}
| settings |
| | form_id | version | form_title | public_key |
| | sealed | {version} | Sealed form | {public_key} |
""".encode()


def plain_instance(*, instance_id: str, version: str = "1", age: str = "30", photo: str = "photo.jpg",
                   form_id: str = "sealed") -> bytes:
    return (f'<?xml version="1.0"?><data xmlns:orx="http://openrosa.org/xforms" id="{form_id}" version="{version}">'
            f"<q1>hello</q1><age>{age}</age><photo>{photo}</photo>"
            f"<meta><instanceID>{instance_id}</instanceID></meta></data>").encode()


@pytest.fixture
def own_key(db):
    """A form that carries its own public_key (the private key stays with the test), enum01 assigned."""
    private, public = key_pair()
    RoundFactory()
    q = questionnaire_import(source=encrypted_form_md(public), filename="sealed.md", survey_slug="mtm-kz",
                             round_number=4).questionnaire
    AssignmentFactory(enumerator=EnumeratorFactory(user=UserFactory(username="enum01")), round=q.round)
    return q, private, public


_committed = None


@pytest.fixture(autouse=True)
def _tasks_on_commit(django_capture_on_commit_callbacks):
    """Run what the services enqueue on commit (processing), as the embedded default does."""
    global _committed
    _committed = django_capture_on_commit_callbacks
    yield
    _committed = None


def committed(call, *args, **kwargs):
    """Call a service (or a request) and run what it enqueued once its transaction committed."""
    with _committed(execute=True):
        return call(*args, **kwargs)


def post(interview) -> int:
    return committed(Client().post, "/submission", interview.multipart(), **auth()).status_code


def encrypted(public: str, *, age: str = "30", version: str = "1", **kwargs):
    instance_id = new_instance_id()
    return encrypt_interview(instance=plain_instance(instance_id=instance_id, age=age, version=version),
                             form_id="sealed", version=version, instance_id=instance_id, public_key=public,
                             media={"photo.jpg": PHOTO}, **kwargs)


def stored(interview) -> Submission:
    return Submission.objects.get(instance_id=interview.instance_id)


def ciphertext(sub: Submission) -> dict[str, bytes]:
    out = {}
    for attachment in SubmissionAttachment.objects.filter(submission=sub):
        with attachment.file.open("rb") as sealed:
            out[attachment.filename] = b"".join(open_chunks(sealed))
    return out


def test_an_own_key_form_version_is_encrypted_with_its_key_and_no_private_key(own_key):
    q, _, public = own_key
    key = FormKey.objects.get()
    assert (q.encryption_key_id, key.form_id, key.public_key, key.managed, key.private_key) == (
        key.pk, "sealed", public, False, None)
    assert xform_public_key(q.xform_xml) == public
    assert key.fingerprint == hashlib.sha256(__import__("base64").b64decode(public)).hexdigest()


def test_without_its_key_an_encrypted_interview_is_stored_and_waits_never_invalid(own_key):
    _, _, public = own_key
    interview = encrypted(public)

    assert post(interview) == 201

    sub = stored(interview)
    assert (sub.encrypted, sub.processing, sub.validation, sub.answers, sub.tallied) == (
        True, "awaiting_key", "pending", None, False)
    assert sub.processing_error.startswith("Encrypted: waiting for the private key of form 'sealed' (key ")
    assert raw_open(sub.raw_body) == interview.manifest  # the manifest exactly as received
    assert ciphertext(sub) == interview.files  # the .enc files exactly as received
    assert sub.attachments_expected == 2
    # Processing again (the sweep, process_pending) changes nothing while the key is missing.
    assert submission_process(submission_id=sub.pk).changed is False


def test_once_the_private_key_arrives_waiting_interviews_are_decrypted_validated_and_counted(own_key):
    q, private, public = own_key
    interviews = [encrypted(public, age="30"), encrypted(public, age="41")]
    assert [post(i) for i in interviews] == [201, 201]

    given = committed(form_private_key_set, form_id="sealed", private_key=pem(private), by=None)

    assert (given.created, given.requeued) == (True, 2)
    subs = [stored(i) for i in interviews]
    assert [(s.processing, s.validation, s.processing_error, s.problems) for s in subs] == [
        ("processed", "valid", "", []), ("processed", "valid", "", [])]
    assert [s.answers["age"] for s in subs] == [30, 41]
    assert subs[0].answers["q1"] == "hello"
    assert RoundTally.objects.filter(round=q.round, dimension="all", path="@submissions").exists() or \
        RoundTally.objects.filter(round=q.round).exists()
    assert all(s.tallied for s in subs)
    # The ciphertext stays as received; the private key is stored sealed, never in plaintext.
    assert ciphertext(subs[0]) == interviews[0].files
    key = FormKey.objects.get()
    assert pem(private) not in bytes(key.private_key) and b"PRIVATE KEY" not in bytes(key.private_key)
    # Giving it again changes nothing.
    again = form_private_key_set(form_id="sealed", private_key=pem(private), by=None)
    assert (again.created, again.requeued) == (False, 0)


def test_mgf1_sha1_key_wrapping_and_a_missing_signature_are_accepted(own_key):
    _, private, public = own_key
    form_private_key_set(form_id="sealed", private_key=pem(private), by=None)
    sha1 = encrypted(public, mgf_sha1=True)
    unsigned = encrypted(public, sign=False)

    assert [post(sha1), post(unsigned)] == [201, 201]

    assert [(stored(i).processing, stored(i).validation) for i in (sha1, unsigned)] == [
        ("processed", "valid"), ("processed", "valid")]
