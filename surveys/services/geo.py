"""Distances and areas on the sphere, for GPS checks and displacement."""

from __future__ import annotations

import math

from surveys.models import Location

EARTH_KM = 6371.0


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lon2 - lon1)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return EARTH_KM * 2 * math.asin(math.sqrt(a))


def move(lat: float, lon: float, km: float, bearing: float) -> tuple[float, float]:
    """The point ``km`` away from (lat, lon) in direction ``bearing`` (radians from north)."""
    p1, l1, d = math.radians(lat), math.radians(lon), km / EARTH_KM
    p2 = math.asin(math.sin(p1) * math.cos(d) + math.cos(p1) * math.sin(d) * math.cos(bearing))
    l2 = l1 + math.atan2(math.sin(bearing) * math.sin(d) * math.cos(p1), math.cos(d) - math.sin(p1) * math.sin(p2))
    return math.degrees(p2), math.degrees(l2)


def has_area(location: Location) -> bool:
    return location.min_lat is not None or location.radius_km is not None


def inside(location: Location, lat: float, lon: float) -> bool:
    if location.radius_km is not None and location.center_lat is not None:
        return distance_km(lat, lon, location.center_lat, _given(location.center_lon)) <= location.radius_km
    return (_given(location.min_lat) <= lat <= _given(location.max_lat)) and (
        _given(location.min_lon) <= lon <= _given(location.max_lon))


def centre(location: Location) -> tuple[float, float]:
    if location.center_lat is not None:
        return location.center_lat, _given(location.center_lon)
    return ((_given(location.min_lat) + _given(location.max_lat)) / 2,
            (_given(location.min_lon) + _given(location.max_lon)) / 2)


def _given(coordinate: float | None) -> float:
    """A coordinate of the location's area; a half-entered area (only some of them) cannot be used."""
    if coordinate is None:
        raise TypeError("The location's area is incomplete: give the whole box, or the centre and radius.")
    return coordinate
