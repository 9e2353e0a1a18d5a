"""The household form with a few processed interviews, and API clients with tokens."""

from __future__ import annotations

import pytest

from enumerators.models import User
from surveys.kobo_ids import asset_uid
from surveys.models import Submission
from surveys.services.ingest import Sender, submission_ingest_xml
from surveys.services.processing import submission_process
from tests.clients import token_client
from tests.submissions import new_instance_id

ALMATY = "43.2500 76.9000 800 5"


def household_instance(*, sex: str = "male", age: str = "33", gps: str = ALMATY, members: tuple[str, ...] = (),
                       reasons: str = "", income: str = "", country: str = "uz", region: str = "tashkent",
                       name: str = "Ali Valiev", passport: str = "N123", instance_id: str | None = None) -> bytes:
    member_xml = "".join(f"<member><member_age>{age}</member_age></member>" for age in members)
    return (f'<data id="household" version="2024050101"><start>2024-05-02T10:00:00.000+05:00</start>'
            f"<end>2024-05-02T10:40:00.000+05:00</end><deviceid>collect:ABC</deviceid>"
            f"<resp><name>{name}</name><passport>{passport}</passport><sex>{sex}</sex><age>{age}</age>"
            f"<gps>{gps}</gps></resp><country>{country}</country><region>{region}</region>"
            f"<dependants>{len(members)}</dependants>{member_xml}<reasons>{reasons}</reasons><income>{income}</income>"
            f"<income_kzt/><meta><instanceID>{instance_id or new_instance_id()}</instanceID></meta></data>").encode()


@pytest.fixture
def send(enumerator):
    """Ingest and process a household interview from enum01; the stored submission."""
    def send(username: str = "enum01", **answers) -> Submission:
        user = User.objects.get(username=username)
        sub = submission_ingest_xml(xml=household_instance(**answers), sender=Sender(user=user)).submission
        submission_process(submission_id=sub.pk)
        return Submission.objects.get(pk=sub.pk)

    return send


@pytest.fixture
def analyst(db):
    return token_client("analyst1", "view_submission")


@pytest.fixture
def supervisor(db):
    return token_client("sup1", "view_submission", "review_submission")


@pytest.fixture
def uid() -> str:
    return asset_uid("household")
