"""The roles of MTM Collect as Django groups with model permissions."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db import transaction

from enumerators.roles import ROLE_PERMISSIONS


@transaction.atomic
def roles_ensure() -> dict[str, Group]:
    """Create the role groups and give them exactly their permissions.
    Running it again resets each group's permissions to the list above."""
    groups = {}
    for name, codes in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        perms = []
        for code in codes:
            app_label, codename = code.split(".")
            perms.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        group.permissions.set(perms)
        groups[name] = group
    return groups
