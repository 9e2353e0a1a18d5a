"""Forms and records as KoboToolbox's API v2 reads them: :mod:`.assets` (a form
as an asset), :mod:`.records` (a page of released records), :mod:`.query`
(the data endpoint's Mongo-style ``query`` and ``sort``). Their shapes as
KoboToolbox writes them are the API's (``surveys/api/kobo/``)."""
