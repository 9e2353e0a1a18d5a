"""Encrypted forms: their key pairs and the versions that encrypt with them (ADR 0013).

- **Own key.** A version whose XForm carries ``base64RsaPublicKey`` (the
  XLSForm's ``public_key`` setting) is linked on import to a :class:`FormKey`
  of that public key, without a private key until the data-protection role
  gives it (:func:`form_private_key_set`; ``form_encryption FORM_ID
  --private-key FILE.pem`` or the admin).
- **Managed.** :func:`form_encryption_managed` makes the key pair (the private
  key sealed with the raw store's key, ``MTM_RAW_KEY``) and issues at once a
  new version of the form: the latest version's XForm with the public key,
  its version suffixed ``-enc-<fingerprint>``, so that tablets get the
  encrypted form on their next sync. Every version imported later without a
  ``public_key`` of its own gets the managed key in its XForm
  (:func:`version_key_applied`, called by the import).

When a private key arrives, the interviews that waited for it
(``processing = awaiting_key``) are sent to processing once the transaction
commits. Only superusers and the data-protection role (``manage_form_keys``)
turn encryption on or give and read private keys; ``by=None`` is the
operator at the server's console (management commands)."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from lxml import etree

from mtm.errors import Forbidden, InvalidInput, NotFound
from surveys.models import FormKey, Questionnaire, QuestionnaireMedia, Submission
from surveys.services.odk_encryption import (
    private_key_der,
    private_key_generate,
    private_key_load,
    private_key_pem,
    public_key_fingerprint,
    public_key_load,
    public_key_text,
)
from surveys.services.pending import submissions_pending_again
from surveys.services.raw_store import raw_open, raw_seal

if TYPE_CHECKING:
    from enumerators.models import AnyUser
    from surveys.form_schema import FormSchema
    from surveys.services.xlsform import ConvertedForm

log = logging.getLogger(__name__)

XFORMS_NS = "http://www.w3.org/2002/xforms"
ORX_NS = "http://openrosa.org/xforms"
MANAGE_PERMISSION = "surveys.manage_form_keys"
MAX_VERSION = 100


@dataclass(frozen=True)
class ManagedEncryption:
    key: FormKey
    questionnaire: Questionnaire
    #: False when the form had its managed key and its latest version used it already (nothing changed).
    created: bool


@dataclass(frozen=True)
class PrivateKeySet:
    key: FormKey
    #: False when the key had its private key already (nothing changed).
    created: bool
    #: How many interviews that waited for the key were sent to processing.
    requeued: int


def may_manage_keys(user: AnyUser | None) -> bool:
    """Superusers and the data-protection role; ``None`` is the operator at the console."""
    if user is None:
        return True
    return bool(user.is_active and (user.is_superuser or user.has_perm(MANAGE_PERMISSION)))


def _ensure_may_manage(user: AnyUser | None) -> None:
    if not may_manage_keys(user):
        raise Forbidden("Only the data-protection role may turn on encryption or give and read private keys.")


# --- XForms ------------------------------------------------------------------------------------------------------

def xform_public_key(xform_xml: str) -> str | None:
    """The ``base64RsaPublicKey`` of an XForm's ``<submission>``, whitespace removed; None: not encrypted."""
    for element in _submissions(_parse(xform_xml)):
        key = element.get("base64RsaPublicKey")
        if key and key.strip():
            return "".join(key.split())
    return None


def xform_with_public_key(xform_xml: str, *, public_key: str, version: str | None = None) -> str:
    """The XForm with its ``<submission>`` carrying ``public_key`` (added when there is none) and, when
    ``version`` is given, its primary instance's ``version`` attribute set to it."""
    doc = _parse(xform_xml)
    model = next(doc.iter(f"{{{XFORMS_NS}}}model"), None)
    if model is None:
        raise InvalidInput("The XForm has no <model>.")
    submissions = _submissions(doc)
    if submissions:
        submission = submissions[0]
    else:
        first = next((child for child in model if isinstance(child.tag, str)), None)
        submission = etree.Element(f"{{{XFORMS_NS}}}submission")
        if first is None:
            model.append(submission)
        else:
            before = first.getprevious()
            indent = (before.tail if before is not None else model.text) or "\n"
            first.addprevious(submission)
            submission.tail = indent
        submission.set("method", "post")
        submission.set(f"{{{ORX_NS}}}auto-delete", "true")
    submission.set("base64RsaPublicKey", public_key)
    if version is not None:
        primary = next(model.iter(f"{{{XFORMS_NS}}}instance"), None)
        root = next((child for child in primary if isinstance(child.tag, str)), None) if primary is not None else None
        if root is None:
            raise InvalidInput("The XForm has no primary instance.")
        root.set("version", version)
    return '<?xml version="1.0"?>\n' + etree.tostring(doc, encoding="unicode")


def _parse(xform_xml: str) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.fromstring(xform_xml.encode("utf-8"), parser)


def _submissions(doc: etree._Element) -> list[etree._Element]:
    return list(doc.iter(f"{{{XFORMS_NS}}}submission"))


# --- import ------------------------------------------------------------------------------------------------------

def version_key_applied(converted: ConvertedForm) -> tuple[ConvertedForm, FormKey | None]:
    """The key a newly imported version encrypts with: its own ``public_key`` (a :class:`FormKey` of that
    public key, made if new), else the form's managed key (added to its XForm), else none. Called inside
    the import's transaction, only for a version not stored yet."""
    own = xform_public_key(converted.xform_xml)
    if own is not None:
        public_key = public_key_load(own)
        key, _ = FormKey.objects.get_or_create(
            form_id=converted.form_id, fingerprint=public_key_fingerprint(public_key),
            defaults={"public_key": public_key_text(public_key)})
        return converted, key
    managed = FormKey.objects.filter(form_id=converted.form_id, managed=True).first()
    if managed is None:
        return converted, None
    xform = xform_with_public_key(converted.xform_xml, public_key=managed.public_key)
    return dataclasses.replace(converted, xform_xml=xform, md5=_md5(xform)), managed


def version_as_stored(existing: Questionnaire, converted: ConvertedForm) -> ConvertedForm:
    """A re-imported version as it was stored: with the managed key it was given then (so that the same
    XLSForm imported again is the same version, not a conflict)."""
    key = existing.encryption_key
    if key is None or not key.managed or xform_public_key(converted.xform_xml) is not None:
        return converted
    xform = xform_with_public_key(converted.xform_xml, public_key=key.public_key)
    return dataclasses.replace(converted, xform_xml=xform, md5=_md5(xform))


def _md5(text: str) -> str:
    import hashlib

    return hashlib.md5(text.encode("utf-8")).hexdigest()  # noqa: S324 - OpenRosa's form hash


# --- managed encryption ------------------------------------------------------------------------------------------

@transaction.atomic
def form_encryption_managed(*, form_id: str, by: AnyUser | None) -> ManagedEncryption:
    """Turn on managed encryption for a form: make its key pair (once) and issue a new version of its latest
    one that carries the public key; later imports carry it too. Running it again changes nothing."""
    _ensure_may_manage(by)
    latest = (Questionnaire.objects.select_for_update().select_related("round").filter(form_id=form_id)
              .order_by("-created_at", "-id").first())
    if latest is None:
        raise NotFound(f"No form '{form_id}'.", field="form_id")
    key = FormKey.objects.filter(form_id=form_id, managed=True).first()
    if key is None:
        private_key = private_key_generate()
        public_key = private_key.public_key()
        key = FormKey.objects.create(form_id=form_id, public_key=public_key_text(public_key),
                                     fingerprint=public_key_fingerprint(public_key), managed=True,
                                     private_key=raw_seal(private_key_der(private_key)),
                                     private_key_set_at=timezone.now(), private_key_set_by_id=_user_pk(by))
        log.info("managed encryption on for form %s (key %s)", form_id, key.fingerprint[:12])
    if latest.encryption_key_id == key.pk:
        return ManagedEncryption(key=key, questionnaire=latest, created=False)
    return ManagedEncryption(key=key, questionnaire=_encrypted_version(latest, key, by=by), created=True)


def _encrypted_version(latest: Questionnaire, key: FormKey, *, by: AnyUser | None) -> Questionnaire:
    suffix = f"-enc-{key.fingerprint[:8]}"
    version = f"{latest.version[:MAX_VERSION - len(suffix)]}{suffix}"
    existing = Questionnaire.objects.filter(form_id=latest.form_id, version=version).first()
    if existing is not None:  # issued before, then superseded by a newer import: offer it as it is
        return existing
    xform = xform_with_public_key(latest.xform_xml, public_key=key.public_key, version=version)
    schema: FormSchema = {**latest.schema, "version": version}
    questionnaire = Questionnaire(
        round=latest.round, form_id=latest.form_id, version=version, title=latest.title, xform_xml=xform,
        md5=_md5(xform), schema=schema, source_md5=latest.source_md5,
        allow_anonymous=latest.allow_anonymous, created_by_id=_user_pk(by), encryption_key=key)
    if latest.source_file and latest.source_file.name:
        with latest.source_file.open("rb") as source:
            questionnaire.source_file.save(latest.source_file.name.rsplit("/", 1)[-1], ContentFile(source.read()),
                                           save=False)
    questionnaire.save()
    for media in latest.media.all():
        copy = QuestionnaireMedia(questionnaire=questionnaire, filename=media.filename, md5=media.md5,
                                  content_type=media.content_type)
        with media.file.open("rb") as content:
            copy.file.save(media.filename, ContentFile(content.read()), save=False)
        copy.save()
    return questionnaire


def _user_pk(user: AnyUser | None) -> int | None:
    return user.pk if user is not None and user.is_authenticated else None


# --- private keys ------------------------------------------------------------------------------------------------

@transaction.atomic
def form_private_key_set(*, form_id: str, private_key: bytes, by: AnyUser | None) -> PrivateKeySet:
    """Give the private key (PEM) of a form that carries its own public key. The key is matched to the form's
    key by its public half, sealed, and the interviews waiting for it are sent to processing on commit.
    Giving it again changes nothing."""
    _ensure_may_manage(by)
    loaded = private_key_load(private_key)
    fingerprint = public_key_fingerprint(loaded.public_key())
    key = FormKey.objects.select_for_update().filter(form_id=form_id, fingerprint=fingerprint).first()
    if key is None:
        if not FormKey.objects.filter(form_id=form_id).exists():
            raise NotFound(f"Form '{form_id}' has no encrypted version.", field="form_id")
        raise InvalidInput(f"This private key does not belong to form '{form_id}': its public key is not the "
                           "public key of any of the form's versions.", field="private_key")
    created = key.private_key is None
    if created:
        key.private_key = raw_seal(private_key_der(loaded))
        key.private_key_set_at, key.private_key_set_by_id = timezone.now(), _user_pk(by)
        key.save(update_fields=["private_key", "private_key_set_at", "private_key_set_by"])
        log.info("private key given for form %s (key %s)", form_id, fingerprint[:12])
    return PrivateKeySet(key=key, created=created, requeued=_requeue_awaiting(key))


def _requeue_awaiting(key: FormKey) -> int:
    """Send the interviews that waited for ``key`` to processing (pending now, enqueued on commit)."""
    waiting = list(Submission.objects.select_for_update(of=("self",)).select_related("round")
                   .filter(questionnaire__encryption_key=key, processing=Submission.Processing.AWAITING_KEY)
                   .order_by("pk"))
    return submissions_pending_again(waiting)


def form_key_private(key: FormKey) -> rsa.RSAPrivateKey | None:
    """The opened private key (processing's use; never stored or shown opened); None while it is not given."""
    if key.private_key is None:
        return None
    return private_key_load(raw_open(key.private_key))


def form_private_key_pem(*, key_id: int, by: AnyUser | None) -> tuple[FormKey, bytes]:
    """A form key's private key as PEM, for the data-protection role to keep or to use in ODK Briefcase."""
    _ensure_may_manage(by)
    key = FormKey.objects.filter(pk=key_id).first()
    if key is None:
        raise NotFound("No such form key.")
    private_key = form_key_private(key)
    if private_key is None:
        raise NotFound(f"The private key of {key} has not been given.")
    log.info("private key of form %s (key %s) read by %s", key.form_id, key.fingerprint[:12], _user_pk(by))
    return key, private_key_pem(private_key)
