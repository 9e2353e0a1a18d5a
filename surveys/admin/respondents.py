"""Respondents (pseudonymous keys only)."""

from __future__ import annotations

from django.contrib import admin

from surveys.models import (
    Respondent,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@admin.register(Respondent)
class RespondentAdmin(admin.ModelAdmin):
    list_display = ["key", "survey", "consent", "first_round", "created_at"]
    list_filter = ["survey", "consent"]
    readonly_fields = ["key", "survey", "first_round", "created_at"]


