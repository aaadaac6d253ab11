"""Loadline's Django project package.

Named ``config`` rather than ``platform``: a top-level ``platform`` package would shadow the
standard library's ``platform`` module (imported by ``uuid`` at start-up), and Django would not
start.
"""

from config.celery import app as celery_app

__all__ = ("celery_app",)
