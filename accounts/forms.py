import zoneinfo

from django import forms
from django.contrib.auth.forms import UserCreationForm

from accounts.models import User


def _zone_choices() -> list[tuple[str, str]]:
    return [(z, z.replace("_", " ")) for z in sorted(zoneinfo.available_timezones())]


class SignUpForm(UserCreationForm):
    """Sign-up: username, optional e-mail, password twice (Django's validators apply)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")  # labels read "Password", not "Password:"
        super().__init__(*args, **kwargs)

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email")


class ProfileForm(forms.Form):
    """The learner's e-mail and time zone (streak days run midnight to midnight there)."""

    email = forms.EmailField(required=False, help_text="Optional; never shown to others.")

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    time_zone = forms.ChoiceField(
        choices=_zone_choices,
        help_text="Your streak counts days from midnight to midnight in this zone.",
    )
