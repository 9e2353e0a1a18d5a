from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView

from mtm.views import healthz, set_language

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/", include("surveys.api.urls")),
    path("healthz", healthz, name="healthz"),
    path("i18n/setlang/", set_language, name="set_language"),
    # ODK Central's API and OData feed, before OpenRosa's /<username>/… routes.
    path("v1/", include("surveys.api.central.urls")),
    # The browser's web forms (/collect/, /f/<token>/), before OpenRosa's /<username>/… routes.
    path("", include("surveys.webforms.urls")),
    path("", include("surveys.openrosa.urls")),
]
