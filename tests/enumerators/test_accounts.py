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
        assert capsys.readouterr().out == "enum07 MTM Kazakhstan — international migrant workers survey — round 4\n"
        assert (enumerator.sex, enumerator.supervisor.username, enumerator.active) == ("f", "sup1", True)
        assert assignment.round == household.round
        assert sorted(assignment.locations.values_list("code", flat=True)) == ["KZ-71", "KZ-75"]
        assert enumerator.user.check_password("pw-123456")
        assert enumerator.user.digest_ha1_open() == ha1("enum07", "pw-123456")

    def test_running_twice_is_safe_and_updates_password(self, household):
        for password in ("first-pass", "second-pass"):
            enumerator_create_or_update(username="enum08", password=password, sex="m", form_ids=["household"],
                                        location_codes=["KZ-79"])

        assert Enumerator.objects.filter(user__username="enum08").count() == 1
        assert Assignment.objects.filter(enumerator__user__username="enum08").count() == 1
        user = User.objects.get(username="enum08")
        assert user.check_password("second-pass")
        assert user.digest_ha1_open() == ha1("enum08", "second-pass")

    @pytest.mark.parametrize(("kwargs", "error", "message"), [
        ({"form_ids": ["nope"]}, NotFound, "No form 'nope' has been imported."),
        ({"location_codes": ["KZ-99"]}, NotFound, "Unknown location code: KZ-99."),
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
    assert user.digest_ha1_open() == ha1("someone", "pw-123456")
    user.set_unusable_password()
    user.save()
    user.refresh_from_db()
    assert user.digest_ha1 == ""


@pytest.mark.django_db
class TestSealedHA1:
    """The stored Digest HA1 is useless without MTM_DIGEST_KEY, which lives outside the database."""

    def test_the_column_holds_no_md5_of_the_password(self):
        from django.db import connection

        User.objects.create_user("someone", password="pw-123456")
        with connection.cursor() as cursor:
            cursor.execute("SELECT digest_ha1 FROM enumerators_user WHERE username = %s", ["someone"])
            stored = cursor.fetchone()[0]

        assert stored != ha1("someone", "pw-123456")
        assert ha1("someone", "pw-123456") not in stored
        assert stored.startswith("gAAAAA")  # a Fernet token

    def test_another_key_opens_nothing_and_digest_is_refused(self, client, enumerator, settings):
        from tests.digest import digest_header, nonce_of
        from tests.factories import PASSWORD
        from tests.submissions import auth

        settings.MTM_DIGEST_KEY = "bdV5yY9cRl8gAqT2H8x1ZnDhQmQwPpJ0sY3u6E7rVbA="
        nonce = nonce_of(client.get("/formList")["WWW-Authenticate"])

        digest = client.get("/formList", HTTP_AUTHORIZATION=digest_header(nonce=nonce, username="enum01",
                                                                         password=PASSWORD))

        assert User.objects.get(username="enum01").digest_ha1_open() == ""
        assert digest.status_code == 401
        assert client.get("/formList", **auth()).status_code == 200

    def test_without_a_key_no_ha1_is_kept(self, settings):
        settings.MTM_DIGEST_KEY = ""
        user = User.objects.create_user("someone", password="pw-123456")
        assert user.digest_ha1 == ""

    def test_the_migration_seals_an_ha1_kept_in_the_clear_and_running_it_twice_changes_nothing(self):
        import importlib

        from django.apps import apps

        migration = importlib.import_module("enumerators.migrations.0006_digest_ha1_sealed")
        user = User.objects.create_user("someone", password="pw-123456")
        User.objects.filter(pk=user.pk).update(digest_ha1=ha1("someone", "pw-123456"))

        migration.seal(apps, None)
        sealed = User.objects.get(pk=user.pk)
        migration.seal(apps, None)

        assert sealed.digest_ha1 != ha1("someone", "pw-123456")
        assert sealed.digest_ha1_open() == ha1("someone", "pw-123456")
        assert User.objects.get(pk=user.pk).digest_ha1 == sealed.digest_ha1
        migration.unseal(apps, None)
        assert User.objects.get(pk=user.pk).digest_ha1 == ha1("someone", "pw-123456")
