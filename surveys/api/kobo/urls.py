"""``/api/v2/``: KoboToolbox's API v2. Every route also answers with a
``.json`` suffix (and the data routes ``.xml`` / ``.geojson``), as
KoboToolbox's clients call them."""

from django.urls import path
from rest_framework.urlpatterns import format_suffix_patterns

from surveys.api.kobo import views

A = "v2/assets/<slug:uid>"

urlpatterns = format_suffix_patterns([
    path("v2/assets/", views.AssetList.as_view(), name="kobo-assets"),
    path(f"{A}/", views.AssetDetail.as_view(), name="kobo-asset"),
    path(f"{A}/content/", views.AssetContent.as_view(), name="kobo-asset-content"),
    path(f"{A}/data/", views.AssetData.as_view(), name="kobo-asset-data"),
    path(f"{A}/data/validation_statuses/", views.ValidationStatuses.as_view(), name="kobo-validation-statuses"),
    path(f"{A}/data/<int:submission_id>/", views.DataRecord.as_view(), name="kobo-data-record"),
    path(f"{A}/data/<int:submission_id>/validation_status/", views.ValidationStatus.as_view(),
         name="kobo-validation-status"),
    path(f"{A}/reports/", views.Reports.as_view(), name="kobo-reports"),
], allowed=["json", "xml", "geojson"])
