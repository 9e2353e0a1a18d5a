"""KoboToolbox's API v2 (``/api/v2/``): assets, content, data, validation
statuses, export settings, exports and reports, for analysts' tools written
for KoboToolbox. Views parse the request, call :mod:`surveys.services.kobo`
and render."""
