"""Kazakhstan's locations: the country, its 17 regions (ISO 3166-2:KZ as
revised in 2022, with the Abai, Jetisu and Ulytau regions) and the three
cities of republican significance, with approximate areas for the GPS check
(regions: generous bounding boxes; cities: centre and radius). Pure data and
one loader that takes the Location model, so that migrations (historical
models) and the demo share it."""

from typing import Any

COUNTRY = ("KZ", "Kazakhstan", "Казахстан", "Қазақстан")

REGIONS = [
    ("KZ-10", "Abai Region", "Абайская область", "Абай облысы"),
    ("KZ-11", "Akmola Region", "Акмолинская область", "Ақмола облысы"),
    ("KZ-15", "Aktobe Region", "Актюбинская область", "Ақтөбе облысы"),
    ("KZ-19", "Almaty Region", "Алматинская область", "Алматы облысы"),
    ("KZ-23", "Atyrau Region", "Атырауская область", "Атырау облысы"),
    ("KZ-27", "West Kazakhstan Region", "Западно-Казахстанская область", "Батыс Қазақстан облысы"),
    ("KZ-31", "Jambyl Region", "Жамбылская область", "Жамбыл облысы"),
    ("KZ-33", "Jetisu Region", "Жетысуская область", "Жетісу облысы"),
    ("KZ-35", "Karaganda Region", "Карагандинская область", "Қарағанды облысы"),
    ("KZ-39", "Kostanay Region", "Костанайская область", "Қостанай облысы"),
    ("KZ-43", "Kyzylorda Region", "Кызылординская область", "Қызылорда облысы"),
    ("KZ-47", "Mangystau Region", "Мангистауская область", "Маңғыстау облысы"),
    ("KZ-55", "Pavlodar Region", "Павлодарская область", "Павлодар облысы"),
    ("KZ-59", "North Kazakhstan Region", "Северо-Казахстанская область", "Солтүстік Қазақстан облысы"),
    ("KZ-61", "Turkistan Region", "Туркестанская область", "Түркістан облысы"),
    ("KZ-62", "Ulytau Region", "Улытауская область", "Ұлытау облысы"),
    ("KZ-63", "East Kazakhstan Region", "Восточно-Казахстанская область", "Шығыс Қазақстан облысы"),
]

CITIES_NAMES = [
    ("KZ-71", "Astana", "Астана", "Астана"),
    ("KZ-75", "Almaty", "Алматы", "Алматы"),
    ("KZ-79", "Shymkent", "Шымкент", "Шымкент"),
]

BOXES = {  # code: (min_lat, max_lat, min_lon, max_lon)
    "KZ-10": (46.5, 51.2, 76.5, 84.5),
    "KZ-11": (50.2, 53.8, 68.8, 74.3),
    "KZ-15": (45.5, 51.3, 54.8, 63.3),
    "KZ-19": (42.8, 45.6, 74.4, 80.4),
    "KZ-23": (45.2, 49.4, 46.4, 54.8),
    "KZ-27": (48.4, 51.9, 46.4, 54.6),
    "KZ-31": (42.4, 45.6, 68.9, 75.6),
    "KZ-33": (43.9, 46.9, 74.9, 82.6),
    "KZ-35": (45.9, 51.1, 68.9, 78.1),
    "KZ-39": (48.4, 54.1, 59.9, 66.1),
    "KZ-43": (43.4, 47.6, 58.4, 68.6),
    "KZ-47": (41.2, 46.5, 50.1, 56.1),
    "KZ-55": (50.4, 54.1, 73.4, 79.1),
    "KZ-59": (52.4, 55.5, 65.9, 73.1),
    "KZ-61": (40.5, 46.1, 65.3, 71.4),
    "KZ-62": (45.4, 50.1, 61.9, 71.6),
    "KZ-63": (47.4, 51.6, 79.9, 87.4),
    "KZ": (40.5, 55.5, 46.4, 87.4),
}
CITIES = {  # code: (lat, lon, radius_km)
    "KZ-71": (51.15, 71.45, 30.0),
    "KZ-75": (43.25, 76.90, 30.0),
    "KZ-79": (42.33, 69.60, 25.0),
}


def ensure_kazakhstan(Location: Any, *, areas: bool = True) -> None:  # the model, or a migration's historical one
    """Create what is missing; fill areas that are not set (``areas=False``
    for migrations older than the area fields). Idempotent."""
    code, name, name_ru, name_kk = COUNTRY
    country, _ = Location.objects.get_or_create(
        code=code, defaults={"name": name, "name_ru": name_ru, "name_kk": name_kk, "level": "country"})
    for level, rows, urban in (("region", REGIONS, False), ("city", CITIES_NAMES, True)):
        for code, name, name_ru, name_kk in rows:
            Location.objects.get_or_create(code=code, defaults={
                "name": name, "name_ru": name_ru, "name_kk": name_kk, "level": level, "parent": country,
                "is_urban": urban})
    if not areas:
        return
    for code, (min_lat, max_lat, min_lon, max_lon) in BOXES.items():
        Location.objects.filter(code=code, min_lat__isnull=True).update(
            min_lat=min_lat, max_lat=max_lat, min_lon=min_lon, max_lon=max_lon)
    for code, (lat, lon, radius) in CITIES.items():
        Location.objects.filter(code=code, center_lat__isnull=True).update(
            center_lat=lat, center_lon=lon, radius_km=radius)
