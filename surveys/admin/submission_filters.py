"""The submission list's filters. Their choices come from small tables (rounds,
locations, enumerators in the user's scope; the quality checks), never from a
``SELECT DISTINCT`` over the submissions, and each filter is one indexed
condition, never a join that needs ``DISTINCT``: the list of a round of
100,000 stays fast (``bench/admin_list.py``). The review and standing filters
are the rules of :mod:`surveys.selectors.review`, as the dashboard counts them."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _

from surveys.models import Submission, SubmissionFlag
from surveys.round_settings import CHECK_LABELS
from surveys.selectors.review import STANDING_Q, Standing, waiting_q
from surveys.selectors.scope import enumerators_for_user, viewable_locations, viewable_rounds

#: ``?review=`` values: waiting for review, never reviewed, then each review state.
REVIEW_CHOICES = [("waiting", _("Waiting for review")), ("none", _("Not reviewed")),
                  *Submission.Review.choices]


class ReviewFilter(admin.SimpleListFilter):
    title = _("review")
    parameter_name = "review"

    def lookups(self, request, model_admin):
        return REVIEW_CHOICES

    def queryset(self, request, queryset):
        value = self.value()
        if value == "waiting":
            return queryset.filter(waiting_q())
        if value == "none":
            return queryset.filter(review_status__isnull=True)
        if value in Submission.Review.values:
            return queryset.filter(review_status=value)
        return queryset


class StandingFilter(admin.SimpleListFilter):
    """Received vs counted: where an interview stands against the round's count."""

    title = _("in the round's count")
    parameter_name = "standing"

    def lookups(self, request, model_admin):
        return Standing.choices

    def queryset(self, request, queryset):
        condition = STANDING_Q.get(self.value() or "")
        return queryset.filter(condition) if condition is not None else queryset


class FlagFilter(admin.SimpleListFilter):
    title = _("quality check")
    parameter_name = "flag"

    def lookups(self, request, model_admin):
        return [("any", _("Any flag")), *CHECK_LABELS.items()]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        flags = SubmissionFlag.objects.filter(submission=OuterRef("pk"))
        return queryset.filter(Exists(flags if value == "any" else flags.filter(check_name=value)))


class RoundFilter(admin.SimpleListFilter):
    title = _("round")
    parameter_name = "round"

    def lookups(self, request, model_admin):
        return [(str(r.pk), str(r)) for r in viewable_rounds(user=request.user).select_related("survey")
                .order_by("survey__name", "-number")]

    def queryset(self, request, queryset):
        return queryset.filter(round_id=self.value()) if (self.value() or "").isdigit() else queryset


class LocationFilter(admin.SimpleListFilter):
    title = _("location")
    parameter_name = "location"

    def lookups(self, request, model_admin):
        return [(str(loc.pk), loc.name) for loc in viewable_locations(user=request.user).order_by("name")]

    def queryset(self, request, queryset):
        return queryset.filter(location_id=self.value()) if (self.value() or "").isdigit() else queryset


class EnumeratorFilter(admin.SimpleListFilter):
    title = _("enumerator")
    parameter_name = "enumerator"

    def lookups(self, request, model_admin):
        people = enumerators_for_user(user=request.user).select_related("user").order_by("user__username")
        return [(str(e.user_id), e.user.username) for e in people]

    def queryset(self, request, queryset):
        return queryset.filter(submitted_by_id=self.value()) if (self.value() or "").isdigit() else queryset
