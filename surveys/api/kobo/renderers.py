"""Renderers of the KoBo API: JSON with orjson (a page of 30,000 records),
the data endpoint's XML and GeoJSON."""

from __future__ import annotations

from typing import Any

import orjson
from lxml import etree
from rest_framework import serializers
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer, JSONRenderer

_XML_NAME_START = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")


class FastJSONRenderer(JSONRenderer):
    """JSON as DRF's, written by orjson."""

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        if data is None:
            return b""
        return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)


class GeoJSONRenderer(FastJSONRenderer):
    """A page of records as a GeoJSON ``FeatureCollection``: one ``Point``
    feature per record with a (displaced) location, its answers outside
    repeats as properties."""

    media_type = "application/geo+json"
    format = "geojson"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        if isinstance(data, dict) and isinstance(data.get("results"), list):
            features = []
            for record in data["results"]:
                lat, lon = (record.get("_geolocation") or [None, None])[:2]
                geometry = {"type": "Point", "coordinates": [lon, lat]} if lat is not None else None
                properties = {k: v for k, v in record.items() if not (isinstance(v, list) and v
                                                                        and isinstance(v[0], dict))}
                features.append({"type": "Feature", "geometry": geometry, "properties": properties})
            data = {"type": "FeatureCollection", "features": features}
        return super().render(data, accepted_media_type, renderer_context)


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


class XMLRenderer(BaseRenderer):
    """The response as XML: ``<root>`` with an element per key, ``<item>``
    per list entry; record keys with group paths become nested elements."""

    media_type = "application/xml"
    format = "xml"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        root = etree.Element("root")
        _xml(root, data)
        return etree.tostring(root, xml_declaration=True, encoding="utf-8")


def _tag(name: str) -> str:
    clean = "".join(c if c.isalnum() or c in "_-." else "_" for c in name)
    return clean if clean and clean[0] in _XML_NAME_START else f"_{clean}"


def _xml(parent: etree._Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            node = parent
            for part in str(key).split("/"):
                found = node.find(_tag(part))
                node = found if found is not None and part != str(key).split("/")[-1] else etree.SubElement(
                    node, _tag(part))
            _xml(node, item)
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
