"""The household form with processed interviews; accounts that log in to ODK Central's API."""

from __future__ import annotations

import base64

import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from enumerators.models import Enumerator, User
from enumerators.services.roles import roles_ensure
from tests.factories import UserFactory
from tests.surveys.api.kobo.conftest import household_instance, send

PASSWORD = "central-pass-1"


def account(username: str, group: str, *, email: str = "") -> User:
    roles_ensure()
    user = UserFactory(username=username, email=email or f"{username}@mtm.example.org")
    user.set_password(PASSWORD)
    user.save()
    user.groups.add(Group.objects.get(name=group))
    return user


def basic(username: str, password: str = PASSWORD) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def client_for(username: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=basic(username))
    return client


@pytest.fixture
def analyst(db) -> User:
    return account("analyst1", "Analysts")


@pytest.fixture
def supervisor(db, enumerator) -> User:
    """sup1 supervises enum01 (not enum02)."""
    user = account("sup1", "Supervisors")
    Enumerator.objects.filter(pk=enumerator.pk).update(supervisor=user)
    return user


@pytest.fixture
def project_id(household) -> int:
    return household.round.survey_id


__all__ = ["household_instance", "send"]


@pytest.fixture
def interviews(household, enumerator, send):
    """Three interviews by enum01 (two in May, the first with two household members; one in June) and one
    by enum02 (another team) in June."""
    import datetime as dt

    from surveys.models import Submission
    from tests.factories import AssignmentFactory, EnumeratorFactory

    AssignmentFactory(enumerator=EnumeratorFactory(user=UserFactory(username="enum02")), round=household.round)
    early = send(sex="female", age="41", members=("10", "12"), reasons="work family", passport="P1")
    later = send(sex="male", age="29", passport="P2")
    june = send(sex="male", age="35", country="tj", region="sughd", passport="P3")
    other = send("enum02", sex="female", age="50", passport="P4")
    for sub, (month, day) in ((early, (5, 1)), (later, (5, 2)), (june, (6, 1)), (other, (6, 2))):
        Submission.objects.filter(pk=sub.pk).update(received_at=dt.datetime(2024, month, day, 9, tzinfo=dt.UTC))
    return [Submission.objects.get(pk=s.pk) for s in (early, later, june, other)]
