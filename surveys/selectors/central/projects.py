"""Surveys as ODK Central projects and forms as Central forms.

A survey is a project (its id is the survey's id); each form (every version of a ``form_id``) is a
Central form of the survey of its newest version, found through the KoBo API's assets
(:func:`surveys.selectors.kobo.assets.assets_for_user`): the same forms, the same rule of who sees them.
Which *records* of a form a user sees is :func:`surveys.selectors.kobo.records.visible_records`'s
decision (a supervisor's team)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from mtm.errors import NotFound
from surveys.models import Submission, Survey
from surveys.selectors.kobo.assets import Asset, assets_for_user
from surveys.selectors.kobo.records import visible_records

if TYPE_CHECKING:
    from enumerators.models import AnyUser


@dataclass(frozen=True)
class Project:
    survey: Survey
    forms: list[Asset]


def projects_for_user(*, user: AnyUser) -> list[Project]:
    """The surveys with a form ``user`` may see, by id, each with those forms."""
    by_survey: dict[int, list[Asset]] = {}
    surveys: dict[int, Survey] = {}
    for asset in assets_for_user(user=user, counted=False):
        survey = asset.current.round.survey
        surveys[survey.pk] = survey
        by_survey.setdefault(survey.pk, []).append(asset)
    return [Project(survey=surveys[pk], forms=by_survey[pk]) for pk in sorted(surveys)]


def project_for_user(*, user: AnyUser, project_id: int) -> Project:
    """One project; :class:`NotFound` when it does not exist or ``user`` sees none of its forms."""
    found = next((p for p in projects_for_user(user=user) if p.survey.pk == project_id), None)
    if found is None:
        raise NotFound(f"No project {project_id}.")
    return found


def form_for_user(*, user: AnyUser, project_id: int, form_id: str) -> Asset:
    """One form of a project; :class:`NotFound` for an unknown one (or one of another project)."""
    found = next((a for a in project_for_user(user=user, project_id=project_id).forms if a.form_id == form_id),
                 None)
    if found is None:
        raise NotFound(f"No form '{form_id}' in project {project_id}.")
    return found


def submission_of_form(*, user: AnyUser, asset: Asset, instance_id: str) -> Submission:
    """The current, processed submission ``instance_id`` of the form that ``user`` may see; else
    :class:`NotFound`."""
    found = (visible_records(user=user, form_id=asset.form_id).select_related("submitted_by")
             .filter(instance_id=instance_id).first())
    if found is None:
        raise NotFound(f"No submission '{instance_id}' of this form.")
    return found
