"""Records as KoboToolbox's submission records: metadata (``_id``, ``_uuid``,
``meta/instanceID``, ``formhub/uuid``, ``__version__``, ``_xform_id_string``,
``_submission_time`` in UTC without a zone, ``_submitted_by``,
``_validation_status``, ``_attachments``, ``_geolocation``, ``_status``,
``_notes``, ``_tags``) and the answers by group path, as the strings of the
instance. ``_geolocation`` is the first GPS question's *displaced* point.
Attachments are raw data: only the data-protection role gets them listed. The serializers here document
the shape; :mod:`surveys.presentation.kobo_records` writes it (the REST services send the same)."""

from __future__ import annotations

from rest_framework import serializers

from surveys.api.schema import SchemaExtras, keyed, with_fields
from surveys.presentation.kobo_records import records_shaped, validation_status
from surveys.selectors.kobo.query import VALIDATION_LABELS

_UIDS = [uid for uid, _, _ in VALIDATION_LABELS.values()]


@with_fields(label=serializers.CharField(required=False))
class KoboValidationStatusSerializer(serializers.Serializer):
    """A record's validation status (:func:`validation_status`); ``{}`` when it has none."""

    timestamp = serializers.IntegerField(allow_null=True, required=False, help_text="Unix time of the review")
    uid = serializers.ChoiceField(choices=_UIDS, required=False)
    by_whom = serializers.CharField(allow_blank=True, required=False)
    color = serializers.CharField(required=False)


class KoboAttachmentSerializer(serializers.Serializer):
    """An attachment of a record (listed for the data-protection role only)."""

    id = serializers.IntegerField()
    instance = serializers.IntegerField(help_text="The record's _id")
    filename = serializers.CharField()
    media_file_basename = serializers.CharField()
    mimetype = serializers.CharField()
    download_url = serializers.CharField()
    download_large_url = serializers.CharField()
    download_medium_url = serializers.CharField()
    download_small_url = serializers.CharField()


class KoboRecordSerializer(SchemaExtras, serializers.Serializer):
    """A record as KoboToolbox returns it (:func:`records_shaped`): the metadata keys below and the
    released answers by group path (identifiers never), each the instance's text, a repeat a list of
    such records. With ``fields``, only the keys asked for."""

    additional_properties = {"description": "An answer by its group path: the instance's text, or a repeat's "
                                            "list of records keyed by path",
                             "anyOf": [{"type": "string"},
                                       {"type": "array", "items": {"type": "object", "additionalProperties": True,
                                                                   "description": "A record of the repeat"}}]}

    def get_fields(self) -> dict[str, serializers.Field]:
        text = serializers.CharField
        return keyed({
            "_id": serializers.IntegerField(required=False),
            "formhub/uuid": text(required=False),
            "__version__": text(required=False),
            "meta/instanceID": text(required=False),
            "_xform_id_string": text(required=False),
            "_uuid": text(required=False),
            "_attachments": KoboAttachmentSerializer(many=True, required=False),
            "_status": text(required=False),
            "_geolocation": serializers.ListField(
                child=serializers.FloatField(allow_null=True), min_length=2, max_length=2, required=False,
                help_text="[latitude, longitude] of the first GPS question, displaced; [null, null] without one"),
            "_submission_time": text(required=False, help_text="UTC, to the second, without a zone"),
            "_tags": serializers.ListField(child=text(), required=False),
            "_notes": serializers.ListField(child=serializers.DictField(help_text="A note"), required=False),
            "_validation_status": KoboValidationStatusSerializer(required=False),
            "_submitted_by": text(allow_null=True, required=False),
        })


__all__ = ["KoboAttachmentSerializer", "KoboRecordSerializer", "KoboValidationStatusSerializer",
           "records_shaped", "validation_status"]
