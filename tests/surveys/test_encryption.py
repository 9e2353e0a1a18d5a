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
from tests.forms import shared_xlsforms, simple_form
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


def openrosa_message(response) -> str:
    from lxml import etree

    root = etree.fromstring(response.content)
    assert etree.QName(root).localname == "OpenRosaResponse"
    return root.findtext("{http://openrosa.org/http/response}message")


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
    # Giving it again, or processing again, changes nothing.
    again = form_private_key_set(form_id="sealed", private_key=pem(private), by=None)
    assert (again.created, again.requeued) == (False, 0)
    assert [submission_process(submission_id=s.pk).changed for s in subs] == [False, False]


def test_mgf1_sha1_key_wrapping_and_a_missing_signature_are_accepted(own_key):
    _, private, public = own_key
    form_private_key_set(form_id="sealed", private_key=pem(private), by=None)
    sha1 = encrypted(public, mgf_sha1=True)
    unsigned = encrypted(public, sign=False)

    assert [post(sha1), post(unsigned)] == [201, 201]

    assert [(stored(i).processing, stored(i).validation) for i in (sha1, unsigned)] == [
        ("processed", "valid"), ("processed", "valid")]


# --- failures: readable, the ciphertext kept -------------------------------------------------------------------

WRONG_KEY = ("The submission's key does not open with this form's private key: a wrong private key, or the "
             "submission was encrypted for another key.")
BAD_SIGNATURE = ("The submission's signature does not match its files and manifest: a file or the manifest was "
                 "altered, or files were swapped.")


@pytest.fixture
def keyed(own_key):
    """The own-key form with its private key given."""
    q, private, public = own_key
    form_private_key_set(form_id="sealed", private_key=pem(private), by=None)
    return q, private, public


def assert_failed_and_kept(interview, reason: str) -> Submission:
    sub = stored(interview)
    assert (sub.processing, sub.processing_error, sub.validation, sub.answers, sub.tallied) == (
        "failed", reason, "pending", None, False)
    assert raw_open(sub.raw_body) == interview.manifest
    assert ciphertext(sub) == interview.files
    return sub


def test_an_interview_encrypted_for_another_key_fails_readably(keyed):
    _, other_public = key_pair()
    interview = encrypted(other_public)

    assert post(interview) == 201

    assert_failed_and_kept(interview, WRONG_KEY)


def test_a_tampered_photo_fails_on_its_signature(keyed):
    _, _, public = keyed
    interview = encrypted(public)
    altered = bytearray(interview.files["photo.jpg.enc"])
    altered[40] ^= 0x01  # CFB: one flipped bit changes the photo, not its padding
    interview.files["photo.jpg.enc"] = bytes(altered)

    assert post(interview) == 201

    assert_failed_and_kept(interview, BAD_SIGNATURE)


def test_a_truncated_instance_file_fails_as_damaged(keyed):
    _, _, public = keyed
    interview = encrypted(public)
    interview.files["submission.xml.enc"] = interview.files["submission.xml.enc"][:-5]

    assert post(interview) == 201

    assert_failed_and_kept(interview, "The file submission.xml.enc does not decrypt: it was altered or damaged "
                                      "after it was encrypted.")


def test_a_signature_made_for_other_files_fails(keyed):
    _, _, public = keyed
    interview, donor = encrypted(public), encrypted(public)
    start = donor.manifest.index(b"<base64EncryptedElementSignature>")
    end = donor.manifest.index(b"</base64EncryptedElementSignature>")
    own_start = interview.manifest.index(b"<base64EncryptedElementSignature>")
    own_end = interview.manifest.index(b"</base64EncryptedElementSignature>")
    interview.manifest = interview.manifest[:own_start] + donor.manifest[start:end] + interview.manifest[own_end:]

    assert post(interview) == 201

    assert_failed_and_kept(interview, BAD_SIGNATURE)


def test_a_file_named_in_the_manifest_but_not_sent_fails_and_a_resend_with_it_processes(keyed):
    _, _, public = keyed
    interview = encrypted(public)
    photo = interview.files.pop("photo.jpg.enc")

    assert post(interview) == 201
    assert_failed_and_kept(interview, "The encrypted file(s) photo.jpg.enc named in the manifest were not "
                                      "received; send the submission again from the tablet.")

    interview.files["photo.jpg.enc"] = photo
    assert post(interview) == 202  # the same manifest: the missing file merged, processed again

    sub = stored(interview)
    assert (sub.processing, sub.validation, sub.answers["age"]) == ("processed", "valid", 30)


def test_an_instance_swapped_between_two_interviews_fails(keyed):
    _, _, public = keyed
    first, second = encrypted(public), encrypted(public, sign=False)
    first.files["submission.xml.enc"] = second.files["submission.xml.enc"]
    first.manifest = first.manifest.replace(
        first.manifest[first.manifest.index(b"<base64EncryptedElementSignature>"):
                       first.manifest.index(b"</base64EncryptedElementSignature>") + 34], b"")

    assert post(first) == 201

    # The AES key of `first` does not open `second`'s instance: its padding (or XML) is garbage.
    sub = stored(first)
    assert sub.processing == "failed"
    assert sub.processing_error in (
        "The file submission.xml.enc does not decrypt: it was altered or damaged after it was encrypted.",
        "The decrypted instance is not a readable XForm instance.")


@pytest.mark.parametrize(("manifest", "message"), [
    (b'<data xmlns="http://opendatakit.org/submissions" id="sealed" version="1" encrypted="yes">'
     b"<encryptedXmlFile>submission.xml.enc</encryptedXmlFile>"
     b'<meta xmlns="http://openrosa.org/xforms"><instanceID>uuid:m1</instanceID></meta></data>',
     "The encrypted submission's manifest has no base64EncryptedKey."),
    (b'<data xmlns="http://opendatakit.org/submissions" id="sealed" version="1" encrypted="yes">'
     b"<base64EncryptedKey>AAAA</base64EncryptedKey><encryptedXmlFile>submission.xml</encryptedXmlFile>"
     b'<meta xmlns="http://openrosa.org/xforms"><instanceID>uuid:m2</instanceID></meta></data>',
     "The encrypted submission's manifest names 'submission.xml', which is not an encrypted file name "
     "(<name>.enc)."),
    (b'<data xmlns="http://opendatakit.org/submissions" id="sealed" version="1" encrypted="yes">'
     b"<base64EncryptedKey>AAAA</base64EncryptedKey><encryptedXmlFile>submission.xml.enc</encryptedXmlFile>"
     b"<media><file>../x.jpg.enc</file></media>"
     b'<meta xmlns="http://openrosa.org/xforms"><instanceID>uuid:m3</instanceID></meta></data>',
     "The encrypted submission's manifest names '../x.jpg.enc', which is not an encrypted file name "
     "(<name>.enc)."),
])
def test_a_malformed_manifest_is_refused_in_openrosa_form_and_nothing_is_stored(own_key, manifest, message):
    from tests.submissions import multipart

    response = Client().post("/submission", multipart(manifest), **auth())

    assert response.status_code == 400
    assert openrosa_message(response) == message
    assert Submission.objects.count() == 0
    assert SubmissionAttachment.objects.count() == 0


# --- managed encryption -----------------------------------------------------------------------------------------

def served_form(form_id: str = "simple") -> str:
    response = Client().get(f"/forms/{form_id}/form.xml", **auth())
    assert response.status_code == 200
    return response.content.decode()


def form_list_versions() -> dict[str, str]:
    from lxml import etree

    root = etree.fromstring(Client().get("/formList", **auth()).content)
    ns = "{http://openrosa.org/xforms/xformsList}"
    return {x.findtext(f"{ns}formID"): x.findtext(f"{ns}version") for x in root.iter(f"{ns}xform")}


def collect_interview(public: str, *, form_id="simple", version: str, age="30"):
    instance_id = new_instance_id()
    xml = (f'<data id="{form_id}" version="{version}"><q1>hi</q1><age>{age}</age><photo>photo.jpg</photo>'
           f"<photo2/><meta><instanceID>{instance_id}</instanceID></meta></data>").encode()
    return encrypt_interview(instance=xml, form_id=form_id, version=version, instance_id=instance_id,
                             public_key=public, media={"photo.jpg": PHOTO})


def test_managed_encryption_issues_an_encrypted_version_that_round_trips(photo_form):
    from lxml import etree

    result = form_encryption_managed(form_id="simple", by=None)

    key, new = result.key, result.questionnaire
    assert (result.created, key.managed, new.version, new.encryption_key_id, new.round_id) == (
        True, True, f"1-enc-{key.fingerprint[:8]}", key.pk, photo_form.round_id)
    assert new.schema["fields"] == photo_form.schema["fields"]
    assert Questionnaire.objects.get(pk=photo_form.pk).encryption_key_id is None  # the old version is unchanged
    # Tablets get the new version: the form list offers it, the XForm served carries the key and the version.
    assert form_list_versions() == {"simple": new.version}
    served = served_form()
    assert hashlib.md5(served.encode()).hexdigest() == new.md5
    doc = etree.fromstring(served.encode())
    submission = doc.find(".//{http://www.w3.org/2002/xforms}submission")
    public = submission.get("base64RsaPublicKey")
    assert (public, submission.get("method")) == (key.public_key, "post")
    assert doc.find(".//{http://www.w3.org/2002/xforms}instance/{http://www.w3.org/2002/xforms}data").get(
        "version") == new.version
    # What Collect makes with the served key is decrypted with the managed key at once.
    interview = collect_interview(public, version=new.version, age="52")
    assert post(interview) == 201
    sub = stored(interview)
    assert (sub.questionnaire_id, sub.encrypted, sub.processing, sub.validation, sub.answers["age"]) == (
        new.pk, True, "processed", "valid", 52)


def test_managed_encryption_twice_changes_nothing(photo_form):
    first = form_encryption_managed(form_id="simple", by=None)
    again = form_encryption_managed(form_id="simple", by=None)

    assert (again.created, again.key.pk, again.questionnaire.pk) == (False, first.key.pk, first.questionnaire.pk)
    assert (FormKey.objects.count(), Questionnaire.objects.filter(form_id="simple").count()) == (1, 2)


def test_every_later_version_imported_carries_the_managed_key(photo_form):
    from tests.submissions import PHOTO_FORM_ROWS

    key = form_encryption_managed(form_id="simple", by=None).key

    v2 = questionnaire_import(source=simple_form(version="2", extra_rows=PHOTO_FORM_ROWS), filename="simple.md",
                              survey_slug="mtm-kz", round_number=4)
    again = questionnaire_import(source=simple_form(version="2", extra_rows=PHOTO_FORM_ROWS),
                                 filename="simple.md", survey_slug="mtm-kz", round_number=4)
    v1_again = questionnaire_import(source=simple_form(extra_rows=PHOTO_FORM_ROWS), filename="simple.md",
                                    survey_slug="mtm-kz", round_number=4)

    q = v2.questionnaire
    assert (v2.created, q.version, q.encryption_key_id, xform_public_key(q.xform_xml)) == (
        True, "2", key.pk, key.public_key)
    assert hashlib.md5(q.xform_xml.encode()).hexdigest() == q.md5
    assert (again.created, again.questionnaire.pk) == (False, q.pk)  # re-importing the same version: no-op
    assert (v1_again.created, v1_again.questionnaire.pk) == (False, photo_form.pk)
    interview = collect_interview(key.public_key, version="2")
    assert post(interview) == 201
    assert (stored(interview).processing, stored(interview).validation) == ("processed", "valid")


def test_a_later_version_with_its_own_public_key_keeps_its_own(photo_form):
    form_encryption_managed(form_id="simple", by=None)
    _, own = key_pair()

    q = questionnaire_import(source=encrypted_form_md(own, version="3").replace(b"| sealed |", b"| simple |"),
                             filename="simple.md", survey_slug="mtm-kz", round_number=4).questionnaire

    assert (xform_public_key(q.xform_xml), q.encryption_key.public_key, q.encryption_key.managed) == (
        own, own, False)


def test_a_form_public_key_that_is_not_a_key_is_refused_at_import_and_nothing_stored(db):
    from mtm.errors import InvalidInput

    RoundFactory()
    with pytest.raises(InvalidInput) as refused:
        questionnaire_import(source=encrypted_form_md("bm90IGEga2V5"), filename="sealed.md", survey_slug="mtm-kz",
                             round_number=4)

    assert refused.value.message == "The form's public key (base64RsaPublicKey) is not a base64 RSA public key."
    assert (Questionnaire.objects.count(), FormKey.objects.count()) == (0, 0)


# --- who may ----------------------------------------------------------------------------------------------------

def test_only_the_data_protection_role_manages_keys(own_key):
    from django.contrib.auth.models import Group

    from enumerators.roles import DATA_PROTECTION, SUPERVISORS
    from enumerators.services.roles import roles_ensure
    from mtm.errors import Forbidden

    roles_ensure()
    _, private, _ = own_key
    supervisor = UserFactory(username="sup1", is_staff=True)
    supervisor.groups.add(Group.objects.get(name=SUPERVISORS))
    officer = UserFactory(username="dpo1", is_staff=True)
    officer.groups.add(Group.objects.get(name=DATA_PROTECTION))

    for call in (lambda: form_private_key_set(form_id="sealed", private_key=pem(private), by=supervisor),
                 lambda: form_encryption_managed(form_id="sealed", by=supervisor)):
        with pytest.raises(Forbidden):
            call()
    assert (FormKey.objects.get().private_key, FormKey.objects.count()) == (None, 1)

    assert form_private_key_set(form_id="sealed", private_key=pem(private), by=officer).created is True
    key = FormKey.objects.get()
    assert (key.private_key_set_by, key.private_key is not None) == (officer, True)


def test_a_private_key_of_another_form_or_no_key_is_refused_and_nothing_changes(own_key):
    from mtm.errors import InvalidInput, NotFound

    other, _ = key_pair()
    with pytest.raises(InvalidInput) as wrong:
        form_private_key_set(form_id="sealed", private_key=pem(other), by=None)
    with pytest.raises(InvalidInput) as garbage:
        form_private_key_set(form_id="sealed", private_key=b"-----BEGIN PRIVATE KEY-----\nxx\n", by=None)
    with pytest.raises(NotFound) as unknown:
        form_private_key_set(form_id="nope", private_key=pem(other), by=None)

    assert wrong.value.message == ("This private key does not belong to form 'sealed': its public key is not the "
                                   "public key of any of the form's versions.")
    assert garbage.value.message == "The file is not an RSA private key in PEM (or DER) form."
    assert unknown.value.message == "Form 'nope' has no encrypted version."
    assert FormKey.objects.get().private_key is None


# --- what the APIs and exports show ---------------------------------------------------------------------------

def test_the_kobo_api_and_exports_show_the_decrypted_record_never_ciphertext_or_keys(keyed, tmp_path):
    from django.core.management import call_command

    from surveys.kobo_ids import asset_uid
    from tests.clients import body, body_json, token_client

    _, _, public = keyed
    interview = encrypted(public, age="44")
    assert post(interview) == 201
    sub = stored(interview)
    officer = token_client("dpo1", "view_submission", "view_raw_submission")
    analyst = token_client("analyst1", "view_submission")

    dpo_records = body_json(officer.get(f"/api/v2/assets/{asset_uid('sealed')}/data/"))["results"]
    analyst_records = body_json(analyst.get(f"/api/v2/assets/{asset_uid('sealed')}/data/"))["results"]

    for record in (dpo_records[0], analyst_records[0]):
        assert (record["age"], record["q1"], record["photo"], record["meta/instanceID"]) == (
            "44", "hello", "photo.jpg", sub.instance_id)
    # The data-protection role sees the media by its own name, never the .enc files nor the instance's.
    assert [(a["media_file_basename"], a["mimetype"]) for a in dpo_records[0]["_attachments"]] == [
        ("photo.jpg", "image/jpeg")]
    assert analyst_records[0]["_attachments"] == []
    text = body(officer.get(f"/api/v2/assets/{asset_uid('sealed')}/data/"))
    assert b".enc" not in text and b"base64EncryptedKey" not in text and b"PRIVATE" not in text
    # Its download is the photo decrypted, for the data-protection role only.
    url = dpo_records[0]["_attachments"][0]["download_url"]
    photo = officer.get(url)
    assert (photo.status_code, photo["Content-Type"], b"".join(photo.streaming_content)) == (
        200, "image/jpeg", PHOTO)
    assert analyst.get(url).status_code == 403
    # The export holds the anonymised record, as for any interview.
    call_command("export_records", "sealed", "--out", str(tmp_path / "sealed.csv"))
    rows = (tmp_path / "sealed.csv").read_text(encoding="utf-8-sig").splitlines()
    header, row = rows[0].split(","), rows[1].split(",")
    assert dict(zip(header, row, strict=True))["age"] == "44"
    assert ".enc" not in rows[1] and len(rows) == 2


def test_an_encrypted_photo_waiting_for_its_key_is_a_conflict_not_a_file(own_key):
    from tests.clients import token_client

    _, _, public = own_key
    interview = encrypted(public)
    post(interview)
    officer = token_client("dpo1", "view_submission", "view_raw_submission")

    response = officer.get(f"/api/v1/submissions/{interview.instance_id}/attachments/photo.jpg?form=sealed")
    unknown = officer.get(f"/api/v1/submissions/{interview.instance_id}/attachments/other.jpg?form=sealed")

    assert (response.status_code, response.json()) == (
        409, {"detail": "The submission is encrypted and its form's private key has not been given yet."})
    assert unknown.status_code == 404


# --- the command ---------------------------------------------------------------------------------------------

def run(*args) -> tuple[str, str]:
    from io import StringIO

    from django.core.management import call_command

    out, err = StringIO(), StringIO()
    committed(call_command, "form_encryption", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_command_gives_the_private_key_and_processes_what_waited(own_key, tmp_path):
    _, private, public = own_key
    interview = encrypted(public)
    post(interview)
    (tmp_path / "key.pem").write_bytes(pem(private))
    fingerprint = FormKey.objects.get().fingerprint[:12]

    first, _ = run("sealed", "--private-key", str(tmp_path / "key.pem"))
    second, _ = run("sealed", "--private-key", str(tmp_path / "key.pem"))

    assert first == f"sealed: private key stored (key {fingerprint}); 1 waiting submission(s) sent to processing\n"
    assert second == f"sealed: private key already stored (key {fingerprint}); 0 waiting submission(s) sent to " \
                     "processing\n"
    assert (stored(interview).processing, stored(interview).validation) == ("processed", "valid")


def test_the_command_turns_on_managed_encryption_once(photo_form):
    first, _ = run("simple", "--managed")
    second, _ = run("simple", "--managed")

    key = FormKey.objects.get()
    assert first == f"simple 1-enc-{key.fingerprint[:8]} encrypted (managed key {key.fingerprint[:12]})\n"
    assert second == (f"simple 1-enc-{key.fingerprint[:8]} already encrypted (managed key {key.fingerprint[:12]}); "
                      "nothing changed\n")


@pytest.mark.parametrize(("args", "message"), [
    (("nope", "--managed"), "nope: No form 'nope'."),
    (("sealed", "--private-key", "{other}"), "sealed: This private key does not belong to form 'sealed': its "
                                             "public key is not the public key of any of the form's versions."),
    (("sealed", "--private-key", "{missing}"), "Cannot read {missing}: No such file or directory"),
])
def test_the_command_refuses_with_exit_code_2_and_changes_nothing(own_key, tmp_path, args, message):
    from django.core.management.base import CommandError

    other, _ = key_pair()
    (tmp_path / "other.pem").write_bytes(pem(other))
    paths = {"other": str(tmp_path / "other.pem"), "missing": str(tmp_path / "missing.pem")}
    args = tuple(a.format(**paths) for a in args)

    with pytest.raises(CommandError) as refused:
        run(*args)

    assert (str(refused.value), refused.value.returncode) == (message.format(**paths), 2)
    assert [(k.form_id, k.private_key) for k in FormKey.objects.all()] == [("sealed", None)]
    assert Questionnaire.objects.count() == 1


# --- the admin -----------------------------------------------------------------------------------------------

@pytest.fixture
def officer(db):
    from django.contrib.auth.models import Group

    from enumerators.roles import DATA_PROTECTION
    from enumerators.services.roles import roles_ensure

    roles_ensure()
    user = UserFactory(username="dpo1", is_staff=True)
    user.groups.add(Group.objects.get(name=DATA_PROTECTION))
    return user


def test_the_admin_shows_which_versions_are_encrypted_and_who_waits_for_a_key(own_key, client):
    from tests.factories import UserFactory as Users

    q, _, public = own_key
    plain = questionnaire_import(source=simple_form(), filename="simple.md", survey_slug="mtm-kz",
                                 round_number=4).questionnaire
    interview = encrypted(public)
    post(interview)
    client.force_login(Users(username="admin", is_staff=True, is_superuser=True))

    changelist = client.get("/admin/surveys/questionnaire/")
    rows = {(r.form_id, r.version): r for r in changelist.context["cl"].result_list}
    encrypted_only = client.get("/admin/surveys/questionnaire/?encryption_key__isempty=0")
    waiting = client.get("/admin/surveys/submission/?processing__exact=awaiting_key")
    invalid = client.get("/admin/surveys/submission/?validation__exact=invalid")
    sent_encrypted = client.get("/admin/surveys/submission/?encrypted__exact=1")
    page = client.get(f"/admin/surveys/submission/{stored(interview).pk}/change/")

    assert changelist.context["cl"].model_admin.encrypted(rows[("sealed", "1")]) is True
    assert changelist.context["cl"].model_admin.encrypted(rows[("simple", "1")]) is False
    assert [r.pk for r in encrypted_only.context["cl"].result_list] == [q.pk]
    assert plain.pk not in [r.pk for r in encrypted_only.context["cl"].result_list]
    assert [r.instance_id for r in waiting.context["cl"].result_list] == [interview.instance_id]
    assert b"Waiting for its key (encrypted)" in waiting.content
    assert list(invalid.context["cl"].result_list) == []
    assert [r.instance_id for r in sent_encrypted.context["cl"].result_list] == [interview.instance_id]
    assert page.status_code == 200 and b"Waiting for its key (encrypted)" in page.content


def test_the_data_protection_role_gives_the_private_key_in_the_admin(own_key, client, officer):
    _, private, public = own_key
    interview = encrypted(public)
    post(interview)
    key = FormKey.objects.get()
    client.force_login(officer)
    page = f"/admin/surveys/formkey/{key.pk}/change/"
    from django.core.files.uploadedfile import SimpleUploadedFile

    other, _ = key_pair()
    refused = client.post(page, {"private_key_file": SimpleUploadedFile("other.pem", pem(other))})
    assert refused.status_code == 200  # the form again, with the service's message under the upload
    assert refused.context["adminform"].form.errors["private_key_file"] == [
        "This private key does not belong to form 'sealed': its public key is not the public key of any of the "
        "form's versions."]
    assert FormKey.objects.get().private_key is None

    response = committed(client.post, page, {"private_key_file": SimpleUploadedFile("key.pem", pem(private))})

    assert response.status_code == 302
    assert (stored(interview).processing, stored(interview).validation) == ("processed", "valid")
    download = client.get(f"{page}private-key.pem")
    assert download.status_code == 200
    assert download["Cache-Control"].startswith("no-store")
    assert download["Content-Disposition"] == f'attachment; filename="sealed-{key.fingerprint[:12]}.pem"'
    from cryptography.hazmat.primitives import serialization

    downloaded = serialization.load_pem_private_key(download.content, password=None)
    assert downloaded.private_numbers() == private.private_numbers()


def test_only_the_data_protection_role_sees_form_keys_in_the_admin(own_key, client):
    from django.contrib.auth.models import Group

    from enumerators.roles import SUPERVISORS
    from enumerators.services.roles import roles_ensure

    roles_ensure()
    supervisor = UserFactory(username="sup1", is_staff=True)
    supervisor.groups.add(Group.objects.get(name=SUPERVISORS))
    client.force_login(supervisor)
    key = FormKey.objects.get()

    assert client.get("/admin/surveys/formkey/").status_code == 403
    assert client.get(f"/admin/surveys/formkey/{key.pk}/change/").status_code == 403
    assert client.get(f"/admin/surveys/formkey/{key.pk}/change/private-key.pem").status_code == 403


def test_the_data_protection_role_turns_on_managed_encryption_from_the_questionnaire_list(photo_form, client,
                                                                                          officer):
    client.force_login(officer)

    committed(client.post, "/admin/surveys/questionnaire/", {"action": "encrypt_managed",
                                                              "_selected_action": [photo_form.pk]})

    key = FormKey.objects.get()
    assert (key.managed, [q.version for q in Questionnaire.objects.filter(encryption_key=key)]) == (
        True, [f"1-enc-{key.fingerprint[:8]}"])


# --- the published encrypted form (../shared/xlsforms/22_encrypted-form.xlsx) ---------------------------------

def hh_survey_instance(instance_id: str, version: str) -> bytes:
    return (f'<?xml version="1.0"?><data xmlns:orx="http://openrosa.org/xforms" id="hh_survey2" '
            f'version="{version}"><start>2024-05-02T10:00:00.000+05:00</start>'
            f"<end>2024-05-02T10:20:00.000+05:00</end><start-geopoint>43.25 76.9 800 5</start-geopoint>"
            f"<hh_num>5</hh_num><location>westlands</location><hhh_name>Amina</hhh_name><gender>Female</gender>"
            f"<gps>43.2501 76.9002 800 5</gps><photo1>1714630000000.jpg</photo1>"
            f"<meta><instanceID>{instance_id}</instanceID></meta></data>").encode()


def hh_survey(**settings):
    from tests.forms import shared_xlsform

    RoundFactory()
    q = questionnaire_import(source=shared_xlsform("22_encrypted-form.xlsx", version="2024050201", **settings),
                             filename="22_encrypted-form.xlsx", survey_slug="mtm-kz", round_number=4).questionnaire
    AssignmentFactory(enumerator=EnumeratorFactory(user=UserFactory(username="enum01")), round=q.round)
    return q


def hh_interview(public: str):
    instance_id = new_instance_id()
    return encrypt_interview(instance=hh_survey_instance(instance_id, "2024050201"), form_id="hh_survey2",
                             version="2024050201", instance_id=instance_id, public_key=public,
                             media={"1714630000000.jpg": PHOTO})


needs_shared_forms = pytest.mark.skipif(shared_xlsforms() is None, reason=(
    "the shared XLSForms are not here: set MTM_SHARED_XLSFORMS to the folder ../shared/xlsforms"))


@needs_shared_forms
def test_the_published_encrypted_form_takes_interviews_that_wait_for_its_private_key(db):
    q = hh_survey()
    public = xform_public_key(q.xform_xml)
    interview = hh_interview(public)

    assert post(interview) == 201

    sub = stored(interview)
    assert (q.encryption_key.public_key, sub.encrypted, sub.processing, sub.validation) == (
        public, True, "awaiting_key", "pending")
    assert public.startswith("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAq4jsOihkwG6zyYCHdfvLr9QLUEqkdCIut7A")


@needs_shared_forms
def test_the_published_encrypted_form_with_a_key_we_hold_round_trips_valid(db):
    private, public = key_pair()
    q = hh_survey(public_key=public)
    form_private_key_set(form_id="hh_survey2", private_key=pem(private), by=None)
    interview = hh_interview(xform_public_key(q.xform_xml))

    assert post(interview) == 201

    sub = stored(interview)
    assert (sub.processing, sub.processing_error, sub.validation, sub.problems) == ("processed", "", "valid", [])
    assert (sub.answers["hh_num"], sub.answers["location"], sub.answers["gender"]) == (5, "westlands", "Female")
    assert sub.tallied is True


def test_process_pending_counts_the_interviews_that_wait_for_their_key(own_key, capsys):
    from django.core.management import call_command

    from surveys.services.ingest import Sender, submission_ingest_xml

    _, _, public = own_key
    interview = encrypted(public)
    enum01 = UserFactory(username="enum01")
    submission_ingest_xml(xml=interview.manifest, sender=Sender(user=enum01), attachments=interview.uploads())

    call_command("process_pending")
    call_command("process_pending")

    assert capsys.readouterr().out == ("pending 1: processed 0, failed 0, waiting for their key 1\n"
                                       "pending 0: processed 0, failed 0\n")
    assert stored(interview).processing == "awaiting_key"


def test_an_encrypted_interview_sent_in_two_parts_is_processed_once_complete(keyed):
    from django.core.files.uploadedfile import SimpleUploadedFile

    _, _, public = keyed
    interview = encrypted(public, age="61")

    def part(name: str, *, incomplete: bool) -> int:
        data = {"xml_submission_file": SimpleUploadedFile("submission.xml", interview.manifest, "text/xml"),
                "file0": SimpleUploadedFile(name, interview.files[name])}
        if incomplete:
            data["*isIncomplete*"] = "yes"
        return committed(Client().post, "/submission", data, **auth()).status_code

    assert part("photo.jpg.enc", incomplete=True) == 201
    assert (stored(interview).processing, stored(interview).complete) == ("receiving", False)
    assert part("submission.xml.enc", incomplete=False) == 202

    sub = stored(interview)
    assert (sub.processing, sub.validation, sub.answers["age"]) == ("processed", "valid", 61)
    assert ciphertext(sub) == interview.files


def test_an_encrypted_interview_for_a_version_that_is_not_encrypted_fails_readably(photo_form):
    _, public = key_pair()
    interview = collect_interview(public, version="1")

    assert post(interview) == 201

    assert_failed_and_kept(interview, "The submission is encrypted, but version 1 of form 'simple' is not: no key "
                                      "of the form opens it.")
