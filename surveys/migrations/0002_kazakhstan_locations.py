"""Kazakhstan's regions and its three cities of republican significance
(data in surveys/locations_kz.py). Cities of republican significance are
urban; the regions mix town and country and are marked rural."""

from django.db import migrations

def load(apps, schema_editor):
    from surveys.locations_kz import ensure_kazakhstan

    ensure_kazakhstan(apps.get_model("surveys", "Location"), areas=False)


def unload(apps, schema_editor):
    Location = apps.get_model("surveys", "Location")
    from surveys.locations_kz import CITIES_NAMES, COUNTRY, REGIONS

    codes = [row[0] for row in REGIONS + CITIES_NAMES]
    Location.objects.filter(code__in=codes, assignments__isnull=True, rounds__isnull=True).delete()
    Location.objects.filter(code=COUNTRY[0], children__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("surveys", "0001_initial")]
    operations = [migrations.RunPython(load, unload)]
