"""The surveys admin, a module per what it administers. Importing the package
registers every ModelAdmin with the admin site."""

from surveys.admin import exports, hooks, locations, questionnaires, respondents, rounds, submissions  # noqa: F401
