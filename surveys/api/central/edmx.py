"""A form's OData v4 metadata document (CSDL in EDMX), as ODK Central writes it: the submission metadata
(``__system``) in the schema ``org.opendatakit.submission``; the form's schema
``org.opendatakit.user.<form>`` with the ``Submissions`` entity type, one complex type per group, one
entity type (and entity set) per repeat keyed by ``__id`` and naming its parent row, repeats as
navigation properties; the entity container with Central's capability annotations."""

from __future__ import annotations

import re
from xml.sax.saxutils import quoteattr

from surveys.selectors.central.odata import ROOT, Node, ODataModel, Table

EDMX_NS = "http://docs.oasis-open.org/odata/ns/edmx"
EDM_NS = "http://docs.oasis-open.org/odata/ns/edm"
SYSTEM_NS = "org.opendatakit.submission"
CAPABILITIES_URI = "https://oasis-tcs.github.io/odata-vocabularies/vocabularies/Org.OData.Capabilities.V1.xml"

_SYSTEM = """<Schema xmlns="{edm}" Namespace="{ns}">
<ComplexType Name="metadata">
<Property Name="submissionDate" Type="Edm.DateTimeOffset"/>
<Property Name="updatedAt" Type="Edm.DateTimeOffset"/>
<Property Name="deletedAt" Type="Edm.DateTimeOffset"/>
<Property Name="submitterId" Type="Edm.String"/>
<Property Name="submitterName" Type="Edm.String"/>
<Property Name="attachmentsPresent" Type="Edm.Int64"/>
<Property Name="attachmentsExpected" Type="Edm.Int64"/>
<Property Name="status" Type="{ns}.Status"/>
<Property Name="reviewState" Type="{ns}.ReviewState"/>
<Property Name="deviceId" Type="Edm.String"/>
<Property Name="edits" Type="Edm.Int64"/>
<Property Name="formVersion" Type="Edm.String"/>
</ComplexType>
<EnumType Name="Status">
<Member Name="notDecrypted" Value="0"/>
<Member Name="missingEncryptedFormData" Value="1"/>
</EnumType>
<EnumType Name="ReviewState">
<Member Name="hasIssues" Value="0"/>
<Member Name="edited" Value="1"/>
<Member Name="rejected" Value="2"/>
<Member Name="approved" Value="3"/>
</EnumType>
</Schema>"""

_CAPABILITIES = """<Annotation Term="Org.OData.Capabilities.V1.ConformanceLevel"
 EnumMember="Org.OData.Capabilities.V1.ConformanceLevelType/Minimal"/>
<Annotation Term="Org.OData.Capabilities.V1.BatchSupported" Bool="false"/>
<Annotation Term="Org.OData.Capabilities.V1.CountRestrictions">
<Record><PropertyValue Property="Countable" Bool="true"/></Record>
</Annotation>
<Annotation Term="Org.OData.Capabilities.V1.FilterFunctions">
<Collection><String>now</String><String>year</String><String>month</String><String>day</String><String>hour</String><String>minute</String><String>second</String></Collection>
</Annotation>
<Annotation Term="Org.OData.Capabilities.V1.SortRestrictions">
<Record><PropertyValue Property="Sortable" Bool="{sortable}"/></Record>
</Annotation>
<Annotation Term="Org.OData.Capabilities.V1.InsertRestrictions">
<Record><PropertyValue Property="Insertable" Bool="false"/></Record>
</Annotation>
<Annotation Term="Org.OData.Capabilities.V1.UpdateRestrictions">
<Record><PropertyValue Property="Updatable" Bool="false"/></Record>
</Annotation>
<Annotation Term="Org.OData.Capabilities.V1.DeleteRestrictions">
<Record><PropertyValue Property="Deletable" Bool="false"/></Record>
</Annotation>"""


def namespace(form_id: str) -> str:
    """The form's schema namespace (a dotted identifier: other characters of the form id become ``_``)."""
    safe = re.sub(r"\W", "_", form_id)
    return f"org.opendatakit.user.{'_' + safe if safe[:1].isdigit() else safe}"


def container_name(form_id: str) -> str:
    safe = re.sub(r"\W", "_", form_id)
    return "_" + safe if safe[:1].isdigit() else safe


def metadata_document(model: ODataModel) -> str:
    ns = namespace(model.asset.form_id)
    parts = ['<?xml version="1.0" encoding="UTF-8"?>',
             f'<edmx:Edmx xmlns:edmx="{EDMX_NS}" Version="4.0">',
             f'<edmx:Reference Uri="{CAPABILITIES_URI}">',
             '<edmx:Include Namespace="Org.OData.Capabilities.V1"/>',
             "</edmx:Reference>",
             "<edmx:DataServices>",
             _SYSTEM.format(edm=EDM_NS, ns=SYSTEM_NS),
             f'<Schema xmlns="{EDM_NS}" Namespace="{ns}">']
    for table in model.tables.values():
        parts.append(_entity_type(table, ns))
    for group in model.groups:
        parts.append(f"<ComplexType Name={quoteattr(group.type_name)}>")
        parts.extend(_properties(group, ns))
        parts.append("</ComplexType>")
    parts.append(f"<EntityContainer Name={quoteattr(container_name(model.asset.form_id))}>")
    for table in model.tables.values():
        parts.append(f"<EntitySet Name={quoteattr(table.name)} EntityType={quoteattr(f'{ns}.{table.name}')}>")
        parts.append(_CAPABILITIES.format(sortable="true" if table.parent is None else "false"))
        parts.append("</EntitySet>")
    parts.extend(["</EntityContainer>", "</Schema>", "</edmx:DataServices>", "</edmx:Edmx>"])
    return "\n".join(parts) + "\n"


def _entity_type(table: Table, ns: str) -> str:
    lines = [f"<EntityType Name={quoteattr(table.name)}>", '<Key><PropertyRef Name="__id"/></Key>',
             '<Property Name="__id" Type="Edm.String"/>']
    if table.parent is not None:
        lines.append(f"<Property Name={quoteattr(table.parent_key or '')} Type=\"Edm.String\"/>")
    else:
        lines.append(f'<Property Name="__system" Type="{SYSTEM_NS}.metadata"/>')
    lines.extend(_properties(table.node, ns))
    lines.append("</EntityType>")
    return "\n".join(lines)


def _properties(node: Node, ns: str) -> list[str]:
    lines = []
    for child in node.children:
        name = quoteattr(child.name)
        if child.kind == "group":
            lines.append(f"<Property Name={name} Type={quoteattr(f'{ns}.{child.type_name}')}/>")
        elif child.kind == "repeat":
            lines.append(f"<NavigationProperty Name={name} Type={quoteattr(f'Collection({ns}.{child.table})')}/>")
        else:
            lines.append(f"<Property Name={name} Type={quoteattr(child.edm)}/>")
    return lines


def service_document(model: ODataModel, base: str) -> dict[str, object]:
    """The service document: each table an entity set, relative to the service's root."""
    return {"@odata.context": f"{base}/$metadata",
            "value": [{"kind": "EntitySet", "name": t.name, "url": t.name} for t in model.tables.values()]}


__all__ = ["ROOT", "metadata_document", "service_document"]
