"""Local development: the embedded default (SQLite, in-process tasks) unless env says otherwise."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "local-dev-only-not-secret")
os.environ.setdefault("DJANGO_DEBUG", "true")

from config.settings.base import *  # noqa: E402,F403
