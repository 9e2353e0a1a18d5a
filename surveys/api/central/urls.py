"""``/v1/``: ODK Central's API and OData feed (pyodk's ``base_url`` is the server's root). The suffixed
form routes (``.svc``, ``.xml``) come before ``forms/<form_id>``, and the routes under a submission
before ``submissions/<instance_id>`` (an instanceID may hold "/")."""

from django.urls import path, re_path

from surveys.api.central import odata, projects, sessions, submissions

F = "projects/<int:project_id>/forms/<str:form_id>"

urlpatterns = [
    path("sessions", sessions.Sessions.as_view(), name="central-sessions"),
    path("sessions/<str:token>", sessions.SessionDetail.as_view(), name="central-session"),
    path("users/current", sessions.CurrentUser.as_view(), name="central-user-current"),
    path("projects", projects.ProjectList.as_view(), name="central-projects"),
    path("projects/<int:project_id>", projects.ProjectDetail.as_view(), name="central-project"),
    path("projects/<int:project_id>/forms", projects.FormList.as_view(), name="central-forms"),
    path(f"{F}.svc", odata.ServiceDocument.as_view(), name="central-odata-service"),
    path(f"{F}.svc/", odata.ServiceDocument.as_view()),
    path(f"{F}.svc/$metadata", odata.Metadata.as_view(), name="central-odata-metadata"),
    re_path(r"^projects/(?P<project_id>[0-9]+)/forms/(?P<form_id>[^/]+)\.svc/(?P<table>Submissions(?:\.[^/()]+)?)$",
            odata.TableData.as_view(), name="central-odata-table"),
    path(f"{F}.xml", projects.FormXml.as_view(), name="central-form-xml"),
    path(f"{F}/versions", projects.FormVersions.as_view(), name="central-form-versions"),
    path(f"{F}/submissions.csv.zip", submissions.SubmissionsCsvZip.as_view(), name="central-submissions-csv-zip"),
    path(f"{F}/submissions.csv", submissions.SubmissionsCsv.as_view(), name="central-submissions-csv"),
    path(f"{F}/submissions", submissions.SubmissionList.as_view(), name="central-submissions"),
    path(f"{F}/submissions/<path:instance_id>/comments", submissions.SubmissionComments.as_view(),
         name="central-submission-comments"),
    path(f"{F}/submissions/<path:instance_id>", submissions.SubmissionDetail.as_view(), name="central-submission"),
    path(F, projects.FormDetail.as_view(), name="central-form"),
]
