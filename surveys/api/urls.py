from django.urls import path

from surveys.api import exports, submissions, views

urlpatterns = [
    path("v1/questionnaires/", views.QuestionnaireList.as_view(), name="api-questionnaires"),
    path("v1/submissions/", submissions.SubmissionList.as_view(), name="api-submissions"),
    path("v1/submissions/<str:instance_id>/", submissions.SubmissionDetail.as_view(), name="api-submission"),
    path("v1/submissions/<str:instance_id>/review/", submissions.SubmissionReview.as_view(),
         name="api-submission-review"),
    path("v1/submissions/<str:instance_id>/raw", submissions.SubmissionRaw.as_view(), name="api-submission-raw"),
    path("v1/rounds/<int:round_id>/risk", submissions.RoundRisk.as_view(), name="api-round-risk"),
    path("v1/rounds/<int:round_id>/report", submissions.RoundReport.as_view(), name="api-round-report"),
    path("v1/exports/", exports.ExportList.as_view(), name="api-exports"),
    path("v1/exports/<str:uid>/", exports.ExportDetail.as_view(), name="api-export"),
    path("v1/exports/<str:uid>/file", exports.ExportFile.as_view(), name="api-export-file"),
    path("v1/submissions/<str:instance_id>/attachments/<str:filename>", views.SubmissionAttachmentDownload.as_view(),
         name="api-submission-attachment"),
]
