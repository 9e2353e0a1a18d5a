from django.urls import path, re_path

from surveys.openrosa import submission, views

_forms = [
    ("formList", views.form_list, "formlist"),
    ("forms/<str:form_id>/form.xml", views.form_xml, "form"),
    ("forms/<str:form_id>/manifest", views.manifest, "manifest"),
    ("forms/<str:form_id>/media/<str:filename>", views.media_file, "media"),
    ("submission", submission.submission, "submission"),
]

urlpatterns = [path(route, view, name=f"openrosa-{name}") for route, view, name in _forms]
urlpatterns += [
    re_path(r"^(?P<username>[\w.@+-]+)/" + path_regex, view, name=f"openrosa-user-{name}")
    for path_regex, view, name in [
        (r"formList$", views.form_list, "formlist"),
        (r"forms/(?P<form_id>[^/]+)/form\.xml$", views.form_xml, "form"),
        (r"forms/(?P<form_id>[^/]+)/manifest$", views.manifest, "manifest"),
        (r"forms/(?P<form_id>[^/]+)/media/(?P<filename>[^/]+)$", views.media_file, "media"),
        (r"submission$", submission.submission, "submission"),
    ]
]
