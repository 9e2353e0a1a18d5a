"""The RSA key pairs of encrypted forms (ODK's encrypted forms: ``base64RsaPublicKey`` in the XForm)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class FormKey(models.Model):
    """One RSA key pair that versions of a form encrypt their interviews with.

    ``public_key`` is the XForm's ``base64RsaPublicKey`` (base64 of the DER
    SubjectPublicKeyInfo, whitespace removed). ``private_key`` is the PKCS#8
    DER private key sealed with the raw store's key (``MTM_RAW_KEY``, kept
    outside the database), never in plaintext; it is empty while a form that
    carries its own ``public_key`` waits for the data-protection role to give
    it. ``managed``: the server made the pair (``form_encryption --managed``);
    a form has at most one managed key, which every later version imported
    without a ``public_key`` of its own encrypts with (ADR 0013).
    """

    form_id = models.CharField(max_length=100, db_index=True)
    public_key = models.TextField()
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the public key (DER), hex.")
    managed = models.BooleanField(default=False, help_text="Made by the server (managed encryption).")
    private_key = models.BinaryField(null=True, blank=True, editable=False,
                                     help_text="Sealed with the raw store's key; empty until it is given.")
    private_key_set_at = models.DateTimeField(null=True, blank=True)
    private_key_set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                           blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["form_id", "-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["form_id", "fingerprint"], name="form_key_one_per_public_key"),
            models.UniqueConstraint(fields=["form_id"], condition=Q(managed=True), name="form_key_one_managed"),
            models.CheckConstraint(condition=Q(fingerprint__regex=r"^[0-9a-f]{64}$"), name="form_key_fingerprint_hex"),
            models.CheckConstraint(condition=~Q(public_key=""), name="form_key_public_key_not_blank"),
        ]
        permissions = [("manage_form_keys", "Can turn on form encryption and give or read private keys")]

    def __str__(self) -> str:
        return f"{self.form_id} key {self.fingerprint[:12]}"

    @property
    def has_private_key(self) -> bool:
        return self.private_key is not None
