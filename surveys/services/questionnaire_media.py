"""Media files of a questionnaire version: the images, audio, video and data files its XForm names.

``questionnaire_media_add`` attaches files a version needs (the import's ``--media``, the admin's upload,
``POST /api/v1/questionnaires/<form_id>/media/``). A file the form does not name is refused, as ODK
Central refuses it; the same file again changes nothing; another file under a present name replaces it only
while the version has no interviews (those were made with the first one: import a new version instead). A
CSV, XML or GeoJSON that a ``select_*_from_file`` reads is read as the version's choices of that list, so
validation and the report use them like the choices sheet's; a file Collect could not read either is refused
with its row. Every file is checked before any is stored: a bad one stores none.
"""

from __future__ import annotations

import hashlib
import mimetypes
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import cast

from django.core.files.base import ContentFile
from django.db import transaction

from mtm.errors import Conflict, InvalidInput, TooLarge
from surveys.form_schema import SchemaChoice
from surveys.models import Questionnaire, QuestionnaireMedia
from surveys.services.form_media import CHOICE_FILE_TYPES, NeededFile, file_choices

#: The largest media file accepted (a form's video or its largest CSV).
MAX_MEDIA_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class MediaUpload:
    """A file sent to be attached: its name (any folder is dropped) and bytes."""

    filename: str
    content: bytes


@dataclass(frozen=True)
class _Checked:
    filename: str
    content: bytes
    md5: str
    choices: list[SchemaChoice] | None


@transaction.atomic
def questionnaire_media_add(*, questionnaire: Questionnaire, files: Sequence[MediaUpload]) -> list[str]:
    """Attach ``files`` to ``questionnaire``; returns the names stored or replaced (not those already there
    with the same content). Raises :class:`InvalidInput` (a name the form does not use, an empty or
    unreadable choice file), :class:`TooLarge` or :class:`Conflict` (replacing a file of a version with
    interviews); then nothing is stored."""
    q = Questionnaire.objects.select_for_update().get(pk=questionnaire.pk)
    needed = {f["filename"]: cast(NeededFile, f) for f in q.media_needed}
    present = {m.filename: m for m in q.media.all()}
    checked = [_check(q, upload, needed) for upload in files]
    names = [c.filename for c in checked]
    if len(set(names)) != len(names):
        raise InvalidInput("The same file name was sent twice.", field="file")
    changed = [c for c in checked if c.filename not in present or present[c.filename].md5 != c.md5]
    replaced = [c.filename for c in changed if c.filename in present]
    if replaced and q.submissions.exists():
        raise Conflict(f"Form '{q.form_id}' version '{q.version}' has interviews made with "
                       f"{', '.join(replaced)}: a file they were made with is not replaced. Import the form as a "
                       "new version to change it.")
    schema_changed = False
    for item in changed:
        media = present.get(item.filename) or QuestionnaireMedia(questionnaire=q, filename=item.filename)
        media.md5 = item.md5
        media.content_type = mimetypes.guess_type(item.filename)[0] or "application/octet-stream"
        media.file.save(item.filename, ContentFile(item.content), save=False)
        media.save()
        if item.choices is not None:
            q.schema["choices"][item.filename] = item.choices
            schema_changed = True
    if schema_changed:
        q.schema_rev += 1
        q.save(update_fields=["schema", "schema_rev"])
        questionnaire.schema, questionnaire.schema_rev = q.schema, q.schema_rev
    return [c.filename for c in changed]


def _check(q: Questionnaire, upload: MediaUpload, needed: dict[str, NeededFile]) -> _Checked:
    filename = PurePath(upload.filename.replace("\\", "/")).name
    if filename not in needed:
        uses = ", ".join(sorted(needed)) or "none"
        raise InvalidInput(f"Form '{q.form_id}' version '{q.version}' does not use a file '{filename}'. The files "
                           f"it uses: {uses}.", field="file")
    if not upload.content:
        raise InvalidInput(f"{filename}: the file is empty.", field="file")
    if len(upload.content) > MAX_MEDIA_BYTES:
        raise TooLarge(f"{filename}: a media file may be at most {MAX_MEDIA_BYTES // (1024 * 1024)} MB.",
                       field="file")
    entry = needed[filename]
    choices = None
    used_as_list = any(f.get("list_name") == filename for f in q.schema.get("fields", []))
    if used_as_list and entry["value"] and filename.lower().endswith(CHOICE_FILE_TYPES):
        choices = file_choices(content=upload.content, filename=filename, value=entry["value"],
                               label=entry["label"] or "label")
    md5 = hashlib.md5(upload.content).hexdigest()  # noqa: S324 - OpenRosa's manifest hash
    return _Checked(filename=filename, content=upload.content, md5=md5, choices=choices)
