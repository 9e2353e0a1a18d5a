"""``/v1/projects`` (a survey is a project), its forms, a form's versions and XForm."""

from __future__ import annotations

from django.http import HttpResponse
from rest_framework.request import Request
from rest_framework.response import Response

from surveys.api.central.base import CentralView
from surveys.api.central.shapes import form_json, project_json
from surveys.selectors.central.projects import form_for_user, project_for_user, projects_for_user


def extended(request: Request) -> bool:
    return request.headers.get("X-Extended-Metadata", "").lower() == "true"


class ProjectList(CentralView):
    def get(self, request: Request) -> Response:
        return Response([project_json(p.survey, p.forms, extended(request))
                         for p in projects_for_user(user=request.user)])


class ProjectDetail(CentralView):
    def get(self, request: Request, project_id: int) -> Response:
        project = project_for_user(user=request.user, project_id=project_id)
        return Response(project_json(project.survey, project.forms, extended(request)))


class FormList(CentralView):
    def get(self, request: Request, project_id: int) -> Response:
        project = project_for_user(user=request.user, project_id=project_id)
        return Response([form_json(asset, project_id) for asset in project.forms])


class FormDetail(CentralView):
    def get(self, request: Request, project_id: int, form_id: str) -> Response:
        return Response(form_json(form_for_user(user=request.user, project_id=project_id, form_id=form_id),
                                  project_id))


class FormVersions(CentralView):
    """``…/forms/<form_id>/versions``: every published version, newest first."""

    def get(self, request: Request, project_id: int, form_id: str) -> Response:
        asset = form_for_user(user=request.user, project_id=project_id, form_id=form_id)
        return Response([form_json(asset, project_id, version) for version in asset.versions])


class FormXml(CentralView):
    """``…/forms/<form_id>.xml``: the newest version's XForm."""

    def get(self, request: Request, project_id: int, form_id: str) -> HttpResponse:
        asset = form_for_user(user=request.user, project_id=project_id, form_id=form_id)
        return HttpResponse(asset.current.xform_xml.encode(), content_type="application/xml; charset=utf-8")
