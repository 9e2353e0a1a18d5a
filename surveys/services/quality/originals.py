"""An original interview's answers as it was given (opened from the raw store and validated against its own
version), for the back-check comparison only: they are compared in memory and never kept."""

from __future__ import annotations

from typing import Any

from surveys.form_schema import FormSchema
from surveys.models import Submission
from surveys.selectors.questionnaires import questionnaire_schema
from surveys.services.encrypted_submissions import submission_instance
from surveys.services.validation import FormRules, submission_validate


def original_answers(original: Submission) -> tuple[FormSchema, dict[str, Any]]:
    questionnaire = original.questionnaire
    schema = questionnaire_schema(pk=questionnaire.pk, key=questionnaire.schema_key)
    result = submission_validate(xml=submission_instance(original), rules=FormRules(schema),
                                 now=original.received_at)
    return schema, result.answers
