"""Validators for the JSON fields authored in files and in admin."""

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

_url = URLValidator(schemes=["http", "https"])


def validate_string_list(value) -> None:
    """Accept a list of non-empty strings (recall prompts, aliases)."""
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValidationError("Must be a list of non-empty strings.")


def validate_sources(value) -> None:
    """Accept ``[{"title": str, "url": http(s) URL}, …]``: facts are sourced, links are safe."""
    if not isinstance(value, list):
        raise ValidationError("Must be a list of {title, url} objects.")
    for i, source in enumerate(value):
        if not isinstance(source, dict) or set(source) != {"title", "url"}:
            raise ValidationError(f"Source {i + 1} must have exactly the keys title and url.")
        if not isinstance(source["title"], str) or not source["title"].strip():
            raise ValidationError(f"Source {i + 1} needs a title.")
        try:
            _url(source["url"])
        except ValidationError as exc:
            raise ValidationError(f"Source {i + 1} has an invalid URL: {source['url']!r}.") from exc


def question_choice_problems(*, kind: str, correct_flags: list[bool]) -> list[str]:
    """Problems with a question's set of choices (shared by the file loader and the admin).

    ``kind`` is ``"single"`` or ``"multiple"``; ``correct_flags`` holds each choice's
    ``is_correct``. Returns human-readable problems (an empty list when the set is valid).
    """
    problems = []
    n_correct = sum(correct_flags)
    if len(correct_flags) < 2:
        problems.append("A question needs at least two choices.")
    if n_correct == 0:
        problems.append("A question needs at least one correct choice.")
    elif kind == "single" and n_correct > 1:
        problems.append(
            f"A single-answer question needs exactly one correct choice, not {n_correct}."
        )
    return problems
