"""KoboToolbox's export settings and exports over the record exports
(:mod:`surveys.services.exports`): an export asked for with KoboToolbox's
payload (``type`` ``xls``/``csv``, ``lang`` ``_xml`` for values,
``_default`` or a language for labels) is a :class:`RecordExport` of the
form's current round, written by the same Celery task; an export setting's
``data_url_csv``/``data_url_xlsx`` write the same file on request.

The records are those the round tables count (current, not rejected,
consent not refused) within the requester's scope (a supervisor's team),
released as every export is. KoboToolbox's
``fields``, ``query`` and ``submission_ids`` filters are not applied to
exports: a payload that sets one is refused (the data endpoint filters).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from mtm.errors import InvalidInput, NotFound
from surveys.models import KoboExportSetting, RecordExport
from surveys.selectors.exports import record_export_for_user
from surveys.selectors.kobo.assets import Asset
from surveys.selectors.scope import ensure_submission_viewer
from surveys.services.exports import record_export_create, records_write

if TYPE_CHECKING:
    from enumerators.models import AnyUser

#: KoboToolbox's export types and ours.
FORMATS = {"xls": "xlsx", "xlsx": "xlsx", "csv": "csv"}
KOBO_TYPES = {"xlsx": "xls", "csv": "csv"}


@dataclass(frozen=True)
class ExportChoice:
    fmt: str
    labels: bool
    lang: str | None


def export_choice(settings: dict[str, Any] | None) -> ExportChoice:
    """KoboToolbox's export payload as our format and labels."""
    settings = settings or {}
    kind = str(settings.get("type") or "xls")
    if kind not in FORMATS:
        raise InvalidInput(f"Export type '{kind}' is not available; use xls or csv.")
    for key in ("fields", "query", "submission_ids"):
        if settings.get(key):
            raise InvalidInput(f"Exports do not filter by '{key}': export everything, or read the records with "
                               "/data/ and its query, fields and start/limit.")
    lang = settings.get("lang") or "_default"
    if lang == "_xml":
        return ExportChoice(FORMATS[kind], labels=False, lang=None)
    return ExportChoice(FORMATS[kind], labels=True, lang=None if lang == "_default" else str(lang))


def kobo_export_create(*, user: AnyUser, asset: Asset, settings: dict[str, Any] | None) -> RecordExport:
    choice = export_choice(settings)
    return record_export_create(user=user, form_id=asset.form_id, round_id=asset.current.round_id, fmt=choice.fmt,
                                labels=choice.labels, lang=choice.lang)


def kobo_exports_for(*, user: AnyUser, asset: Asset) -> QuerySet[RecordExport]:
    """The asset's exports this account asked for, newest first."""
    viewer = ensure_submission_viewer(user)
    return RecordExport.objects.filter(requested_by=viewer, form_id=asset.form_id).select_related("round")


def kobo_export_for(*, user: AnyUser, asset: Asset, uid: str) -> RecordExport:
    export = record_export_for_user(user=user, uid=uid)
    if export.form_id != asset.form_id:
        raise NotFound(f"No export '{uid}' of this asset.")
    return export


def export_settings_for(*, user: AnyUser, asset: Asset) -> QuerySet[KoboExportSetting]:
    viewer = ensure_submission_viewer(user)
    return KoboExportSetting.objects.filter(user=viewer, form_id=asset.form_id)


def export_setting_for(*, user: AnyUser, asset: Asset, uid: str) -> KoboExportSetting:
    setting = export_settings_for(user=user, asset=asset).filter(uid=uid).first()
    if setting is None:
        raise NotFound(f"No export setting '{uid}' of this asset.")
    return setting


def _checked(name: Any, settings: Any) -> tuple[str, dict[str, Any]]:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("'name' is required.")
    if not isinstance(settings, dict):
        raise InvalidInput("'export_settings' must be an object.")
    export_choice(settings)
    return name.strip()[:255], settings


@transaction.atomic
def export_setting_create(*, user: AnyUser, asset: Asset, name: Any, export_settings: Any) -> KoboExportSetting:
    """Save a named export setting; :class:`InvalidInput` about ``name`` when the name is taken (KoboToolbox
    answers it as a validation error, 400)."""
    viewer = ensure_submission_viewer(user)
    name, settings = _checked(name, export_settings)
    try:
        with transaction.atomic():
            return KoboExportSetting.objects.create(user=viewer, form_id=asset.form_id, name=name,
                                                    export_settings=settings)
    except IntegrityError:
        raise InvalidInput(f"An export setting named '{name}' already exists for this asset.", field="name") from None


@transaction.atomic
def export_setting_update(*, user: AnyUser, asset: Asset, uid: str, name: Any = None,
                          export_settings: Any = None) -> KoboExportSetting:
    setting = export_setting_for(user=user, asset=asset, uid=uid)
    name, settings = _checked(setting.name if name is None else name,
                              setting.export_settings if export_settings is None else export_settings)
    same_name = KoboExportSetting.objects.filter(user_id=setting.user_id, form_id=asset.form_id, name=name)
    if same_name.exclude(pk=setting.pk).exists():
        raise InvalidInput(f"An export setting named '{name}' already exists for this asset.", field="name")
    setting.name, setting.export_settings = name, settings
    setting.save()
    return setting


def export_setting_delete(*, user: AnyUser, asset: Asset, uid: str) -> None:
    export_setting_for(user=user, asset=asset, uid=uid).delete()


def export_setting_write(*, user: AnyUser, asset: Asset, uid: str, fmt: str, out: IO[bytes]) -> int:
    """Write the records as a saved setting asks, in ``fmt`` (csv or xlsx), to ``out``; the number of records."""
    setting = export_setting_for(user=user, asset=asset, uid=uid)
    choice = export_choice({**setting.export_settings, "type": KOBO_TYPES.get(fmt, fmt)})
    return records_write(round_id=asset.current.round_id, form_id=asset.form_id, fmt=choice.fmt, out=out,
                         labels=choice.labels, lang=choice.lang, user=user)
