from django.urls import path

from surveys.webforms import views

urlpatterns = [
    path("collect/", views.form_list, name="webforms-forms"),
    path("collect/login/", views.login, name="webforms-login"),
    path("collect/logout/", views.logout, name="webforms-logout"),
    path("collect/fill/<str:form_id>/", views.fill, name="webforms-fill"),
    path("collect/submission", views.submission, name="webforms-submission"),
    path("collect/correct/<int:submission_id>/", views.correct, name="webforms-correct"),
    path("collect/correct/<int:submission_id>/form.xml", views.correct_form, name="webforms-correct-form"),
    path("collect/correct/<int:submission_id>/instance.xml", views.correct_instance,
         name="webforms-correct-instance"),
    path("collect/correct/<int:submission_id>/media/<str:filename>", views.correct_media,
         name="webforms-correct-media"),
    path("collect/correct/<int:submission_id>/save", views.correct_save, name="webforms-correct-save"),
    path("f/<str:token>/", views.public_fill, name="webforms-public"),
    path("f/<str:token>/submission", views.public_submission, name="webforms-public-submission"),
]
