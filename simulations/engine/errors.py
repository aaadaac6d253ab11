"""Located validation problems and the errors that carry them.

Every problem names its place in the input document with an RFC 6901 JSON pointer, so the API
can answer a 400 that points at the offending field.
"""

from __future__ import annotations

from typing import NamedTuple


class Problem(NamedTuple):
    """One located problem in a scenario or design document.

    Attributes
    ----------
    pointer : str
        RFC 6901 JSON pointer into the document, e.g. ``"/components/1/instances"``;
        ``""`` points at the whole document.
    message : str
        A sentence naming the bad value and the bound it broke.
    """

    pointer: str
    message: str


class SpecError(ValueError):
    """A document failed validation; ``problems`` lists *all* problems found.

    Parameters
    ----------
    problems : list of Problem
        Every problem found, in document order.
    """

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        first = self.problems[0] if self.problems else Problem("", "invalid document")
        more = f" (+{len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        super().__init__(f"{first.pointer or '/'}: {first.message}{more}")


class ScenarioError(SpecError):
    """The scenario document is invalid."""


class DesignError(SpecError):
    """The design document is invalid, or does not fit the scenario (routes, size)."""


def pointer_join(base: str, *parts: str | int) -> str:
    """Append reference tokens to a JSON pointer, escaping ``~`` and ``/`` (RFC 6901 §3).

    Examples
    --------
    >>> pointer_join("/components", 1, "instances")
    '/components/1/instances'
    >>> pointer_join("", "a/b")
    '/a~1b'
    """
    out = base
    for part in parts:
        token = str(part).replace("~", "~0").replace("/", "~1")
        out = f"{out}/{token}"
    return out
