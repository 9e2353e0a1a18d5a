"""Checking real responses against /api/schema/ (OpenAPI 3.0) with jsonschema.

The OpenAPI schema objects become JSON Schema (``nullable`` as ``null``
allowed) and, for the check only, strict: an object that names its
properties and says nothing of others may not carry others. So a key a view
writes and its documentation serializer does not name fails the check."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml
from jsonschema import Draft202012Validator

from tests.clients import body_json

#: The keywords whose values are schemas (one, a list, or a map of them).
_ONE = ("items", "additionalProperties", "not")
_MANY = ("allOf", "anyOf", "oneOf")


def api_schema(client) -> dict[str, Any]:
    response = client.get("/api/schema/")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def json_schema(node: Any) -> Any:
    """An OpenAPI 3.0 schema object as a strict JSON Schema (see the module's docstring)."""
    if isinstance(node, list):
        return [json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _converted(key, value) for key, value in node.items() if key not in ("nullable", "discriminator")}
    if out.get("properties") is not None and "additionalProperties" not in out:
        out["additionalProperties"] = False
    if node.get("nullable"):
        return {"anyOf": [out, {"type": "null"}]}
    return out


def _converted(key: str, value: Any) -> Any:
    if key == "properties":
        return {name: json_schema(schema) for name, schema in value.items()}
    if (key in _ONE and isinstance(value, dict)) or key in _MANY:
        return json_schema(value)
    return value


def response_errors(openapi: dict[str, Any], path: str, method: str, response,
                    media_type: str = "application/json") -> list[str]:
    """What in ``response``'s JSON body the schema of ``method path`` (for its status) does not allow."""
    return body_errors(openapi, path, method, response.status_code, body_json(response), media_type)


def body_errors(openapi: dict[str, Any], path: str, method: str, status: int, body: Any,
                media_type: str = "application/json") -> list[str]:
    content = openapi["paths"][path][method]["responses"][str(status)]["content"]
    schema = {**json_schema(content[media_type]["schema"]),
              "components": {"schemas": {name: json_schema(component)
                                         for name, component in openapi["components"]["schemas"].items()}}}
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return [f"{'/'.join(map(str, error.absolute_path)) or '(body)'}: {error.message[:300]}"
            for error in sorted(validator.iter_errors(body), key=lambda e: list(map(str, e.path)))]


def operations(openapi: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            if method in ("get", "put", "post", "patch", "delete", "head", "options"):
                yield path, method, operation


def resolved(openapi: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = openapi["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def is_free_form(schema: dict[str, Any]) -> bool:
    """An object that says nothing of its keys: no properties, any additional ones, no composition."""
    return (schema.get("type") == "object" and not schema.get("properties")
            and schema.get("additionalProperties", True) in (True, {})
            and not any(key in schema for key in _MANY))


def undescribed_objects(openapi: dict[str, Any], schema: dict[str, Any], where: str,
                        seen: set[str] | None = None) -> Iterator[str]:
    """Where under ``schema`` (components followed once) a free-form object has no description."""
    seen = set() if seen is None else seen
    if "$ref" in schema:
        if schema["$ref"] in seen:
            return
        seen.add(schema["$ref"])
        where = schema["$ref"].rsplit("/", 1)[1]
        schema = resolved(openapi, schema)
    if is_free_form(schema) and not schema.get("description"):
        yield where
    for name, sub in (schema.get("properties") or {}).items():
        yield from undescribed_objects(openapi, sub, f"{where}.{name}", seen)
    for key in _ONE:
        if isinstance(schema.get(key), dict):
            yield from undescribed_objects(openapi, schema[key], f"{where}[{key}]", seen)
    for key in _MANY:
        for sub in schema.get(key, []):
            yield from undescribed_objects(openapi, sub, where, seen)
