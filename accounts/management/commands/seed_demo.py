"""Create (or reset) the demo learner and demo admin used by `make run`, and print credentials."""

from django.core.management.base import BaseCommand
from rest_framework.authtoken.models import Token

from accounts.models import User

DEMO_ACCOUNTS = (
    # username, password, is_staff/superuser
    ("learner", "loadline-learner", False),
    ("admin", "loadline-admin", True),
)


class Command(BaseCommand):
    help = "Create the demo learner and demo admin (idempotent) and print their credentials."

    def handle(self, *args, **options):
        self.stdout.write(self.style.MIGRATE_HEADING("Demo accounts (local use only):"))
        for username, password, is_admin in DEMO_ACCOUNTS:
            user, _ = User.objects.get_or_create(username=username)
            user.is_staff = user.is_superuser = is_admin
            user.set_password(password)
            user.save()
            token, _ = Token.objects.get_or_create(user=user)
            role = "admin  " if is_admin else "learner"
            self.stdout.write(
                f"  {role}  username={username}  password={password}  api-token={token.key}"
            )
