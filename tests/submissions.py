"""Building instances as ODK Collect sends them."""

from __future__ import annotations

import base64
import time
import uuid

from django.core.files.uploadedfile import SimpleUploadedFile

from surveys.models import Submission
from surveys.services.ingest import Sender, submission_ingest_xml
from surveys.services.processing import submission_process
from tests.factories import PASSWORD

PHOTO_FORM_ROWS = "| | integer | age | Age |\n| | image | photo | Photo |\n| | image | photo2 | Photo 2 |"


def new_instance_id() -> str:
    return f"uuid:{uuid.uuid4()}"


def instance_xml(*, form_id: str = "simple", version: str = "1", instance_id: str | None = None,
                 q1: str = "hello", age: str = "30", photo: str = "", photo2: str = "",
                 deprecated_id: str | None = None) -> bytes:
    instance_id = instance_id or new_instance_id()
    deprecated = f"<deprecatedID>{deprecated_id}</deprecatedID>" if deprecated_id else ""
    return (
        f'<?xml version="1.0"?><data xmlns:jr="http://openrosa.org/javarosa" '
        f'xmlns:orx="http://openrosa.org/xforms" id="{form_id}" version="{version}">'
        f"<q1>{q1}</q1><age>{age}</age><photo>{photo}</photo><photo2>{photo2}</photo2>"
        f"<meta><instanceID>{instance_id}</instanceID>{deprecated}</meta></data>"
    ).encode()


def auth(username: str = "enum01", password: str = PASSWORD) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


def multipart(xml: bytes, *files: tuple[str, bytes], incomplete: bool = False) -> dict:
    data: dict = {"xml_submission_file": SimpleUploadedFile("submission.xml", xml, content_type="text/xml")}
    for index, (name, content) in enumerate(files):
        data[f"file{index}"] = SimpleUploadedFile(name, content, content_type="image/jpeg")
    if incomplete:
        data["*isIncomplete*"] = "yes"
    return data


ALMATY_CENTRE = "43.2500 76.9000 800 5"
ASTANA_CENTRE = "51.1500 71.4500 350 5"


def checks_xml(*, start="2024-05-02T10:00:00.000+05:00", end="2024-05-02T10:40:00.000+05:00", place="kz_75",
               gps=ALMATY_CENTRE, name="Aziz", sex="male", age="30", hours="8", instance_id=None) -> bytes:
    """An instance of the checks form (tests/fixtures/forms/checks.md)."""
    return (f'<data id="checks" version="1"><start>{start}</start><end>{end}</end><place>{place}</place>'
            f"<gps>{gps}</gps><name>{name}</name><sex>{sex}</sex><age>{age}</age><hours_day>{hours}</hours_day>"
            f"<meta><instanceID>{instance_id or new_instance_id()}</instanceID></meta></data>").encode()


def store_checks_instance(username="enum01", **fields) -> Submission:
    """Ingest an instance of the checks form from ``username`` and leave it waiting: its processing task is
    enqueued on a commit that a test inside a transaction never makes."""
    from enumerators.models import User

    return submission_ingest_xml(xml=checks_xml(**fields),
                                 sender=Sender(user=User.objects.get(username=username))).submission


def send_checks_instance(username="enum01", **fields) -> Submission:
    """Ingest and process an instance of the checks form from ``username`` (fields: :func:`checks_xml`)."""
    sub = store_checks_instance(username, **fields)
    submission_process(submission_id=sub.pk)
    return Submission.objects.get(pk=sub.pk)


def ingest_processed(xml: bytes, username: str = "enum01") -> Submission:
    """Ingest ``xml`` from ``username``, process it, and return the stored row."""
    from enumerators.models import User

    sub = submission_ingest_xml(xml=xml, sender=Sender(user=User.objects.get(username=username))).submission
    submission_process(submission_id=sub.pk)
    return Submission.objects.get(pk=sub.pk)


def household_xml(*, instance_id: str | None = None, age: str = "33") -> bytes:
    """A valid instance of tests/fixtures/forms/household.md."""
    return (f'<data id="household" version="2024050101"><resp><name>Ali</name><passport>N123</passport>'
            f"<sex>male</sex><age>{age}</age><gps/></resp><country>uz</country><region>tashkent</region>"
            f"<dependants>0</dependants><reasons/><income/><income_kzt/>"
            f"<meta><instanceID>{instance_id or new_instance_id()}</instanceID></meta></data>").encode()


def send_privacy_instance(username="enum01", *, consent="yes", name="Aziz Karimov", phone="+998901234567",
                          passport="AA1234567", place="kz_75", gps=ALMATY_CENTRE, sex="male", age="30",
                          country="uz", comment="", form_id="privacy", instance_id=None):
    """Ingest and process an instance of tests/fixtures/forms/privacy.md."""
    from enumerators.models import User

    xml = (f'<data id="{form_id}" version="1"><start>2024-05-02T10:00:00.000+05:00</start>'
           f"<end>2024-05-02T10:40:00.000+05:00</end><deviceid>collect:DEVICE42</deviceid>"
           f"<consent>{consent}</consent><resp><name>{name}</name><phone>{phone}</phone>"
           f"<passport>{passport}</passport><place>{place}</place><gps>{gps}</gps><sex>{sex}</sex>"
           f"<age>{age}</age><country>{country}</country><comment>{comment}</comment></resp>"
           f"<meta><instanceID>{instance_id or new_instance_id()}</instanceID></meta></data>").encode()
    sub = submission_ingest_xml(xml=xml, sender=Sender(user=User.objects.get(username=username),
                                                       device_id="collect:DEVICE42")).submission
    submission_process(submission_id=sub.pk)
    return Submission.objects.get(pk=sub.pk)


def wait_for(instance_id: str, state: str, timeout: float = 30.0) -> str | None:
    """Poll the database until the submission's processing state is ``state`` (a worker in another process
    gets there) or ``timeout`` seconds pass; the state last seen."""
    deadline = time.monotonic() + timeout
    found = None
    while time.monotonic() < deadline:
        found = Submission.objects.filter(instance_id=instance_id).values_list("processing", flat=True).first()
        if found == state:
            break
        time.sleep(0.2)
    return found
