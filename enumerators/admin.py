from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportModelAdmin

from enumerators.models import Assignment, AssignmentQuota, Device, Enumerator, LoginLockout, User
from enumerators.resources import RosterResource
from surveys.selectors.scope import assignments_for_user, enumerators_for_user, viewable_rounds


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Django's user admin, with the account's interface language (``User.language``)."""

    fieldsets = (*(DjangoUserAdmin.fieldsets or ()), (_("Preferences"), {"fields": ("language",)}))
    # django-stubs type list_display as an instance variable of a generic class (read here on the class).
    list_display = (*DjangoUserAdmin.list_display, "language")  # type: ignore[misc]


class TeamScoped(admin.ModelAdmin):
    """A supervisor sees only their team's rows (:mod:`surveys.selectors.scope`); a form's choices too."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "enumerator":
            kwargs["queryset"] = enumerators_for_user(user=request.user)
        elif db_field.name == "round":
            kwargs["queryset"] = viewable_rounds(user=request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Enumerator)
class EnumeratorAdmin(admin.ModelAdmin):
    list_display = ["user", "sex", "active", "supervisor", "created_at"]
    list_filter = ["sex", "active", ("supervisor", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["user__username", "user__first_name", "user__last_name"]
    autocomplete_fields = ["user", "supervisor"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(pk__in=enumerators_for_user(user=request.user).values("pk"))


@admin.register(Device)
class DeviceAdmin(TeamScoped, admin.ModelAdmin):
    list_display = ["device_id", "enumerator", "user_agent", "first_seen", "last_seen"]
    search_fields = ["device_id", "enumerator__user__username"]
    readonly_fields = ["first_seen", "last_seen"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(enumerator__in=enumerators_for_user(user=request.user))


class QuotaInline(admin.TabularInline):
    model = AssignmentQuota
    extra = 0
    autocomplete_fields = ["location"]


@admin.register(Assignment)
class AssignmentAdmin(TeamScoped, ImportExportModelAdmin):
    """The roster: *Import* reads enumerators with their assignments and quotas from CSV / XLSX
    (:class:`enumerators.resources.RosterResource`) with a dry-run preview and row-by-row errors; a file
    with any bad row changes nothing. *Export* writes the rows the user may see."""

    resource_classes = [RosterResource]
    list_display = ["enumerator", "round", "target_total", "target_male", "target_female"]
    list_filter = [("round", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["enumerator__user__username"]
    filter_horizontal = ["locations"]
    inlines = [QuotaInline]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(pk__in=assignments_for_user(user=request.user).values("pk"))


@admin.register(LoginLockout)
class LoginLockoutAdmin(admin.ModelAdmin):
    """The audit of login lockouts (too many failed logins), read only."""

    list_display = ["at", "scope", "account", "address", "entry", "failures", "until"]
    list_filter = ["scope", "entry"]
    search_fields = ["account", "address"]
    date_hierarchy = "at"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

