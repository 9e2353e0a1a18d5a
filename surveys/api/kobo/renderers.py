"""Renderers of the KoBo API: JSON with orjson (a page of 30,000 records),
the data endpoint's XML and GeoJSON. The data endpoint's renderers also
write a page as a stream (:meth:`PageRenderer.stream`): the same bytes as
:meth:`render` of the whole page, written a record at a time, so that a
worker never holds a page (bench/memory.py)."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable, Iterator
from typing import Any

import orjson
from django.http import StreamingHttpResponse
from lxml import etree
from rest_framework import serializers
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer, JSONRenderer

_XML_NAME_START = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
#: A streamed page is handed to the server in pieces of about this many bytes (fewer, larger writes).
PIECE_BYTES = 256 * 1024


def _pieces(opening: bytes, items: Iterable[bytes], closing: bytes, separator: bytes = b"") -> Iterator[bytes]:
    """``opening + separator.join(items) + closing``, in pieces of about :data:`PIECE_BYTES`."""
    buffer, size, first = [opening], len(opening), True
    for item in items:
        if not first:
            buffer.append(separator)
        first = False
        buffer.append(item)
        size += len(item) + len(separator)
        if size >= PIECE_BYTES:
            yield b"".join(buffer)
            buffer, size = [], 0
    buffer.append(closing)
    yield b"".join(buffer)


class PageRenderer:
    """A renderer that also writes a page (``head`` — count, next, previous —
    and its results) as a stream of bytes equal to :meth:`render` of the page."""

    media_type: str
    charset: str | None
    format: str

    def stream(self, head: dict[str, Any], results: Iterable[Any]) -> Iterator[bytes]:
        raise NotImplementedError

    def streamed_response(self, head: dict[str, Any], results: Iterable[Any]) -> StreamingHttpResponse:
        """The page as a streaming response, with the content type :meth:`render`'s response has."""
        content_type = f"{self.media_type}; charset={self.charset}" if self.charset else self.media_type
        return StreamingHttpResponse(self.stream(head, results), content_type=content_type)


class FastJSONRenderer(PageRenderer, JSONRenderer):
    """JSON as DRF's, written by orjson."""

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        if data is None:
            return b""
        try:
            return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)
        except TypeError:  # what orjson cannot write (an integer beyond 64 bits a client stored): DRF's JSON
            return super().render(data, accepted_media_type, renderer_context)

    def stream(self, head: dict[str, Any], results: Iterable[Any]) -> Iterator[bytes]:
        opening = self.render({**head, "results": []})  # ends with []}
        dumps, option = orjson.dumps, orjson.OPT_NON_STR_KEYS
        return _pieces(opening[:-2], (dumps(record, option=option) for record in results), b"]}", b",")


class GeoJSONRenderer(FastJSONRenderer):
    """A page of records as a GeoJSON ``FeatureCollection``: one ``Point``
    feature per record with a (displaced) location, its answers outside
    repeats as properties."""

    media_type = "application/geo+json"
    format = "geojson"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        if isinstance(data, dict) and isinstance(data.get("results"), list):
            data = {"type": "FeatureCollection", "features": [_feature(record) for record in data["results"]]}
        return super().render(data, accepted_media_type, renderer_context)

    def stream(self, head: dict[str, Any], results: Iterable[Any]) -> Iterator[bytes]:
        dumps, option = orjson.dumps, orjson.OPT_NON_STR_KEYS
        return _pieces(b'{"type":"FeatureCollection","features":[',
                       (dumps(_feature(record), option=option) for record in results), b"]}", b",")


def _feature(record: dict[str, Any]) -> dict[str, Any]:
    lat, lon = (record.get("_geolocation") or [None, None])[:2]
    geometry = {"type": "Point", "coordinates": [lon, lat]} if lat is not None else None
    properties = {k: v for k, v in record.items() if not (isinstance(v, list) and v and isinstance(v[0], dict))}
    return {"type": "Feature", "geometry": geometry, "properties": properties}


class GeoJSONPointSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["Point"])
    coordinates = serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2,
                                        help_text="[longitude, latitude], displaced")


class GeoJSONFeatureSerializer(serializers.Serializer):
    """A record: its point (null without a location) and its answers outside repeats."""

    type = serializers.ChoiceField(choices=["Feature"])
    geometry = GeoJSONPointSerializer(allow_null=True)
    properties = serializers.DictField(help_text="The record's keys, as in the JSON records, without repeats")


class GeoJSONFeatureCollectionSerializer(serializers.Serializer):
    """A page of records as GeoJSON (:class:`GeoJSONRenderer`, ``?format=geojson``)."""

    type = serializers.ChoiceField(choices=["FeatureCollection"])
    features = GeoJSONFeatureSerializer(many=True)


class XMLRenderer(PageRenderer, BaseRenderer):
    """The response as XML: ``<root>`` with an element per key, ``<item>``
    per list entry; record keys with group paths become nested elements."""

    media_type = "application/xml"
    format = "xml"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        root = etree.Element("root")
        _xml(root, data)
        return etree.tostring(root, xml_declaration=True, encoding="utf-8")

    def stream(self, head: dict[str, Any], results: Iterable[Any]) -> Iterator[bytes]:
        before, empty, after = self.render({**head, "results": []}).rpartition(b"<results/>")
        return _xml_pieces(before, empty, after, iter(results))


def _xml_pieces(before: bytes, empty: bytes, after: bytes, items: Iterator[Any]) -> Iterator[bytes]:
    """The page with ``<results/>`` when it has no record, else ``<results>`` and an ``<item>`` per record
    (the first record is read when the first piece is asked for, not before)."""
    first = next(items, None)
    if first is None:
        yield before + empty + after
        return
    yield from _pieces(before + b"<results>", map(_xml_item, itertools.chain([first], items)),
                       b"</results>" + after)


def _xml_item(record: Any) -> bytes:
    item = etree.Element("item")
    _xml(item, record)
    return etree.tostring(item, encoding="utf-8")


@functools.lru_cache(maxsize=8192)
def _tag(name: str) -> str:
    clean = "".join(c if c.isalnum() or c in "_-." else "_" for c in name)
    return clean if clean and clean[0] in _XML_NAME_START else f"_{clean}"


@functools.lru_cache(maxsize=8192)
def _key_path(key: str) -> tuple[tuple[tuple[str, bool], ...], str]:
    """A key's groups as (tag, whether an element of that name is reused) and its own tag: a group is
    the element already there unless its name is the key's last part (then a new one, as always)."""
    *groups, last = key.split("/")
    return tuple((_tag(part), part != last) for part in groups), _tag(last)


def _xml(parent: etree._Element, value: Any) -> None:
    if isinstance(value, dict):
        sub = etree.SubElement
        for key, item in value.items():
            groups, last = _key_path(str(key))
            node = parent
            for tag, reuse in groups:
                found = node.find(tag) if reuse else None
                node = found if found is not None else sub(node, tag)
            _xml(sub(node, last), item)
    elif isinstance(value, list):
        for item in value:
            _xml(etree.SubElement(parent, "item"), item)
    elif value is not None:
        parent.text = str(value).lower() if isinstance(value, bool) else str(value)


class IgnoreClientContentNegotiation(DefaultContentNegotiation):
    """A file download answers with the file whatever the client's ``Accept``
    header says (KoboToolbox clients send ``Accept: application/json``)."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type
