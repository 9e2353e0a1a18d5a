from pathlib import Path
from typing import Any

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from mtm.commands import DomainCommand
from surveys.services.questionnaires import questionnaire_import


class Command(DomainCommand):
    help = "Convert an XLSForm with pyxform and store it as a questionnaire version; prints 'form_id version'."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--round", type=int, dest="round_number")
        parser.add_argument("--survey", dest="survey_slug")
        parser.add_argument("--allow-anonymous", action="store_true")

    def handle(self, *args: Any, file: Path, round_number: int | None, survey_slug: str | None,
               allow_anonymous: bool, **options: Any) -> None:
        try:
            source = file.read_bytes()
        except OSError as err:
            raise CommandError(_("Cannot read %(path)s: %(error)s") % {"path": file, "error": err.strerror},
                               returncode=2) from err
        self.error_prefix = file.name
        result = questionnaire_import(source=source, filename=file.name, survey_slug=survey_slug,
                                      round_number=round_number, allow_anonymous=allow_anonymous)
        for warning in result.warnings:
            self.stderr.write(_("warning: %(warning)s") % {"warning": warning})
        q = result.questionnaire
        self.stdout.write(f"{q.form_id} {q.version}")
