from pathlib import Path
from typing import Any

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from mtm.commands import DomainCommand
from surveys.services.questionnaire_media import MediaUpload
from surveys.services.questionnaires import questionnaire_import


class Command(DomainCommand):
    help = ("Convert an XLSForm with pyxform and store it as a questionnaire version (with the media files "
            "given by --media); prints 'form_id version'. pyxform's warnings, a round the import created and "
            "the media files the form needs but does not have yet are reported on stderr.")

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--round", type=int, dest="round_number")
        parser.add_argument("--survey", dest="survey_slug")
        parser.add_argument("--allow-anonymous", action="store_true")
        parser.add_argument("--media", type=Path, action="append", default=[], metavar="PATH",
                            help="a media file the form needs, or a folder of them (repeat for more)")

    def handle(self, *args: Any, file: Path, round_number: int | None, survey_slug: str | None,
               allow_anonymous: bool, media: list[Path], **options: Any) -> None:
        source = _read(file)
        uploads = [MediaUpload(filename=path.name, content=_read(path)) for path in _media_files(media)]
        self.error_prefix = file.name
        result = questionnaire_import(source=source, filename=file.name, survey_slug=survey_slug,
                                      round_number=round_number, allow_anonymous=allow_anonymous, media=uploads)
        q = result.questionnaire
        for warning in result.warnings:
            self.stderr.write(_("warning: %(warning)s") % {"warning": warning})
        if result.round_created:
            self.stderr.write(_("warning: round %(number)d of survey '%(survey)s' was created by this import: set its "
                                "dates and target in the admin.") % {"number": q.round.number,
                                                                     "survey": q.round.survey.slug})
        if q.media_needed:
            present = len(q.media_needed) - len(result.media_missing)
            self.stderr.write(_("media: %(present)d of %(needed)d files the form needs are attached")
                              % {"present": present, "needed": len(q.media_needed)})
            for name in result.media_missing:
                self.stderr.write(_("missing media: %(name)s") % {"name": name})
        self.stdout.write(f"{q.form_id} {q.version}")


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise CommandError(f"Cannot read {path}: {err.strerror}", returncode=2) from err


def _media_files(paths: list[Path]) -> list[Path]:
    """The files named, and the files directly inside the folders named (hidden ones left out)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")))
        else:
            files.append(path)
    return files
