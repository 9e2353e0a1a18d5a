"""Approximate areas of Kazakhstan's regions (bounding boxes) and cities of
republican significance (centre and radius), for the GPS quality check.
They are deliberately generous; refine them in the admin."""

from django.db import migrations

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


def load(apps, schema_editor):
    Location = apps.get_model("surveys", "Location")
    for code, (min_lat, max_lat, min_lon, max_lon) in BOXES.items():
        Location.objects.filter(code=code, min_lat__isnull=True).update(
            min_lat=min_lat, max_lat=max_lat, min_lon=min_lon, max_lon=max_lon)
    for code, (lat, lon, radius) in CITIES.items():
        Location.objects.filter(code=code, center_lat__isnull=True).update(
            center_lat=lat, center_lon=lon, radius_km=radius)


class Migration(migrations.Migration):
    dependencies = [("surveys", "0005_validation_checks_review")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
