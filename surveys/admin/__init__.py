"""The surveys admin, a module per what it administers. Importing the package
registers every ModelAdmin with the admin site."""

from surveys.admin import (  # noqa: F401
    encryption,
    exports,
    hooks,
    links,
    locations,
    quality,
    questionnaires,
    respondents,
    rounds,
    submissions,
)
