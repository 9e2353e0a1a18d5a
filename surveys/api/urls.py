from django.urls import include, path

from surveys.api import exports, quality, questionnaires, rounds, submissions

urlpatterns = [
    path("", include("surveys.api.kobo.urls")),
    path("v1/questionnaires/", questionnaires.QuestionnaireList.as_view(), name="api-questionnaires"),
    path("v1/questionnaires/<str:form_id>/media/", questionnaires.QuestionnaireMedia.as_view(),
         name="api-questionnaire-media"),
    path("v1/submissions/", submissions.SubmissionList.as_view(), name="api-submissions"),
    # An instanceID may hold "/" (ODK Central accepts any): the suffixed routes come first, so that
    # <path:instance_id> takes everything before the suffix.
    path("v1/submissions/<path:instance_id>/attachments/<str:filename>",
         submissions.SubmissionAttachmentDownload.as_view(),
         name="api-submission-attachment"),
    path("v1/submissions/<path:instance_id>/review/", submissions.SubmissionReview.as_view(),
         name="api-submission-review"),
    path("v1/submissions/<path:instance_id>/raw", submissions.SubmissionRaw.as_view(), name="api-submission-raw"),
    path("v1/submissions/<path:instance_id>/", submissions.SubmissionDetail.as_view(), name="api-submission"),
    path("v1/rounds/<int:round_id>/risk", rounds.RoundRisk.as_view(), name="api-round-risk"),
    path("v1/rounds/<int:round_id>/report", rounds.RoundReport.as_view(), name="api-round-report"),
    path("v1/rounds/<int:round_id>/scorecard", quality.RoundScorecard.as_view(), name="api-round-scorecard"),
    path("v1/rounds/<int:round_id>/backchecks", quality.RoundBackChecks.as_view(), name="api-round-backchecks"),
    path("v1/exports/", exports.ExportList.as_view(), name="api-exports"),
    path("v1/exports/<str:uid>/", exports.ExportDetail.as_view(), name="api-export"),
    path("v1/exports/<str:uid>/file", exports.ExportFile.as_view(), name="api-export-file"),
]
