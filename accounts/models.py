"""Accounts: the custom user, present from the very first migration."""

import zoneinfo

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models


def validate_time_zone(value: str) -> None:
    """Reject names that are not IANA time zones (they drive the learner's streak days)."""
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone name.")


class User(AbstractUser):
    """A learner, author or admin."""

    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_time_zone],
        help_text="IANA time zone; a streak day runs midnight to midnight here.",
    )

    def __str__(self) -> str:
        return self.get_full_name() or self.username
