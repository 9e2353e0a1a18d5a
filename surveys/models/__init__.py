"""Surveys, rounds, questionnaire versions, locations, respondents and
submissions. Data and invariants only; every workflow lives in
:mod:`surveys.services`."""

from surveys.models.central import ODataRow
from surveys.models.encryption import FormKey
from surveys.models.hooks import HookDelivery, HookLog, RestHook
from surveys.models.kobo import KoboExportSetting, KoboRecord
from surveys.models.locations import Location
from surveys.models.progress import FlagCount, ProgressCount
from surveys.models.quality import BackCheck, InterviewQuality, ScoreCell
from surveys.models.reports import RecordExport, RoundNumberTally, RoundTally
from surveys.models.respondents import Respondent
from surveys.models.submissions import (
    RawPurge,
    ReviewEvent,
    Submission,
    SubmissionAttachment,
    SubmissionComment,
    SubmissionFlag,
    attachment_upload_to,
)
from surveys.models.surveys import (
    Questionnaire,
    QuestionnaireMedia,
    Round,
    Survey,
    media_upload_to,
    xlsform_upload_to,
)
from surveys.models.webforms import PublicLink, SubmissionCorrection

__all__ = [
    "BackCheck",
    "FlagCount",
    "FormKey",
    "HookDelivery",
    "HookLog",
    "InterviewQuality",
    "KoboExportSetting",
    "KoboRecord",
    "Location",
    "ODataRow",
    "ProgressCount",
    "PublicLink",
    "Questionnaire",
    "QuestionnaireMedia",
    "RawPurge",
    "RecordExport",
    "Respondent",
    "RestHook",
    "ReviewEvent",
    "Round",
    "RoundNumberTally",
    "RoundTally",
    "ScoreCell",
    "Submission",
    "SubmissionAttachment",
    "SubmissionComment",
    "SubmissionCorrection",
    "SubmissionFlag",
    "Survey",
    "attachment_upload_to",
    "media_upload_to",
    "xlsform_upload_to",
]
