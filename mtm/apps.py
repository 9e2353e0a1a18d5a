from django.contrib.admin.apps import AdminConfig


class MtmAdminConfig(AdminConfig):
    """``django.contrib.admin`` with :class:`mtm.admin.MtmAdminSite` as ``admin.site``."""

    default_site = "mtm.admin.MtmAdminSite"
