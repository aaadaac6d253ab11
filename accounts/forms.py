from django.contrib.auth.forms import UserCreationForm

from accounts.models import User


class SignUpForm(UserCreationForm):
    """Sign-up: username, optional e-mail, password twice (Django's validators apply)."""

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email")
