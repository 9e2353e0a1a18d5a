"""The roles of MTM Collect as Django groups with model permissions."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db import transaction

SUPERVISORS = "Supervisors"
ANALYSTS = "Analysts"
DATA_PROTECTION = "Data protection"

_ROLE_PERMISSIONS: dict[str, list[str]] = {
    SUPERVISORS: [
        "surveys.view_survey", "surveys.view_round", "surveys.view_location", "surveys.view_questionnaire",
        "surveys.view_questionnairemedia", "enumerators.view_enumerator", "enumerators.view_device",
        "enumerators.view_assignment", "enumerators.change_assignment", "enumerators.view_assignmentquota",
        "enumerators.add_assignmentquota", "enumerators.change_assignmentquota",
        "surveys.view_submission", "surveys.review_submission", "surveys.view_submissionflag",
        "surveys.view_reviewevent", "surveys.view_submissioncomment", "surveys.add_submissioncomment",
    ],
    ANALYSTS: ["surveys.view_survey", "surveys.view_round", "surveys.view_location", "surveys.view_questionnaire",
               "surveys.view_submission"],
    DATA_PROTECTION: ["surveys.view_survey", "surveys.view_round", "surveys.view_respondent",
                      "surveys.view_submission", "surveys.view_raw_submission", "surveys.view_rawpurge"],
}


@transaction.atomic
def roles_ensure() -> dict[str, Group]:
    """Create the role groups and give them exactly their permissions.
    Running it again resets each group's permissions to the list above."""
    groups = {}
    for name, codes in _ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        perms = []
        for code in codes:
            app_label, codename = code.split(".")
            perms.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        group.permissions.set(perms)
        groups[name] = group
    return groups
