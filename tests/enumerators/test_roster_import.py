"""The enumerator roster import (enumerators.resources.RosterResource): rows,
their errors one by one, all-or-nothing, the admin's preview and confirm."""

import pytest
import tablib

from enumerators.models import Assignment, AssignmentQuota, Enumerator, User
from enumerators.resources import COLUMNS, RosterResource
from tests.factories import RoundFactory, UserFactory

GOOD = {"username": "enum21", "first_name": "Aidana", "last_name": "K.", "sex": "f", "phone": "+77010000000",
        "supervisor": "sup1", "password": "pass-21", "survey": "mtm-kz", "round": "4", "locations": "KZ-75 KZ-71",
        "target_total": "20", "target_male": "16", "target_female": "4", "quotas": "KZ-75:12; KZ-71:8"}


def dataset(*rows: dict) -> tablib.Dataset:
    data = tablib.Dataset(headers=COLUMNS)
    for row in rows:
        data.append([row.get(c, "") for c in COLUMNS])
    return data


def run(*rows: dict, dry_run: bool = False):
    return RosterResource().import_data(dataset(*rows), dry_run=dry_run)


def errors(result) -> list[tuple[int, dict]]:
    return [(row.number, row.error_dict) for row in result.invalid_rows] + [
        (number, {"error": [str(e.error) for e in errs]}) for number, errs in result.row_errors()]


def state():
    """Everything an import may write."""
    return (list(User.objects.order_by("username").values_list("username", "first_name", "password")),
            list(Enumerator.objects.order_by("id").values_list("user__username", "sex", "phone", "supervisor_id")),
            list(Assignment.objects.order_by("id").values_list("enumerator__user__username", "round_id",
                                                               "target_total", "target_male", "target_female")),
            list(AssignmentQuota.objects.order_by("id").values_list("assignment_id", "location__code", "target")),
            list(Assignment.locations.through.objects.order_by("id").values_list("assignment_id", "location_id")))


@pytest.fixture
def roster_world(db):
    RoundFactory(number=4)
    return UserFactory(username="sup1", is_staff=True)


@pytest.mark.django_db
class TestRosterImport:
    def test_a_row_creates_the_account_assignment_and_quotas(self, roster_world):
        result = run(GOOD)

        assert (result.has_errors(), result.has_validation_errors(), result.totals["new"]) == (False, False, 1)
        enumerator = Enumerator.objects.get(user__username="enum21")
        assert (enumerator.sex, enumerator.phone, enumerator.supervisor.username, enumerator.user.first_name) == (
            "f", "+77010000000", "sup1", "Aidana")
        assert enumerator.user.check_password("pass-21") and not enumerator.user.is_staff
        a = enumerator.assignments.get()
        assert (a.round.number, a.target_total, a.target_male, a.target_female) == (4, 20, 16, 4)
        assert sorted(a.locations.values_list("code", flat=True)) == ["KZ-71", "KZ-75"]
        assert sorted(a.quotas.values_list("location__code", "target")) == [("KZ-71", 8), ("KZ-75", 12)]

    def test_running_it_twice_changes_nothing(self, roster_world):
        run(GOOD)
        before = state()
        result = run(GOOD)
        assert (result.totals["update"], state()) == (1, before)

    def test_a_second_import_updates_targets_and_replaces_quotas(self, roster_world):
        run(GOOD)
        run({**GOOD, "password": "", "target_total": "30", "quotas": "KZ-11:30", "locations": ""})

        a = Assignment.objects.get()
        assert a.target_total == 30
        assert list(a.quotas.values_list("location__code", "target")) == [("KZ-11", 30)]
        assert list(a.locations.values_list("code", flat=True)) == ["KZ-11"]
        assert a.enumerator.user.check_password("pass-21")

    def test_the_dry_run_writes_nothing_and_previews_the_rows(self, roster_world):
        before = state()
        result = run(GOOD, dry_run=True)
        assert (result.has_errors(), result.has_validation_errors(), result.totals["new"]) == (False, False, 1)
        assert state() == before

    @pytest.mark.parametrize(("change", "expected"), [
        ({"username": ""}, {"username": ["A username is required."]}),
        ({"sex": "x"}, {"sex": ["'x' is not a sex: use m or f."]}),
        ({"target_total": "twenty"}, {"target_total": ["'twenty' is not a whole number of interviews."]}),
        ({"target_male": "-1"}, {"target_male": ["'-1' is not a whole number of interviews."]}),
        ({"round": ""}, {"round": ["The round number is required."]}),
        ({"survey": ""}, {"survey": ["The survey's slug is required (a roster row is an assignment to a round)."]}),
        ({"quotas": "KZ-75=12, KZ-71"},
         {"quotas": ["'KZ-75=12, KZ-71' is not CODE:TARGET (e.g. KZ-75:60; KZ-11:40)."]}),
        ({"target_male": "18"}, {"__all__": ["target_male (18) + target_female (4) is more than target_total (20)."]}),
        ({"quotas": "KZ-75:15; KZ-71:8"},
         {"__all__": ["The location quotas add up to 23, more than target_total (20)."]}),
        ({"locations": "KZ-75 KZ-99"}, {"__all__": ["Unknown location code: KZ-99."]}),
        ({"supervisor": "nobody"}, {"__all__": ["No supervisor account 'nobody'."]}),
        ({"round": "9"}, {"__all__": ["No round 9 of survey 'mtm-kz'."]}),
        ({"password": ""}, {"__all__": ["A password is required for a new enumerator."]}),
        ({"sex": ""}, {"__all__": ["Sex (m or f) is required for a new enumerator."]}),
        ({"username": "sup1"}, {"__all__": ["An enumerator cannot supervise themselves."]}),
    ])
    def test_a_bad_row_is_reported_and_the_whole_file_changes_nothing(self, roster_world, change, expected):
        before = state()
        good_first = {**GOOD, "username": "enum20", "supervisor": "sup1"}
        result = run(good_first, {**GOOD, **change})

        assert errors(result) == [(2, expected)]
        assert state() == before

    def test_every_bad_row_is_reported(self, roster_world):
        result = run({**GOOD, "sex": "x"}, GOOD, {**GOOD, "username": "enum22", "locations": "KZ-00"})
        assert errors(result) == [(1, {"sex": ["'x' is not a sex: use m or f."]}),
                                  (3, {"__all__": ["Unknown location code: KZ-00."]})]
        assert User.objects.filter(username__in=["enum21", "enum22"]).count() == 0

    def test_xlsx_numbers_are_read(self, roster_world):
        result = run({**GOOD, "round": 4.0, "target_total": 20.0, "target_male": 16, "target_female": None})
        assert not result.has_validation_errors()
        assert Assignment.objects.values_list("target_total", "target_male", "target_female").get() == (20, 16, 0)

    def test_export_writes_the_rows_it_reads_without_passwords(self, roster_world):
        run(GOOD)
        exported = RosterResource().export()
        assert exported.headers == COLUMNS
        assert exported.dict == [{**GOOD, "password": "", "round": 4, "target_total": 20, "target_male": 16,
                                  "target_female": 4, "locations": "KZ-71 KZ-75", "quotas": "KZ-71:8; KZ-75:12"}]


@pytest.mark.django_db
class TestRosterImportInAdmin:
    def upload(self, client, content: bytes, name: str, fmt: str):
        form = client.get("/admin/enumerators/assignment/import/").context["form"]
        index = next(value for value, label in form.fields["format"].choices if label.lower() == fmt)
        from django.core.files.uploadedfile import SimpleUploadedFile

        return client.post("/admin/enumerators/assignment/import/", {
            "import_file": SimpleUploadedFile(name, content), "format": index})

    @pytest.mark.parametrize("fmt", ["csv", "xlsx"])
    def test_preview_then_confirm(self, client, roster_world, fmt):
        client.force_login(UserFactory(username="admin", is_staff=True, is_superuser=True))
        before = state()
        content = dataset(GOOD).export(fmt)
        preview = self.upload(client, content.encode() if isinstance(content, str) else content, f"r.{fmt}", fmt)

        assert preview.status_code == 200
        assert state() == before
        assert preview.context["result"].totals["new"] == 1
        confirm = preview.context["confirm_form"].initial
        done = client.post("/admin/enumerators/assignment/process_import/", confirm)
        assert done.status_code == 302
        assert list(Assignment.objects.values_list("enumerator__user__username", "target_total")) == [("enum21", 20)]

    def test_errors_are_shown_row_by_row_and_nothing_can_be_confirmed(self, client, roster_world):
        client.force_login(UserFactory(username="admin", is_staff=True, is_superuser=True))
        before = state()
        content = dataset(GOOD, {**GOOD, "username": "enum22", "sex": "x"}).export("csv").encode()
        preview = self.upload(client, content, "r.csv", "csv")

        assert preview.status_code == 200
        assert "confirm_form" not in preview.context
        assert b"&#x27;x&#x27; is not a sex: use m or f." in preview.content
        assert state() == before
