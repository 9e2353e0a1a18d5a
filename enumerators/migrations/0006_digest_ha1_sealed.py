"""The Digest HA1 sealed with MTM_DIGEST_KEY: the column widens to hold a Fernet token and every HA1 kept in
the clear (32 hex digits) is sealed; without a key it is dropped (Digest then waits for the password to be
set again, Basic works). Backwards: opened again where the key allows, else dropped."""

import re

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import migrations, models

_PLAIN = re.compile(r"^[0-9a-f]{32}$")


def _fernet():
    key = getattr(settings, "MTM_DIGEST_KEY", "")
    return Fernet(key.encode()) if key else None


def seal(apps, schema_editor):
    User = apps.get_model("enumerators", "User")
    fernet = _fernet()
    for pk, ha1 in User.objects.exclude(digest_ha1="").values_list("pk", "digest_ha1").iterator():
        if _PLAIN.match(ha1):
            sealed = fernet.encrypt(ha1.encode()).decode() if fernet else ""
            User.objects.filter(pk=pk).update(digest_ha1=sealed)


def unseal(apps, schema_editor):
    User = apps.get_model("enumerators", "User")
    fernet = _fernet()
    for pk, sealed in User.objects.exclude(digest_ha1="").values_list("pk", "digest_ha1").iterator():
        if _PLAIN.match(sealed):
            continue
        try:
            ha1 = fernet.decrypt(sealed.encode()).decode() if fernet else ""
        except InvalidToken:
            ha1 = ""
        User.objects.filter(pk=pk).update(digest_ha1=ha1)


class Migration(migrations.Migration):

    dependencies = [
        ("enumerators", "0005_login_failures"),
    ]

    operations = [
        migrations.AlterField(
            model_name="user",
            name="digest_ha1",
            field=models.CharField(blank=True, editable=False, max_length=200),
        ),
        migrations.RunPython(seal, unseal, elidable=False),
    ]
