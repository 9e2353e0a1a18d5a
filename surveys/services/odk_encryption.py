"""ODK's encrypted submissions (the ODK XForms "Encryption" specification), pure functions.

A device that fills an encrypted form (its XForm's ``<submission
base64RsaPublicKey="…"/>``) makes, per interview, a random 256-bit AES key
and sends:

- the **submission manifest** as the XML part: ``<data encrypted="yes"
  id="…" version="…">`` in the ``http://opendatakit.org/submissions``
  namespace with ``base64EncryptedKey`` (the AES key, RSA-OAEP encrypted with
  the form's public key), ``encryptedXmlFile``, one ``media/file`` per
  attachment in the order they were encrypted, the optional
  ``base64EncryptedElementSignature`` and ``meta/instanceID``;
- every attachment and then the instance itself as ``<name>.enc`` files:
  AES-256/CFB (128-bit feedback) with PKCS#7 padding; the IV of the n-th file
  (counting from 0, media first, the instance last) is the MD5 of the
  instanceID (UTF-8) and the AES key, with byte ``n % 16`` of the running seed
  incremented once more per file.

RSA is OAEP with SHA-256 and MGF1-SHA-256, as ODK Collect (BouncyCastle's
``RSA/NONE/OAEPWithSHA256AndMGF1Padding``) writes and ODK Central reads; a
key wrapped with MGF1-SHA-1 (Java's own provider's reading of that name) is
accepted too. The signature is the MD5 of the lines form id, version (when
there is one), ``base64EncryptedKey``, instanceID and ``name::md5-hex`` of each
decrypted file (media in order, then ``submission.xml``), each ended by a
newline, RSA-encrypted as the key is.

Errors are :class:`SubmissionUndecryptable` with a message a supervisor can
read; none quotes the interview."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.decrepit.ciphers.modes import CFB  # the spec's cipher mode (AES-CFB)
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from lxml import etree

from mtm.errors import InvalidInput

SUBMISSIONS_NS = "http://opendatakit.org/submissions"
ENCRYPTED_SUFFIX = ".enc"
MIN_KEY_BITS = 2048
_BLOCK = 16


class SubmissionUndecryptable(InvalidInput):
    """An encrypted submission that cannot be opened: a wrong key, a file missing, altered or damaged, a bad
    signature. Processing marks the submission failed with this message; the ciphertext stays as received."""


@dataclass(frozen=True)
class EncryptedManifest:
    """What an encrypted submission's manifest says (the XML part of the post)."""

    form_id: str
    version: str | None
    instance_id: str
    encrypted_key: str
    xml_file: str
    media: tuple[str, ...]
    signature: str | None

    @property
    def files(self) -> tuple[str, ...]:
        """Every file the manifest names, in the order they were encrypted: media, then the instance."""
        return (*self.media, self.xml_file)


@dataclass(frozen=True)
class DecryptedSubmission:
    xml: bytes
    media: dict[str, bytes]
    signature_checked: bool


def is_encrypted_manifest(root: etree._Element) -> bool:
    return (root.get("encrypted") or "").strip().lower() == "yes"


def manifest_read(root: etree._Element) -> EncryptedManifest:
    """The manifest's parts; :class:`~mtm.errors.InvalidInput` (a 400 at ingest) for one that lacks a
    required element or names a file that is not ``<name>.enc``."""
    texts: dict[str, str] = {}
    media: list[str] = []
    instance_id = ""
    for child in root:
        if not isinstance(child.tag, str):
            continue
        name = etree.QName(child).localname
        if name == "media":
            files = [(f.text or "").strip() for f in child if isinstance(f.tag, str)
                     and etree.QName(f).localname == "file"]
            media.extend(f for f in files if f)
        elif name == "meta":
            for meta in child:
                if isinstance(meta.tag, str) and etree.QName(meta).localname == "instanceID":
                    instance_id = (meta.text or "").strip()
        else:
            texts[name] = "".join((child.text or "").split())
    form_id = (root.get("id") or "").strip()
    missing = [label for label, value in (("the form id attribute", form_id), ("meta/instanceID", instance_id),
                                          ("base64EncryptedKey", texts.get("base64EncryptedKey", "")),
                                          ("encryptedXmlFile", texts.get("encryptedXmlFile", ""))) if not value]
    if missing:
        raise InvalidInput(f"The encrypted submission's manifest has no {', no '.join(missing)}.")
    manifest = EncryptedManifest(
        form_id=form_id, version=(root.get("version") or "").strip() or None, instance_id=instance_id,
        encrypted_key=texts["base64EncryptedKey"], xml_file=texts["encryptedXmlFile"], media=tuple(media),
        signature=texts.get("base64EncryptedElementSignature") or None)
    for filename in manifest.files:
        if not filename.endswith(ENCRYPTED_SUFFIX) or "/" in filename or filename == ENCRYPTED_SUFFIX:
            raise InvalidInput(f"The encrypted submission's manifest names '{filename}', which is not an "
                               f"encrypted file name (<name>{ENCRYPTED_SUFFIX}).")
    if len(set(manifest.files)) != len(manifest.files):
        raise InvalidInput("The encrypted submission's manifest names a file twice.")
    return manifest


# --- keys -------------------------------------------------------------------------------------------------------

def public_key_text(public_key: rsa.RSAPublicKey) -> str:
    """The key as an XForm carries it in ``base64RsaPublicKey``: base64 of the DER SubjectPublicKeyInfo."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode("ascii")


def public_key_load(text: str) -> rsa.RSAPublicKey:
    """An XForm's ``base64RsaPublicKey`` (whitespace and PEM armour allowed, as XLSForms carry it)."""
    body = "".join(line for line in text.strip().splitlines() if not line.startswith("-----"))
    try:
        key = serialization.load_der_public_key(base64.b64decode("".join(body.split()), validate=True))
    except (ValueError, binascii.Error, UnsupportedAlgorithm):
        raise InvalidInput("The form's public key (base64RsaPublicKey) is not a base64 RSA public key.") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise InvalidInput("The form's public key (base64RsaPublicKey) is not an RSA key.")
    if key.key_size < MIN_KEY_BITS:
        raise InvalidInput(f"The form's public key has {key.key_size} bits; at least {MIN_KEY_BITS} are needed.")
    return key


def public_key_fingerprint(public_key: rsa.RSAPublicKey) -> str:
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def private_key_generate() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=MIN_KEY_BITS)


def private_key_der(private_key: rsa.RSAPrivateKey) -> bytes:
    return private_key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())


def private_key_pem(private_key: rsa.RSAPrivateKey) -> bytes:
    return private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())


def private_key_load(data: bytes) -> rsa.RSAPrivateKey:
    """A private key in PEM (PKCS#1 or PKCS#8, unencrypted) or DER; :class:`~mtm.errors.InvalidInput` otherwise."""
    try:
        if data.lstrip().startswith(b"-----"):
            key = serialization.load_pem_private_key(data, password=None)
        else:
            key = serialization.load_der_private_key(data, password=None)
    except TypeError:
        raise InvalidInput("The private key is protected by a passphrase; give it without one.") from None
    except (ValueError, UnsupportedAlgorithm):
        raise InvalidInput("The file is not an RSA private key in PEM (or DER) form.") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise InvalidInput("The file is not an RSA private key.")
    return key


def _oaep(mgf_hash: hashes.HashAlgorithm) -> padding.OAEP:
    return padding.OAEP(mgf=padding.MGF1(algorithm=mgf_hash), algorithm=hashes.SHA256(), label=None)


def rsa_oaep_encrypt(public_key: rsa.RSAPublicKey, data: bytes) -> bytes:
    return public_key.encrypt(data, _oaep(hashes.SHA256()))


def _rsa_oaep_decrypt(private_key: rsa.RSAPrivateKey, data: bytes) -> bytes | None:
    for mgf_hash in (hashes.SHA256(), hashes.SHA1()):  # noqa: S303 - MGF1-SHA-1: Java's reading of the name
        try:
            return private_key.decrypt(data, _oaep(mgf_hash))
        except ValueError:
            continue
    return None


# --- content ----------------------------------------------------------------------------------------------------

def submission_ivs(instance_id: str, key: bytes, count: int) -> list[bytes]:
    """The IV of each of ``count`` files, in the order they were encrypted."""
    seed = bytearray(hashlib.md5(instance_id.encode("utf-8") + key).digest())  # noqa: S324 - the spec's IV seed
    ivs = []
    for n in range(count):
        seed[n % _BLOCK] = (seed[n % _BLOCK] + 1) % 256
        ivs.append(bytes(seed))
    return ivs


def aes_cfb_encrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    pad = _BLOCK - len(data) % _BLOCK
    encryptor = Cipher(algorithms.AES(key), CFB(iv)).encryptor()
    return encryptor.update(data + bytes([pad]) * pad) + encryptor.finalize()


def _aes_cfb_decrypt(key: bytes, iv: bytes, data: bytes) -> bytes | None:
    if not data or len(data) % _BLOCK:
        return None
    decryptor = Cipher(algorithms.AES(key), CFB(iv)).decryptor()
    padded = decryptor.update(data) + decryptor.finalize()
    pad = padded[-1]
    if not 1 <= pad <= _BLOCK or padded[-pad:] != bytes([pad]) * pad:
        return None
    return padded[:-pad]


def signature_source(manifest: EncryptedManifest, files: Mapping[str, bytes]) -> bytes:
    """The text the element signature is the MD5 of; ``files`` are the decrypted files by their ``.enc`` name."""
    lines = [manifest.form_id]
    if manifest.version is not None:
        lines.append(manifest.version)
    lines += [manifest.encrypted_key, manifest.instance_id]
    for filename in manifest.files:
        plain = files[filename]
        lines.append(f"{filename.removesuffix(ENCRYPTED_SUFFIX)}::{hashlib.md5(plain).hexdigest()}")  # noqa: S324
    return "".join(f"{line}\n" for line in lines).encode("utf-8")


def submission_decrypt(*, manifest: EncryptedManifest, private_key: rsa.RSAPrivateKey,
                       files: Mapping[str, bytes]) -> DecryptedSubmission:
    """Open an encrypted submission: the AES key with the private key, every file named in the manifest
    (``files`` by their ``.enc`` names), then the element signature, when the manifest has one."""
    missing = [name for name in manifest.files if name not in files]
    if missing:
        raise SubmissionUndecryptable(f"The encrypted file(s) {', '.join(missing)} named in the manifest were not "
                                      "received; send the submission again from the tablet.")
    try:
        wrapped = base64.b64decode(manifest.encrypted_key, validate=True)
    except (ValueError, binascii.Error):
        wrapped = b""
    key = _rsa_oaep_decrypt(private_key, wrapped) if wrapped else None
    if key is None or len(key) not in (16, 24, 32):
        raise SubmissionUndecryptable("The submission's key does not open with this form's private key: a wrong "
                                      "private key, or the submission was encrypted for another key.")
    plain: dict[str, bytes] = {}
    for filename, iv in zip(manifest.files, submission_ivs(manifest.instance_id, key, len(manifest.files)),
                            strict=True):
        opened = _aes_cfb_decrypt(key, iv, files[filename])
        if opened is None:
            raise SubmissionUndecryptable(f"The file {filename} does not decrypt: it was altered or damaged after "
                                          "it was encrypted.")
        plain[filename] = opened
    checked = False
    if manifest.signature is not None:
        _signature_check(manifest, private_key, plain)
        checked = True
    return DecryptedSubmission(xml=plain[manifest.xml_file],
                               media={name.removesuffix(ENCRYPTED_SUFFIX): plain[name] for name in manifest.media},
                               signature_checked=checked)


def _signature_check(manifest: EncryptedManifest, private_key: rsa.RSAPrivateKey,
                     plain: Mapping[str, bytes]) -> None:
    try:
        sealed = base64.b64decode(manifest.signature or "", validate=True)
    except (ValueError, binascii.Error):
        sealed = b""
    digest = _rsa_oaep_decrypt(private_key, sealed) if sealed else None
    expected = hashlib.md5(signature_source(manifest, plain)).digest()  # noqa: S324 - the spec's signature
    if digest is None or not hmac.compare_digest(digest, expected):
        raise SubmissionUndecryptable("The submission's signature does not match its files and manifest: a file "
                                      "or the manifest was altered, or files were swapped.")
