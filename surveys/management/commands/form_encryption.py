from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from mtm.commands import DomainCommand
from surveys.services.form_keys import form_encryption_managed, form_private_key_set


class Command(DomainCommand):
    help = ("Encrypted forms: --managed makes the form's key pair and issues a new version whose XForm carries "
            "the public key (later versions carry it too); --private-key FILE.pem gives the private key of a "
            "form that carries its own public_key (its waiting interviews are then processed).")

    def add_arguments(self, parser):
        parser.add_argument("form_id")
        how = parser.add_mutually_exclusive_group(required=True)
        how.add_argument("--managed", action="store_true")
        how.add_argument("--private-key", type=Path, dest="private_key", metavar="FILE.pem")

    def handle(self, *args: Any, form_id: str, managed: bool, private_key: Path | None, **options: Any) -> None:
        self.error_prefix = form_id
        if managed:
            result = form_encryption_managed(form_id=form_id, by=None)
            q = result.questionnaire
            if result.created:
                self.stdout.write(f"{q.form_id} {q.version} encrypted (managed key {result.key.fingerprint[:12]})")
            else:
                self.stdout.write(f"{q.form_id} {q.version} already encrypted (managed key "
                                  f"{result.key.fingerprint[:12]}); nothing changed")
            return
        assert private_key is not None  # argparse: one of the two is required
        try:
            pem = private_key.read_bytes()
        except OSError as err:
            raise CommandError(f"Cannot read {private_key}: {err.strerror}", returncode=2) from err
        given = form_private_key_set(form_id=form_id, private_key=pem, by=None)
        state = "private key stored" if given.created else "private key already stored"
        self.stdout.write(f"{form_id}: {state} (key {given.key.fingerprint[:12]}); "
                          f"{given.requeued} waiting submission(s) sent to processing")
