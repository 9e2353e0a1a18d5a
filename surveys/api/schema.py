"""What the OpenAPI schema of the whole API (``/api/schema/``, drf-spectacular)
shares across views (ADR 0006).

Every view says what it answers and accepts with ``@extend_schema`` on its
own methods, by serializers: the one it renders or parses through, or a
serializer that only documents the dict the view writes, kept beside the
function that writes it. Here: DRF's error bodies (:func:`errors`), the
``form`` parameter, :class:`SchemaExtras` for what a serializer's fields
cannot say, and the hook that leaves the ``.json`` suffix duplicates of the
KoBo routes out of the schema (they answer the same as the routes without
the suffix)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, TypeVar

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

FORM = OpenApiParameter("form", str, description="The form_id, when an instanceID names submissions of several forms")


def drop_format_suffixes(endpoints, **kwargs):
    """Preprocessing hook: the ``{format}`` suffix routes are the same operations as their plain routes."""
    return [endpoint for endpoint in endpoints if "{format}" not in endpoint[0]]


S = TypeVar("S", bound=serializers.BaseSerializer)


def keyed(fields: dict[str, serializers.Field]) -> dict[str, serializers.Field]:
    """Fields whose names are not Python names (``_id``, ``formhub/uuid``, ``$kuid``), for a serializer's
    ``get_fields``; labelled with their own names (drf-spectacular would title ``_id`` " id")."""
    for name, field in fields.items():
        field.label = name
    return fields


def with_fields(**fields: serializers.Field) -> Callable[[type[S]], type[S]]:
    """A class decorator declaring fields whose names a serializer's own
    attributes take (``label``, ``data``, ``fields``, ``source``, ``parent``,
    ``style``): DRF's metaclass would accept them, but as class attributes they
    would shadow the serializer's own in a type checker's eyes."""

    def declare(cls: type[S]) -> type[S]:
        declared = cls._declared_fields  # type: ignore[attr-defined]  # DRF's metaclass sets it; the stubs omit it
        cls._declared_fields = {**declared, **fields}  # type: ignore[attr-defined]
        return cls

    return declare


class SchemaExtras:
    """Mixed into a serializer whose schema says more than its fields can:
    ``additional_properties``, the schema of the keys it does not name (a
    record's answers by question path; ``True`` for any); ``whole_on_patch``,
    a PATCH body whose fields are required all the same (drf-spectacular makes
    a PATCH body partial, as DRF's ``partial_update`` would)."""

    additional_properties: dict[str, Any] | bool | None = None
    whole_on_patch: bool = False


class SchemaExtrasExtension(OpenApiSerializerExtension):
    target_class = "surveys.api.schema.SchemaExtras"
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        serializer = self.target
        if getattr(serializer, "partial", False) and serializer.whole_on_patch:
            serializer = copy.copy(serializer)
            serializer.partial = False
        schema = auto_schema._map_serializer(serializer, direction, bypass_extensions=True)
        if serializer.additional_properties is not None:
            schema["additionalProperties"] = serializer.additional_properties
        return schema


class ErrorDetailSerializer(serializers.Serializer):
    """DRF's error body: ``{"detail": "…"}``."""

    detail = serializers.CharField()


class ValidationErrorSerializer(SchemaExtras, serializers.Serializer):
    """A refused input: ``{"detail": "…"}``, or the messages by the input they are about,
    ``{"<field>": ["…"]}``, as DRF's validation answers."""

    detail = serializers.CharField(required=False)
    additional_properties = {"type": "array", "items": {"type": "string"}, "description": "Messages about this input"}


_ERRORS: dict[int, tuple[type[serializers.Serializer], str]] = {
    400: (ValidationErrorSerializer, "Invalid input; nothing was changed."),
    401: (ErrorDetailSerializer, "No credentials, or wrong ones."),
    403: (ErrorDetailSerializer, "This account may not do this."),
    404: (ErrorDetailSerializer, "Not found, or not visible to this account."),
    409: (ErrorDetailSerializer, "Conflicts with what is stored; nothing was changed."),
    410: (ErrorDetailSerializer, "Gone: the data were purged."),
    413: (ValidationErrorSerializer, "A file is larger than this server accepts; nothing was changed."),
}


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    """The error responses of an operation: 401 (every operation needs an account) and ``codes``,
    with the bodies :func:`surveys.api.exceptions.exception_handler` and DRF write."""
    return {code: OpenApiResponse(_ERRORS[code][0], description=_ERRORS[code][1]) for code in sorted({401, *codes})}
