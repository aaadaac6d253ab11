"""Streaks count days with activity in the learner's own time zone (``now`` is passed in)."""

from datetime import UTC, datetime

import pytest

from courses.selectors.progress import streak_for
from courses.services.progress import lesson_complete
from courses.services.quizzes import quiz_attempt_submit

pytestmark = pytest.mark.django_db


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_no_activity_no_streak(user):
    streak = streak_for(user=user, now=at("2026-03-10T12:00"))
    assert (streak.current, streak.longest, streak.active_today) == (0, 0, False)


def test_consecutive_days_in_utc(user, lessons, quiz):
    lesson_complete(learner=user, lesson=lessons[0], now=at("2026-03-08T09:00"))
    quiz_attempt_submit(learner=user, quiz=quiz, answers={}, now=at("2026-03-09T09:00"))
    lesson_complete(learner=user, lesson=lessons[1], now=at("2026-03-10T09:00"))
    streak = streak_for(user=user, now=at("2026-03-10T20:00"))
    assert (streak.current, streak.longest, streak.active_today) == (3, 3, True)


def test_streak_survives_until_the_learners_midnight_then_breaks(user, lessons):
    lesson_complete(learner=user, lesson=lessons[0], now=at("2026-03-09T09:00"))
    lesson_complete(learner=user, lesson=lessons[1], now=at("2026-03-10T09:00"))
    next_day = streak_for(user=user, now=at("2026-03-11T23:00"))
    assert (next_day.current, next_day.active_today) == (2, False)  # still alive today
    two_days_later = streak_for(user=user, now=at("2026-03-12T01:00"))
    assert (two_days_later.current, two_days_later.longest) == (0, 2)


def test_the_same_moments_make_different_days_in_different_zones(user, lessons):
    # 04:30 and 05:30 UTC on 15 January: one UTC day, one Tokyo day (13:30, 14:30), but two
    # New York days (23:30 on the 14th, 00:30 on the 15th, at UTC−5).
    lesson_complete(learner=user, lesson=lessons[0], now=at("2026-01-15T04:30"))
    lesson_complete(learner=user, lesson=lessons[1], now=at("2026-01-15T05:30"))
    now = at("2026-01-15T06:00")

    user.time_zone = "UTC"
    assert streak_for(user=user, now=now).current == 1
    user.time_zone = "Asia/Tokyo"
    assert streak_for(user=user, now=now).current == 1
    user.time_zone = "America/New_York"
    streak = streak_for(user=user, now=now)
    assert (streak.current, streak.longest, streak.active_today) == (2, 2, True)


def test_a_late_evening_completion_counts_for_the_local_today(user, lessons):
    user.time_zone = "America/Los_Angeles"  # UTC−8 in January
    lesson_complete(
        learner=user, lesson=lessons[0], now=at("2026-01-15T06:00")
    )  # 22:00 on the 14th
    streak = streak_for(user=user, now=at("2026-01-15T07:00"))  # 23:00 on the 14th, local
    assert streak.active_today and streak.current == 1


def test_future_activity_is_ignored(user, lessons):
    lesson_complete(learner=user, lesson=lessons[0], now=at("2026-05-01T10:00"))
    assert streak_for(user=user, now=at("2026-04-01T10:00")).current == 0
