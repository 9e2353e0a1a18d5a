"""Places: country → region / city → district."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class Location(models.Model):
    """A place in the hierarchy country → region / city → district.

    ``code`` is stable and what forms send (ISO 3166-2 for Kazakhstan's
    regions and cities of republican significance, e.g. ``KZ-75`` Almaty).
    """

    class Level(models.TextChoices):
        COUNTRY = "country", _("Country")
        REGION = "region", _("Region")
        CITY = "city", _("City of republican significance")
        DISTRICT = "district", _("District")

    code = models.CharField(verbose_name=_("code"), max_length=32, unique=True)
    name = models.CharField(verbose_name=_("name"), max_length=128)
    name_ru = models.CharField(verbose_name=_("name (Russian)"), max_length=128, blank=True)
    name_kk = models.CharField(verbose_name=_("name (Kazakh)"), max_length=128, blank=True)
    level = models.CharField(verbose_name=_("level"), max_length=16, choices=Level.choices)
    parent = models.ForeignKey("self", verbose_name=_("parent"), on_delete=models.PROTECT, null=True, blank=True,
                               related_name="children")
    is_urban = models.BooleanField(verbose_name=_("urban"), default=False)
    # The area an interview here may be recorded in: a bounding box, or a
    # centre and radius (cities). Approximate; editable in the admin.
    min_lat = models.FloatField(verbose_name=_("minimum latitude"), null=True, blank=True)
    max_lat = models.FloatField(verbose_name=_("maximum latitude"), null=True, blank=True)
    min_lon = models.FloatField(verbose_name=_("minimum longitude"), null=True, blank=True)
    max_lon = models.FloatField(verbose_name=_("maximum longitude"), null=True, blank=True)
    center_lat = models.FloatField(verbose_name=_("centre latitude"), null=True, blank=True)
    center_lon = models.FloatField(verbose_name=_("centre longitude"), null=True, blank=True)
    radius_km = models.FloatField(verbose_name=_("radius (km)"), null=True, blank=True)

    class Meta:
        verbose_name = _("location")
        verbose_name_plural = _("locations")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(level="country", parent__isnull=True) | (~Q(level="country") & Q(parent__isnull=False)),
                name="location_only_countries_are_roots",
            ),
            models.CheckConstraint(condition=~Q(parent=F("id")), name="location_not_own_parent"),
            models.CheckConstraint(
                condition=Q(min_lat__isnull=True) | Q(max_lat__isnull=True) | Q(max_lat__gte=F("min_lat")),
                name="location_bbox_lat_ordered",
            ),
            models.CheckConstraint(
                condition=Q(min_lon__isnull=True) | Q(max_lon__isnull=True) | Q(max_lon__gte=F("min_lon")),
                name="location_bbox_lon_ordered",
            ),
            models.CheckConstraint(condition=Q(radius_km__isnull=True) | Q(radius_km__gt=0),
                                   name="location_radius_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.local_name} ({self.code})"

    @property
    def local_name(self) -> str:
        """The name in the active interface language (``name_ru``, ``name_kk``), else ``name``."""
        return {"ru": self.name_ru, "kk": self.name_kk}.get(get_language() or "", "") or self.name
