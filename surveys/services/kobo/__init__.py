"""MTM Collect as KoboToolbox's API v2 shapes it, for analysts' tools.

A *form* (all versions of one ``form_id``) is one KoboToolbox asset:
:mod:`.assets` names it (a stable ``uid``) and writes its ``content`` as
KoboToolbox keeps an XLSForm; :mod:`.records` turns the anonymised records
into KoboToolbox's submission records and reads the Mongo-style ``query``
and ``sort`` of the data endpoint (:mod:`.query`); :mod:`.review` maps
KoboToolbox's validation statuses onto the review workflow; :mod:`.reports`
shapes the round tables as KoboToolbox's reports. Nothing here knows HTTP:
``surveys/api/kobo/`` is the interface.
"""
