from mtm.errors import Conflict, InvalidInput


class XLSFormError(InvalidInput):
    """A form that pyxform (or our own checks of it) rejects. ``message``
    carries pyxform's row-numbered text, e.g. ``[row : 3] On the 'survey'
    sheet, ...``."""


class QuestionnaireVersionConflict(Conflict):
    """The form_id and version exist already with different content."""


class QuestionnaireNotDeletable(Conflict):
    """A questionnaire version is archived, never deleted: tablets may still hold it and send instances of it."""

    def __init__(self, message: str = "A questionnaire version is never deleted (tablets may still hold it and "
                                      "send its instances); archive it instead.") -> None:
        super().__init__(message)


class InvalidSubmission(InvalidInput):
    """A submission that cannot be read: malformed XML or JSON, no instanceID,
    a DTD or entity, no XML part. Answered 400; nothing stored."""


class SubmissionConflict(Conflict):
    """The instanceID is stored already with different content (409)."""
