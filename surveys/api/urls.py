from django.urls import path

from surveys.api import views

urlpatterns = [
    path("v1/questionnaires/", views.QuestionnaireList.as_view(), name="api-questionnaires"),
 path("v1/submissions/<str:instance_id>/attachments/<str:filename>", views.SubmissionAttachmentDownload.as_view(),
         name="api-submission-attachment"),
]
