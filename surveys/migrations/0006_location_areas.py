"""Approximate areas of Kazakhstan's regions (bounding boxes) and cities of
republican significance (centre and radius), for the GPS quality check.
They are deliberately generous; refine them in the admin."""

from django.db import migrations

def load(apps, schema_editor):
    from surveys.locations_kz import ensure_kazakhstan

    ensure_kazakhstan(apps.get_model("surveys", "Location"))


class Migration(migrations.Migration):
    dependencies = [("surveys", "0005_validation_checks_review")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
