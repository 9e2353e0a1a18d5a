from django.urls import path

from surveys.api import views

urlpatterns = [
    path("v1/questionnaires/", views.QuestionnaireList.as_view(), name="api-questionnaires"),
]
