import hashlib

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from enumerators.models import Assignment, Enumerator, User
from enumerators.services.accounts import enumerator_create_or_update
from mtm.errors import InvalidInput, NotFound


def ha1(username, password):
    return hashlib.md5(f"{username}:MTM Collect:{password}".encode()).hexdigest()


@pytest.mark.django_db
class TestCreateEnumerator:
    def test_command_creates_account_assignment_and_locations(self, household, capsys):
        User.objects.create_user("sup1", password="x")
        call_command("create_enumerator", "enum07", "--password", "pw-123456", "--form", "household",
                     "--location", "KZ-75", "--location", "KZ-71", "--sex", "f", "--supervisor", "sup1")

        enumerator = Enumerator.objects.get(user__username="enum07")
        assignment = enumerator.assignments.get()
        assert capsys.readouterr().out == "enum07 mtm-kz round 4\n"
        assert (enumerator.sex, enumerator.supervisor.username, enumerator.active) == ("f", "sup1", True)
        assert assignment.round == household.round
        assert sorted(assignment.locations.values_list("code", flat=True)) == ["KZ-71", "KZ-75"]
        assert enumerator.user.check_password("pw-123456")
        assert enumerator.user.digest_ha1 == ha1("enum07", "pw-123456")

    def test_running_twice_is_safe_and_updates_password(self, household):
        for password in ("first-pass", "second-pass"):
            enumerator_create_or_update(username="enum08", password=password, sex="m", form_ids=["household"],
                                        location_codes=["KZ-79"])

        assert Enumerator.objects.filter(user__username="enum08").count() == 1
        assert Assignment.objects.filter(enumerator__user__username="enum08").count() == 1
        user = User.objects.get(username="enum08")
        assert user.check_password("second-pass")
        assert user.digest_ha1 == ha1("enum08", "second-pass")

    @pytest.mark.parametrize(("kwargs", "error", "message"), [
        ({"form_ids": ["nope"]}, NotFound, "No form 'nope' has been imported."),
        ({"location_codes": ["KZ-99"]}, NotFound, "Unknown location code(s): KZ-99."),
        ({"sex": None}, InvalidInput, "Sex (m or f) is required for a new enumerator."),
        ({"password": None}, InvalidInput, "A password is required for a new enumerator."),
        ({"supervisor_username": "ghost"}, NotFound, "No supervisor account 'ghost'."),
    ])
    def test_bad_arguments_store_nothing(self, household, kwargs, error, message):
        arguments = {"username": "enum09", "password": "pw-123456", "sex": "f", **kwargs}
        with pytest.raises(error) as err:
            enumerator_create_or_update(**arguments)
        assert err.value.message == message
        assert not User.objects.filter(username="enum09").exists()
        assert Enumerator.objects.count() == 0

    def test_command_exits_2_on_error(self, db):
        with pytest.raises(CommandError) as err:
            call_command("create_enumerator", "enum10", "--password", "pw", "--sex", "m", "--form", "nope")
        assert err.value.returncode == 2
        assert str(err.value) == "No form 'nope' has been imported."


@pytest.mark.django_db
def test_unusable_password_clears_digest():
    user = User.objects.create_user("someone", password="pw-123456")
    assert user.digest_ha1 == ha1("someone", "pw-123456")
    user.set_unusable_password()
    user.save()
    user.refresh_from_db()
    assert user.digest_ha1 == ""
