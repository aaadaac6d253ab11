"""Sign-up, log-in and the profile page where the streak's time zone is set."""

import pytest
from django.urls import reverse

from accounts.models import User

pytestmark = pytest.mark.django_db


def test_signup_logs_in_and_lands_on_the_dashboard(client):
    response = client.post(
        reverse("accounts:signup"),
        {
            "username": "newbie",
            "email": "",
            "password1": "a-long-pass-phrase-9",
            "password2": "a-long-pass-phrase-9",
        },
    )
    assert response.status_code == 302 and response["Location"] == reverse("courses:dashboard")
    assert client.get(reverse("courses:dashboard")).status_code == 200


def test_signup_shows_errors(client):
    response = client.post(
        reverse("accounts:signup"),
        {"username": "x", "password1": "short", "password2": "different"},
    )
    assert response.status_code == 200
    assert b"errorlist" in response.content
    assert not User.objects.filter(username="x").exists()


def test_profile_needs_login(client):
    response = client.get(reverse("accounts:profile"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_profile_sets_the_time_zone(client, user):
    client.force_login(user)
    page = client.get(reverse("accounts:profile")).content.decode()
    assert '<label for="id_time_zone">' in page and "Europe/Paris" in page
    response = client.post(
        reverse("accounts:profile"), {"email": "ada@example.com", "time_zone": "Europe/Paris"}
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.time_zone, user.email) == ("Europe/Paris", "ada@example.com")


def test_profile_rejects_an_unknown_time_zone(client, user):
    client.force_login(user)
    response = client.post(reverse("accounts:profile"), {"email": "", "time_zone": "Mars/Base"})
    assert response.status_code == 200 and b"errorlist" in response.content
    user.refresh_from_db()
    assert user.time_zone == "UTC"
