"""The client side of ODK's encrypted forms, written for the tests from the ODK XForms "Encryption"
specification as ODK Collect applies it — deliberately not sharing a line with the server's
``surveys.services.odk_encryption``, so that a round trip tests one against the other.

Per interview: a random 256-bit AES key; RSA/NONE/OAEPWithSHA256AndMGF1Padding (SHA-256 with MGF1-SHA-256,
BouncyCastle's reading, as Collect and Central) wraps it; each media file then ``submission.xml`` is
AES/CFB/PKCS5Padding (CFB-128, PKCS#7 padding) with the IV seeded by md5(instanceID + key) and byte
``n % 16`` of the seed incremented for the n-th file; the signature is md5 of the newline-ended lines
form id, version, base64 key, instanceID, ``name::md5`` of each plain file, RSA-wrapped the same way."""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass, field

from cryptography.hazmat.decrepit.ciphers.modes import CFB  # the spec's cipher mode (AES-CFB)
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from django.core.files.uploadedfile import SimpleUploadedFile


def key_pair() -> tuple[rsa.RSAPrivateKey, str]:
    """A private key and its public half as an XForm's ``base64RsaPublicKey``."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    der = private.public_key().public_bytes(serialization.Encoding.DER,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, base64.b64encode(der).decode()


def pem(private: rsa.RSAPrivateKey) -> bytes:
    return private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                 serialization.NoEncryption())


def _load_public(base64_key: str) -> rsa.RSAPublicKey:
    key = serialization.load_der_public_key(base64.b64decode("".join(base64_key.split())))
    assert isinstance(key, rsa.RSAPublicKey)
    return key


def _wrap(public: rsa.RSAPublicKey, data: bytes, *, mgf_sha1: bool = False) -> str:
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA1() if mgf_sha1 else hashes.SHA256()),
                        algorithm=hashes.SHA256(), label=None)
    return base64.b64encode(public.encrypt(data, oaep)).decode()


def _cfb(key: bytes, iv: bytes, plain: bytes) -> bytes:
    pad = 16 - len(plain) % 16
    enc = Cipher(algorithms.AES(key), CFB(iv)).encryptor()
    return enc.update(plain + bytes([pad] * pad)) + enc.finalize()


@dataclass
class EncryptedInterview:
    """What Collect posts: the manifest (the XML part) and the ``.enc`` files."""

    manifest: bytes
    files: dict[str, bytes] = field(default_factory=dict)
    instance_id: str = ""

    def multipart(self) -> dict:
        data: dict = {"xml_submission_file": SimpleUploadedFile("submission.xml", self.manifest,
                                                                content_type="text/xml")}
        for index, (name, content) in enumerate(self.files.items()):
            data[f"file{index}"] = SimpleUploadedFile(name, content, content_type="application/octet-stream")
        return data

    def uploads(self) -> list[SimpleUploadedFile]:
        return [SimpleUploadedFile(name, content) for name, content in self.files.items()]


def encrypt_interview(*, instance: bytes, form_id: str, version: str | None, instance_id: str, public_key: str,
                      media: dict[str, bytes] | None = None, sign: bool = True,
                      mgf_sha1: bool = False) -> EncryptedInterview:
    """Encrypt ``instance`` (and ``media``, by file name, in that order) as Collect does for ``public_key``."""
    media = media or {}
    public = _load_public(public_key)
    key = os.urandom(32)
    wrapped = _wrap(public, key, mgf_sha1=mgf_sha1)
    seed = bytearray(hashlib.md5(instance_id.encode() + key).digest())
    files: dict[str, bytes] = {}
    lines = [form_id, *([version] if version is not None else []), wrapped, instance_id]
    ordered = [*media.items(), ("submission.xml", instance)]
    for counter, (name, plain) in enumerate(ordered):
        seed[counter % 16] = (seed[counter % 16] + 1) & 0xFF
        files[f"{name}.enc"] = _cfb(key, bytes(seed), plain)
        lines.append(f"{name}::{hashlib.md5(plain).hexdigest()}")
    signature = _wrap(public, hashlib.md5("".join(f"{line}\n" for line in lines).encode()).digest(),
                      mgf_sha1=mgf_sha1)
    media_xml = "".join(f"<media><file>{name}.enc</file></media>" for name in media)
    version_attr = f' version="{version}"' if version is not None else ""
    signature_xml = f"<base64EncryptedElementSignature>{signature}</base64EncryptedElementSignature>" if sign else ""
    manifest = (f'<data xmlns="http://opendatakit.org/submissions" id="{form_id}"{version_attr} encrypted="yes">'
                f"<base64EncryptedKey>{wrapped}</base64EncryptedKey>"
                f"<encryptedXmlFile>submission.xml.enc</encryptedXmlFile>{media_xml}{signature_xml}"
                f'<meta xmlns="http://openrosa.org/xforms"><instanceID>{instance_id}</instanceID></meta>'
                f"</data>").encode()
    return EncryptedInterview(manifest=manifest, files=files, instance_id=instance_id)
