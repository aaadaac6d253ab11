"""Curriculum (what learners read and answer) and progress (what they have done)."""

from courses.models.curriculum import (
    Choice,
    Course,
    GlossaryTerm,
    Lesson,
    Level,
    PublicationStatus,
    Question,
    Quiz,
    Stage,
)
from courses.models.progress import Enrollment, LessonProgress, QuizAttempt

__all__ = [
    "Choice",
    "Course",
    "Enrollment",
    "GlossaryTerm",
    "Lesson",
    "LessonProgress",
    "Level",
    "PublicationStatus",
    "Question",
    "Quiz",
    "QuizAttempt",
    "Stage",
]
