from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.throttling import AnonRateThrottle


@extend_schema(
    tags=["auth"],
    summary="Exchange a username and password for an API token",
    responses=inline_serializer("TokenResponse", {"token": serializers.CharField()}),
)
class ObtainTokenView(ObtainAuthToken):
    """``POST {"username", "password"}`` → ``{"token"}``.

    Send the token as ``Authorization: Token <token>``; session auth works too.
    """

    throttle_classes = [AnonRateThrottle]
