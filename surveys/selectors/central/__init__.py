"""Reads of ODK Central's API and OData feed: projects and forms (projects.py), the OData model of a
form and its rows (odata.py), ``$filter`` parsed into an ORM filter (filter.py). The package re-exports
nothing."""
