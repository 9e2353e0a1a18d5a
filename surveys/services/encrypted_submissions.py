"""Opening a stored submission's instance for processing: the raw store's
body, or — for an interview sent encrypted — the instance decrypted with its
form version's private key (:mod:`surveys.services.odk_encryption`), the
element signature checked. Nothing decrypted is stored: processing reads it
in memory, as it reads the raw store; the ciphertext stays as received."""

from __future__ import annotations

from mtm.errors import Conflict, NotFound
from surveys.models import Submission
from surveys.services.form_keys import form_key_private
from surveys.services.instance import instance_header, parse_instance
from surveys.services.odk_encryption import (
    ENCRYPTED_SUFFIX,
    DecryptedSubmission,
    SubmissionUndecryptable,
    manifest_read,
    submission_decrypt,
)
from surveys.services.raw_store import open_chunks, raw_open


class AwaitingKey(Exception):
    """An encrypted submission whose form key has no private key yet: it waits, it has not failed."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def submission_instance(submission: Submission) -> bytes:
    """The XForm instance processing reads (built from the JSON body for KoBo-style posts; decrypted for an
    encrypted one: :class:`AwaitingKey` without its private key, :class:`SubmissionUndecryptable` when it
    does not open)."""
    if submission.encrypted:
        return submission_decrypted(submission).xml
    return raw_open(submission.xml if submission.xml is not None else submission.raw_body)


def submission_decrypted(submission: Submission) -> DecryptedSubmission:
    """An encrypted submission opened: its instance and media, checked against its manifest."""
    questionnaire = submission.questionnaire
    key = questionnaire.encryption_key
    if key is None:
        raise SubmissionUndecryptable(f"The submission is encrypted, but version {questionnaire.version} of form "
                                      f"'{questionnaire.form_id}' is not: no key of the form opens it.")
    private_key = form_key_private(key)
    if private_key is None:
        raise AwaitingKey(f"Encrypted: waiting for the private key of form '{key.form_id}' (key "
                          f"{key.fingerprint[:12]}); it is processed once the data-protection role gives it.")
    manifest = manifest_read(parse_instance(raw_open(submission.raw_body)))
    files = {}
    for attachment in submission.attachments.filter(filename__in=manifest.files):
        with attachment.file.open("rb") as sealed:
            files[attachment.filename] = b"".join(open_chunks(sealed))
    decrypted = submission_decrypt(manifest=manifest, private_key=private_key, files=files)
    try:
        header = instance_header(parse_instance(decrypted.xml))
    except Exception:  # noqa: BLE001 - whatever the parser says, the message must not quote the instance
        raise SubmissionUndecryptable("The decrypted instance is not a readable XForm instance.") from None
    if header.form_id != manifest.form_id or header.instance_id != manifest.instance_id:
        raise SubmissionUndecryptable("The decrypted instance is not the one its manifest names (another form id "
                                      "or instanceID): the files were swapped.")
    return decrypted



def submission_media_decrypted(submission: Submission, filename: str) -> bytes:
    """One media file of an encrypted submission, decrypted (the whole submission is opened and its signature
    checked first), for the data-protection role: :class:`~mtm.errors.NotFound` when its manifest names no
    ``<filename>.enc``, :class:`~mtm.errors.Conflict` while its private key is not given,
    :class:`SubmissionUndecryptable` when it does not open. Nothing decrypted is stored."""
    if not submission.encrypted or submission.raw_purged_at is not None:
        raise NotFound("No such attachment.")
    if f"{filename}{ENCRYPTED_SUFFIX}" not in manifest_read(parse_instance(raw_open(submission.raw_body))).media:
        raise NotFound("No such attachment.")
    try:
        return submission_decrypted(submission).media[filename]
    except AwaitingKey:
        raise Conflict("The submission is encrypted and its form's private key has not been given yet.") from None
