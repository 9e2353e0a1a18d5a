"""An independent OData v4 client (python-odata, from PyPI) reads the feed: it builds its entity classes
from $metadata and pages through Submissions and a repeat's table by following @odata.nextLink
(server-driven paging: ``Prefer: odata.maxpagesize``). The metadata document is checked against the
rules of OData v4's CSDL: namespaces, version, keys, and every type named resolves."""

from __future__ import annotations

import requests
from lxml import etree
from odata import ODataService

from tests.surveys.api.central.conftest import PASSWORD, client_for

EDMX = "http://docs.oasis-open.org/odata/ns/edmx"
EDM = "http://docs.oasis-open.org/odata/ns/edm"


def test_python_odata_reads_metadata_and_pages_through_both_tables(live_server, analyst, interviews, project_id):
    early, later, june, other = interviews
    session = requests.Session()
    session.auth = ("analyst1", PASSWORD)
    session.headers["Prefer"] = "odata.maxpagesize=3"
    asked: list[str] = []
    session.hooks["response"].append(lambda response, *args, **kwargs: asked.append(response.request.path_url))
    service = ODataService(f"{live_server.url}/v1/projects/{project_id}/forms/household.svc/", session=session,
                           reflect_entities=True)
    submissions = list(service.query(service.entities["Submissions"]))
    members = list(service.query(service.entities["Submissions.member"]))

    assert sorted(service.entities) == ["Submissions", "Submissions.member"]
    assert [s.__odata__.data["__id"] for s in submissions] == [other.instance_id, june.instance_id,
                                                                later.instance_id, early.instance_id]
    first = submissions[0].__odata__.data
    assert (first["country"], first["dependants"], first["resp"]["age"], first["resp"]["sex"]) == ("uz", 0, 50,
                                                                                                 "female")
    assert first["__system"]["submissionDate"] == "2024-06-02T09:00:00.000Z"
    assert "name" not in first["resp"]
    assert [(m.__odata__.data["member_age"], m.__odata__.data["__Submissions-id"]) for m in members] == [
        (10, early.instance_id), (12, early.instance_id)]
    data_requests = [path for path in asked if "/Submissions" in path]
    assert len([p for p in data_requests if "Submissions.member" not in p]) == 2  # 3 + 1 rows
    assert "%24skiptoken=01" in data_requests[1]
    assert len([p for p in data_requests if "Submissions.member" in p]) == 1  # 2 rows: one page


def _type_names(document: etree._Element) -> set[str]:
    names = set()
    for schema in document.iter(f"{{{EDM}}}Schema"):
        namespace = schema.get("Namespace")
        for kind in ("EntityType", "ComplexType", "EnumType"):
            names.update(f"{namespace}.{t.get('Name')}" for t in schema.findall(f"{{{EDM}}}{kind}"))
    return names


def test_metadata_is_an_odata_v4_edmx_whose_every_type_resolves(analyst, interviews, project_id):
    response = client_for("analyst1").get(f"/v1/projects/{project_id}/forms/household.svc/$metadata")
    document = etree.fromstring(response.content)

    assert (response.status_code, response["Content-Type"], response["OData-Version"]) == (
        200, "application/xml; charset=utf-8", "4.0")
    assert (document.tag, document.get("Version")) == (f"{{{EDMX}}}Edmx", "4.0")
    assert [r.find(f"{{{EDMX}}}Include").get("Namespace") for r in document.findall(f"{{{EDMX}}}Reference")] == [
        "Org.OData.Capabilities.V1"]
    declared = _type_names(document)
    for element in document.iter(f"{{{EDM}}}Property", f"{{{EDM}}}NavigationProperty"):
        named = element.get("Type").removeprefix("Collection(").removesuffix(")")
        assert named.startswith("Edm.") or named in declared, named
    for entity in document.iter(f"{{{EDM}}}EntityType"):
        keys = [ref.get("Name") for ref in entity.find(f"{{{EDM}}}Key")]
        properties = [p.get("Name") for p in entity.findall(f"{{{EDM}}}Property")]
        assert keys == ["__id"] and "__id" in properties
    sets = {s.get("Name"): s.get("EntityType") for s in document.iter(f"{{{EDM}}}EntitySet")}
    assert sets == {"Submissions": "org.opendatakit.user.household.Submissions",
                    "Submissions.member": "org.opendatakit.user.household.Submissions.member"}
    assert set(sets.values()) <= declared
    user = document.find(f".//{{{EDM}}}Schema[@Namespace='org.opendatakit.user.household']")
    root = user.find(f"{{{EDM}}}EntityType[@Name='Submissions']")
    assert [(p.get("Name"), p.get("Type")) for p in root][1:] == [
        ("__id", "Edm.String"), ("__system", "org.opendatakit.submission.metadata"),
        ("start", "Edm.DateTimeOffset"), ("end", "Edm.DateTimeOffset"),
        ("resp", "org.opendatakit.user.household.resp"), ("country", "Edm.String"), ("region", "Edm.String"),
        ("dependants", "Edm.Int64"), ("member", "Collection(org.opendatakit.user.household.Submissions.member)"),
        ("reasons", "Edm.String"), ("income", "Edm.Decimal"), ("income_kzt", "Edm.String"),
        ("meta", "org.opendatakit.user.household.meta")]
    resp = user.find(f"{{{EDM}}}ComplexType[@Name='resp']")
    assert [(p.get("Name"), p.get("Type")) for p in resp] == [  # no identifier field (name)
        ("passport", "Edm.String"), ("sex", "Edm.String"), ("age", "Edm.Int64"), ("gps", "Edm.GeographyPoint")]
