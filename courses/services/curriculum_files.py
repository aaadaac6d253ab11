"""The curriculum file format (``/courses/curriculum/``): read into plain dicts, write back.

Layout::

    stages.yaml                        stages and levels
    glossary.yaml                      glossary terms
    courses/<slug>/course.yaml         one course
    courses/<slug>/lessons/NN-<slug>.md   lessons: YAML front matter + Markdown body
    courses/<slug>/quiz.yaml           the course's quiz (optional)

Reading checks structure (unknown or missing keys, types, quiz rules) and reports every
problem as ``<file>: <field>: <message>``; the database-level checks happen in the loader.
Writing is canonical (fixed key order, literal blocks for multi-line text), so
export → load → export is byte-identical.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from courses.validators import question_choice_problems

STAGE_KEYS = ("slug", "title", "order", "summary")
LEVEL_KEYS = ("code", "title", "summary")
TERM_KEYS = ("slug", "term", "aliases", "short", "long", "sources")
COURSE_KEYS = (
    "slug",
    "title",
    "stage",
    "level",
    "order",
    "summary",
    "description",
    "prerequisites",
    "required_scenarios",
    "status",
)
LESSON_KEYS = (
    "slug",
    "title",
    "order",
    "minutes",
    "status",
    "recall_prompts",
    "recap",
    "sources",
    "scenario",
)
QUIZ_KEYS = ("slug", "title", "pass_threshold", "grading_policy", "questions")
QUESTION_KEYS = ("prompt", "kind", "explanation", "choices")
CHOICE_KEYS = ("text", "correct", "explanation")

# Keys a file may leave out, with the value they mean.
OPTIONAL = {
    "summary": "",
    "description": "",
    "prerequisites": [],
    "required_scenarios": [],
    "status": "draft",
    "recall_prompts": [],
    "recap": "",
    "sources": [],
    "scenario": None,
    "aliases": [],
    "long": "",
    "explanation": "",
    "order": None,
}


class CurriculumError(ValueError):
    """The curriculum files (or the rows they describe) are invalid; ``problems`` lists why."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class Problems:
    """Collects problems so one run reports all of them, each naming its file and field."""

    items: list[str] = field(default_factory=list)

    def add(self, path: Path | str, field_name: str, message: str) -> None:
        self.items.append(f"{path}: {field_name}: {message}")


def _read_yaml(path: Path, problems: Problems) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        problems.add(path, "(file)", f"cannot read YAML: {exc}")
        return None


def _record(raw: Any, keys: tuple[str, ...], path: Path, where: str, problems: Problems):
    """Check one mapping's keys: all required present, nothing unknown; fill optional defaults."""
    if not isinstance(raw, dict):
        problems.add(path, where, "must be a mapping")
        return None
    unknown = sorted(set(raw) - set(keys))
    for key in unknown:
        problems.add(path, f"{where}.{key}" if where else key, "unknown field")
    record = {}
    for key in keys:
        if key in raw:
            record[key] = raw[key]
        elif key in OPTIONAL:
            record[key] = OPTIONAL[key]
        else:
            problems.add(path, f"{where}.{key}" if where else key, "missing")
            return None
    return record


def _list(raw: Any, path: Path, where: str, problems: Problems) -> list:
    if raw is None:
        return []
    if not isinstance(raw, list):
        problems.add(path, where, "must be a list")
        return []
    return raw


def read_stages(root: Path, problems: Problems) -> tuple[list[dict], list[dict]]:
    path = root / "stages.yaml"
    data = _read_yaml(path, problems) or {}
    stages = [
        _record(s, STAGE_KEYS, path, f"stages[{i}]", problems)
        for i, s in enumerate(_list(data.get("stages"), path, "stages", problems))
    ]
    levels = [
        _record(lv, LEVEL_KEYS, path, f"levels[{i}]", problems)
        for i, lv in enumerate(_list(data.get("levels"), path, "levels", problems))
    ]
    return [s for s in stages if s], [lv for lv in levels if lv]


def read_glossary(root: Path, problems: Problems) -> list[dict]:
    path = root / "glossary.yaml"
    if not path.exists():
        return []
    data = _read_yaml(path, problems) or {}
    terms = [
        _record(t, TERM_KEYS, path, f"terms[{i}]", problems)
        for i, t in enumerate(_list(data.get("terms"), path, "terms", problems))
    ]
    return [t for t in terms if t]


def _split_front_matter(text: str) -> tuple[str, str] | None:
    if not text.startswith("---\n"):
        return None
    end = text.find("\n---\n", 3)
    if end == -1:
        return None
    return text[4 : end + 1], text[end + 5 :]


def read_lesson(path: Path, problems: Problems) -> dict | None:
    parts = _split_front_matter(path.read_text(encoding="utf-8"))
    if parts is None:
        problems.add(path, "(file)", "must start with YAML front matter between --- lines")
        return None
    try:
        meta = yaml.safe_load(parts[0]) or {}
    except yaml.YAMLError as exc:
        problems.add(path, "(front matter)", f"cannot read YAML: {exc}")
        return None
    lesson = _record(meta, LESSON_KEYS, path, "", problems)
    if lesson is not None:
        lesson["body"] = parts[1].strip()
        if not lesson["body"]:
            problems.add(path, "body", "is empty")
        lesson["_path"] = path
    return lesson


def read_quiz(path: Path, problems: Problems) -> dict | None:
    quiz = _record(_read_yaml(path, problems), QUIZ_KEYS, path, "", problems)
    if quiz is None:
        return None
    questions = []
    for i, raw_q in enumerate(_list(quiz["questions"], path, "questions", problems)):
        where = f"questions[{i}]"
        question = _record(raw_q, QUESTION_KEYS, path, where, problems)
        if question is None:
            continue
        choices = [
            _record(c, CHOICE_KEYS, path, f"{where}.choices[{j}]", problems)
            for j, c in enumerate(_list(question["choices"], path, f"{where}.choices", problems))
        ]
        if None in choices:
            continue
        for j, choice in enumerate(choices):
            if not isinstance(choice["correct"], bool):
                problems.add(path, f"{where}.choices[{j}].correct", "must be true or false")
            if not str(choice["explanation"] or "").strip():
                problems.add(path, f"{where}.choices[{j}].explanation", "every choice is explained")
        for message in question_choice_problems(
            kind=question["kind"], correct_flags=[c["correct"] is True for c in choices]
        ):
            problems.add(path, f"{where}.choices", message)
        question["choices"] = choices
        questions.append(question)
    quiz["questions"] = questions
    quiz["_path"] = path
    return quiz


def read_courses(root: Path, problems: Problems) -> list[dict]:
    courses = []
    for course_dir in sorted(p for p in (root / "courses").glob("*") if p.is_dir()):
        path = course_dir / "course.yaml"
        if not path.exists():
            problems.add(path, "(file)", "missing")
            continue
        course = _record(_read_yaml(path, problems), COURSE_KEYS, path, "", problems)
        if course is None:
            continue
        course["_path"] = path
        lessons = [read_lesson(p, problems) for p in sorted((course_dir / "lessons").glob("*.md"))]
        course["lessons"] = [lesson for lesson in lessons if lesson]
        quiz_path = course_dir / "quiz.yaml"
        course["quiz"] = read_quiz(quiz_path, problems) if quiz_path.exists() else None
        courses.append(course)
    return courses


# Writing ---------------------------------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    """Block style with indented lists, multi-line strings as literal blocks (readable diffs)."""

    def increase_indent(self, flow: bool = False, indentless: bool = False):
        return super().increase_indent(flow, False)


class Flow(list):
    """A list written on one line: ``[a, b]`` (slugs, aliases)."""


class FlowMap(dict):
    """A mapping written on one line: ``{title: …, url: …}`` (sources)."""


def flow_sources(sources: list[dict]) -> list[FlowMap]:
    """Sources as one line each, the way authors write them."""
    return [FlowMap(source) for source in sources]


def _str_representer(dumper: yaml.SafeDumper, value: str):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str_representer)
_Dumper.add_representer(
    Flow, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True)
)


def _flow_map_representer(dumper: yaml.SafeDumper, value: FlowMap):
    # Values double-quoted, as authors write sources: {title: "RFC 9110: …", url: "https://…"}.
    node = dumper.represent_mapping("tag:yaml.org,2002:map", {}, flow_style=True)
    for key, item in value.items():
        item_node = (
            dumper.represent_scalar("tag:yaml.org,2002:str", item, style='"')
            if isinstance(item, str)
            else dumper.represent_data(item)
        )
        node.value.append((dumper.represent_data(key), item_node))
    return node


_Dumper.add_representer(FlowMap, _flow_map_representer)


def dump_yaml(data: Any) -> str:
    """Canonical YAML: keys in the given order, Unicode kept, no line folding."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1_000_000)


def lesson_file_text(meta: dict, body: str) -> str:
    """A lesson file: front matter, the body, one final newline."""
    return f"---\n{dump_yaml(meta)}---\n{body.strip()}\n"


def write_if_changed(path: Path, text: str) -> bool:
    """Write ``text`` unless the file already holds exactly it; returns whether it wrote."""
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True
