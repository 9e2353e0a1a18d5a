"""``/api/v2/``: KoboToolbox's API v2. Every route also answers with a
``.json`` suffix (and the data routes ``.xml`` / ``.geojson``), as
KoboToolbox's clients call them."""

from django.urls import path
from rest_framework.urlpatterns import format_suffix_patterns

from surveys.api.kobo import assets, data, exports, hooks, reports

A = "v2/assets/<slug:uid>"

suffixed = format_suffix_patterns([
    path("v2/assets/", assets.AssetList.as_view(), name="kobo-assets"),
    path(f"{A}/", assets.AssetDetail.as_view(), name="kobo-asset"),
    path(f"{A}/content/", assets.AssetContent.as_view(), name="kobo-asset-content"),
    path(f"{A}/data/", data.AssetData.as_view(), name="kobo-asset-data"),
    path(f"{A}/data/validation_statuses/", data.ValidationStatuses.as_view(), name="kobo-validation-statuses"),
    path(f"{A}/data/<int:submission_id>/", data.DataRecord.as_view(), name="kobo-data-record"),
    path(f"{A}/data/<int:submission_id>/validation_status/", data.ValidationStatus.as_view(),
         name="kobo-validation-status"),
    path(f"{A}/reports/", reports.Reports.as_view(), name="kobo-reports"),
    path(f"{A}/export-settings/", exports.ExportSettingList.as_view(), name="kobo-export-settings"),
    path(f"{A}/export-settings/<slug:setting_uid>/", exports.ExportSettingDetail.as_view(),
         name="kobo-export-setting"),
    path(f"{A}/exports/", exports.ExportList.as_view(), name="kobo-exports"),
    path(f"{A}/exports/<slug:export_uid>/", exports.ExportDetail.as_view(), name="kobo-export"),
    path(f"{A}/hooks/", hooks.HookList.as_view(), name="kobo-hooks"),
    path(f"{A}/hooks/<slug:hook_uid>/", hooks.HookDetail.as_view(), name="kobo-hook"),
    path(f"{A}/hooks/<slug:hook_uid>/logs/", hooks.HookLogList.as_view(), name="kobo-hook-logs"),
    path(f"{A}/hooks/<slug:hook_uid>/logs/<slug:log_uid>/", hooks.HookLogDetail.as_view(), name="kobo-hook-log"),
    path(f"{A}/hooks/<slug:hook_uid>/logs/<slug:log_uid>/retry/", hooks.HookLogRetry.as_view(),
         name="kobo-hook-log-retry"),
], allowed=["json", "xml", "geojson"])

urlpatterns = [
    *suffixed,
    path(f"{A}/export-settings/<slug:setting_uid>/data.csv", exports.ExportSettingData.as_view(),
         {"fmt": "csv"}, name="kobo-export-setting-csv"),
    path(f"{A}/export-settings/<slug:setting_uid>/data.xlsx", exports.ExportSettingData.as_view(),
         {"fmt": "xlsx"}, name="kobo-export-setting-xlsx"),
]
