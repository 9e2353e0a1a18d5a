from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from enumerators.models import Assignment, AssignmentQuota, Device, Enumerator, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    pass


@admin.register(Enumerator)
class EnumeratorAdmin(admin.ModelAdmin):
    list_display = ["user", "sex", "active", "supervisor", "created_at"]
    list_filter = ["sex", "active", "supervisor"]
    search_fields = ["user__username", "user__first_name", "user__last_name"]
    autocomplete_fields = ["user", "supervisor"]


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = ["device_id", "enumerator", "user_agent", "first_seen", "last_seen"]
    search_fields = ["device_id", "enumerator__user__username"]
    readonly_fields = ["first_seen", "last_seen"]


class QuotaInline(admin.TabularInline):
    model = AssignmentQuota
    extra = 0
    autocomplete_fields = ["location"]


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ["enumerator", "round", "target_total", "target_male", "target_female"]
    list_filter = ["round"]
    search_fields = ["enumerator__user__username"]
    filter_horizontal = ["locations"]
    inlines = [QuotaInline]
