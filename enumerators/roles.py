"""The roles of MTM Collect, as Django groups: their names and model permissions
(created by :func:`enumerators.services.roles.roles_ensure`)."""

from __future__ import annotations

SUPERVISORS = "Supervisors"


ANALYSTS = "Analysts"


DATA_PROTECTION = "Data protection"


#: Who set up where a form's processed interviews go (KoboToolbox's REST services), beside the form's owner.
DATA_MANAGERS = "Data managers"


ROLE_PERMISSIONS: dict[str, list[str]] = {
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
                      "surveys.view_submission", "surveys.view_raw_submission", "surveys.view_rawpurge",
                      "surveys.view_questionnaire", "surveys.view_formkey", "surveys.manage_form_keys"],
    DATA_MANAGERS: ["surveys.view_survey", "surveys.view_round", "surveys.view_questionnaire",
                    "surveys.view_submission", "surveys.view_resthook", "surveys.add_resthook",
                    "surveys.change_resthook", "surveys.delete_resthook", "surveys.view_hookdelivery",
                    "surveys.change_hookdelivery", "surveys.view_hooklog", "surveys.view_publiclink",
                    "surveys.add_publiclink"],
}
