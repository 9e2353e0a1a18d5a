"""Locations import / export (surveys.resources.LocationResource): all or nothing."""

import pytest
import tablib

from surveys.models import Location
from surveys.resources import LocationResource

HEADERS = ["code", "name", "name_ru", "level", "parent", "is_urban", "min_lat", "max_lat"]


def run(*rows, dry_run=False):
    data = tablib.Dataset(headers=HEADERS)
    for row in rows:
        data.append(row)
    return LocationResource().import_data(data, dry_run=dry_run)


def errors(result):
    return [(row.number, row.error_dict) for row in result.invalid_rows] + [
        (number, [str(e.error) for e in errs]) for number, errs in result.row_errors()]


def snapshot():
    return list(Location.objects.order_by("code").values_list("code", "name", "level", "parent__code", "min_lat"))


@pytest.mark.django_db
class TestLocationImport:
    def test_new_districts_under_their_region_and_an_update(self):
        result = run(["KZ-75-ALM", "Almaly", "Алмалинский", "district", "KZ-75", "1", "43.2", "43.3"],
                     ["KZ-75", "Almaty city", "Алматы", "city", "KZ", "1", "", ""])

        assert errors(result) == []
        assert (result.totals["new"], result.totals["update"]) == (1, 1)
        almaly = Location.objects.get(code="KZ-75-ALM")
        assert (almaly.parent.code, almaly.level, almaly.is_urban, almaly.min_lat) == ("KZ-75", "district", True, 43.2)
        assert Location.objects.get(code="KZ-75").name == "Almaty city"

    @pytest.mark.parametrize(("row", "expected"), [
        (["KZ-X", "X", "", "district", "", "0", "", ""],
         {"__all__": ["Constraint “location_only_countries_are_roots” is violated."]}),
        (["KZ-X", "X", "", "village", "KZ-75", "0", "", ""],
         {"level": ["Value 'village' is not a valid choice."]}),
        (["KZ-X", "X", "", "district", "KZ-75", "0", "44", "43"],
         {"__all__": ["Constraint “location_bbox_lat_ordered” is violated."]}),
    ])
    def test_a_bad_row_changes_nothing(self, row, expected):
        before = snapshot()
        result = run(["KZ-75-ALM", "Almaly", "", "district", "KZ-75", "1", "", ""], row)

        assert errors(result) == [(2, expected)]
        assert snapshot() == before

    def test_an_unknown_parent_changes_nothing(self):
        before = snapshot()
        result = run(["KZ-75-ALM", "Almaly", "", "district", "KZ-75", "1", "", ""],
                     ["KZ-X", "X", "", "district", "KZ-00", "0", "", ""])

        assert [number for number, _ in errors(result)] == [2]
        assert snapshot() == before

    def test_export_names_parents_by_code(self):
        exported = LocationResource().export(queryset=Location.objects.filter(code="KZ-75"))
        row = exported.dict[0]
        assert (row["code"], row["parent"], row["level"]) == ("KZ-75", "KZ", "city")
