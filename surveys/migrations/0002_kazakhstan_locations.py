"""Kazakhstan's regions and its three cities of republican significance.

Codes are ISO 3166-2:KZ as revised in 2022 (Abai, Jetisu and Ulytau regions
created). Urban flag: cities of republican significance are urban; the
regions mix town and country and are marked rural for GPS displacement.
"""

from django.db import migrations

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

CITIES = [
    ("KZ-71", "Astana", "Астана", "Астана"),
    ("KZ-75", "Almaty", "Алматы", "Алматы"),
    ("KZ-79", "Shymkent", "Шымкент", "Шымкент"),
]


def load(apps, schema_editor):
    Location = apps.get_model("surveys", "Location")
    code, name, name_ru, name_kk = COUNTRY
    country, _ = Location.objects.get_or_create(
        code=code, defaults={"name": name, "name_ru": name_ru, "name_kk": name_kk, "level": "country"}
    )
    for level, rows, urban in (("region", REGIONS, False), ("city", CITIES, True)):
        for code, name, name_ru, name_kk in rows:
            Location.objects.get_or_create(
                code=code,
                defaults={"name": name, "name_ru": name_ru, "name_kk": name_kk, "level": level,
                          "parent": country, "is_urban": urban},
            )


def unload(apps, schema_editor):
    Location = apps.get_model("surveys", "Location")
    codes = [row[0] for row in REGIONS + CITIES]
    Location.objects.filter(code__in=codes, assignments__isnull=True, rounds__isnull=True).delete()
    Location.objects.filter(code=COUNTRY[0], children__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("surveys", "0001_initial")]
    operations = [migrations.RunPython(load, unload)]
