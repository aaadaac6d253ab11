"""Account writes."""

from django.db import transaction

from accounts.models import User


@transaction.atomic
def user_profile_update(*, user: User, email: str, time_zone: str) -> User:
    """Change a user's e-mail and time zone (the zone decides where their streak days begin).

    Raises ``ValidationError`` for an unknown IANA zone name or a malformed e-mail.
    """
    user.email = email
    user.time_zone = time_zone
    user.full_clean()
    user.save(update_fields=["email", "time_zone"])
    return user
