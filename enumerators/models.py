"""Field staff: accounts, enumerators, their devices and their assignments."""

from __future__ import annotations

from typing import Any, ClassVar, TypeAlias

from django.conf import settings
from django.contrib.auth.models import AbstractUser, AnonymousUser, UserManager
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from enumerators import login_cache
from enumerators.digest import digest_ha1, ha1_open, ha1_seal


class DigestUserManager(UserManager):
    """Django's manager hashes the password without ``set_password``; route
    it through it so that the Digest HA1 is kept too."""

    def _create_user(self, username: str, email: str | None, password: str | None, **extra_fields: Any) -> User:
        # django-stubs leave out this private method of Django's UserManager (create_user and
        # create_superuser both call it), which the override routes the password through.
        user: User = super()._create_user(username, email, None, **extra_fields)  # type: ignore[misc]
        if password is not None:
            user.set_password(password)
            user.save(using=self._db, update_fields=["password", "digest_ha1"])
        return user


class User(AbstractUser):
    """An account of MTM Collect: enumerator, supervisor, analyst or admin.

    ``digest_ha1`` keeps RFC 7616's HA1 = MD5(username:realm:password), the
    only form in which HTTP Digest can check a password, sealed with
    ``MTM_DIGEST_KEY`` (:mod:`enumerators.digest`; :meth:`digest_ha1_open`
    gives it back). It is kept in step with the password by
    :meth:`set_password`, and it is blank for accounts whose password was
    never set through Django (they can still use Basic auth).
    """

    digest_ha1 = models.CharField(max_length=200, blank=True, editable=False)
    #: The interface language the account chose (the admin header's switch) or was given by an administrator:
    #: its pages, and the OpenRosa messages of its tablet when the tablet names no language. Blank: the browser's.
    language = models.CharField(
        _("interface language"), max_length=8, blank=True, default="", choices=settings.LANGUAGES,
        help_text=_("The language of the pages and of Collect's messages for this account. "
                    "Blank: the browser's (or the tablet's) language."))

    objects: ClassVar[DigestUserManager] = DigestUserManager()

    def set_password(self, raw_password: str | None) -> None:
        super().set_password(raw_password)
        if raw_password is None:
            self.digest_ha1 = ""
        else:
            self.digest_ha1 = ha1_seal(digest_ha1(self.username, raw_password))

    def digest_ha1_open(self) -> str:
        """The HA1 in the clear, for Digest verification only ("" if none is kept or it cannot be opened)."""
        return ha1_open(self.digest_ha1)

    def set_unusable_password(self) -> None:
        super().set_unusable_password()
        self.digest_ha1 = ""

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        if self.pk is not None:
            # Remembered Basic logins end with any change to the account
            # (password, active flag, username), not after their time-out.
            login_cache.forget(self.pk)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        pk = self.pk
        result = super().delete(*args, **kwargs)
        login_cache.forget(pk)
        return result


#: Whoever a request comes from: an account of MTM Collect, or nobody logged in (``request.user``).
AnyUser: TypeAlias = "User | AnonymousUser"


class Sex(models.TextChoices):
    MALE = "m", _("Male")
    FEMALE = "f", _("Female")


class Enumerator(models.Model):
    """A person who interviews respondents on a tablet. The phone number is
    staff contact data: it never appears in reports or exports."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE,
                                related_name="enumerator")
    sex = models.CharField(verbose_name=_("sex"), max_length=1, choices=Sex.choices)
    phone = models.CharField(verbose_name=_("phone"), max_length=32, blank=True)
    active = models.BooleanField(verbose_name=_("active"), default=True)
    supervisor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("supervisor"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="team",
    )
    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("enumerator")
        verbose_name_plural = _("enumerators")
        ordering = ["user__username"]
        constraints = [
            models.CheckConstraint(condition=Q(sex__in=["m", "f"]), name="enumerator_sex_valid"),
            models.CheckConstraint(
                condition=~Q(supervisor=F("user")), name="enumerator_not_own_supervisor"
            ),
        ]

    def __str__(self) -> str:
        return self.user.username


class Device(models.Model):
    """A tablet as Collect identifies it (``deviceID``, e.g. ``collect:abc123``)."""

    device_id = models.CharField(verbose_name=_("device ID"), max_length=128, unique=True)
    enumerator = models.ForeignKey(
        Enumerator, verbose_name=_("enumerator"), on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="devices"
    )
    user_agent = models.CharField(verbose_name=_("user agent"), max_length=255, blank=True)
    first_seen = models.DateTimeField(verbose_name=_("first seen"), auto_now_add=True)
    last_seen = models.DateTimeField(verbose_name=_("last seen"), auto_now=True)

    class Meta:
        verbose_name = _("device")
        verbose_name_plural = _("devices")
        ordering = ["-last_seen"]

    def __str__(self) -> str:
        return self.device_id


class Assignment(models.Model):
    """An enumerator's work in one round: where, and how many interviews of
    each sex. Per-location targets live in :class:`AssignmentQuota`."""

    enumerator = models.ForeignKey(Enumerator, verbose_name=_("enumerator"), on_delete=models.CASCADE,
                                   related_name="assignments")
    round = models.ForeignKey("surveys.Round", verbose_name=_("round"), on_delete=models.CASCADE,
                              related_name="assignments")
    locations = models.ManyToManyField("surveys.Location", verbose_name=_("locations"), related_name="assignments",
                                       blank=True)
    target_total = models.PositiveIntegerField(verbose_name=_("target (total)"), default=0)
    target_male = models.PositiveIntegerField(verbose_name=_("target (men)"), default=0)
    target_female = models.PositiveIntegerField(verbose_name=_("target (women)"), default=0)
    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        ordering = ["round", "enumerator"]
        constraints = [
            models.UniqueConstraint(fields=["enumerator", "round"], name="assignment_one_per_round"),
            models.CheckConstraint(
                condition=Q(target_male__lte=F("target_total")) & Q(target_female__lte=F("target_total")),
                name="assignment_sex_quota_within_total",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.enumerator} — {self.round}"


class AssignmentQuota(models.Model):
    """Target number of interviews for one location of an assignment."""

    assignment = models.ForeignKey(Assignment, verbose_name=_("assignment"), on_delete=models.CASCADE,
                                   related_name="quotas")
    location = models.ForeignKey("surveys.Location", verbose_name=_("location"), on_delete=models.PROTECT,
                                 related_name="quotas")
    target = models.PositiveIntegerField(verbose_name=_("target"))

    class Meta:
        verbose_name = _("location quota")
        verbose_name_plural = _("location quotas")
        constraints = [
            models.UniqueConstraint(fields=["assignment", "location"], name="quota_one_per_location"),
        ]

    def __str__(self) -> str:
        return f"{self.assignment}: {self.location} × {self.target}"


class DigestNonceCount(models.Model):
    """The highest Digest nonce count (``nc``) accepted for one (nonce, cnonce), so that a captured
    request cannot be replayed (RFC 7616 §3.4). In the database, not the cache: a Redis outage or
    restart must neither refuse every Digest login nor forget the counts. ``key`` is the SHA-256 of
    ``nonce:cnonce`` (``nonce:`` for a request without ``qop``, which may be used once); rows are
    deleted once ``expires_at`` has passed, when their nonce is stale anyway."""

    key = models.CharField(max_length=64, unique=True)
    count = models.BigIntegerField()
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.key[:12]}… nc={self.count}"



class LoginScope(models.TextChoices):
    ACCOUNT = "account", _("Account")
    ADDRESS = "address", _("Client address")


class LoginFailureCount(models.Model):
    """Failed logins of one account name (as typed) or from one client address, and how long further
    attempts are refused (``locked_until``). Written by one upsert per failure
    (:func:`enumerators.services.logins.login_failure_record`); forgotten after a whole quiet window."""

    scope = models.CharField(max_length=8, choices=LoginScope.choices)
    key = models.CharField(max_length=150)
    failures = models.PositiveIntegerField()
    last_failure = models.DateTimeField(db_index=True)
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="login_failure_one_per_key")]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}: {self.failures}"


class LoginLockout(models.Model):
    """Audit: an account or a client address was locked after too many failed logins — the attempt that
    locked it (account, address, where), never the password."""

    scope = models.CharField(verbose_name=_("scope"), max_length=8, choices=LoginScope.choices)
    account = models.CharField(verbose_name=_("account"), max_length=150)
    address = models.CharField(verbose_name=_("address"), max_length=45)
    entry = models.CharField(verbose_name=_("entry point"), max_length=16)
    failures = models.PositiveIntegerField(verbose_name=_("failures"))
    at = models.DateTimeField(verbose_name=_("time"))
    until = models.DateTimeField(verbose_name=_("locked until"))

    class Meta:
        verbose_name = _("login lockout")
        verbose_name_plural = _("login lockouts")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.scope} locked until {self.until:%Y-%m-%d %H:%M}: {self.account} from {self.address}"
