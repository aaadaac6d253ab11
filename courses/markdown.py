"""Markdown → safe HTML for lessons, quizzes, glossary entries and scenario briefs.

Rendering is CommonMark (markdown-it-py) with tables and strikethrough, raw HTML disabled, then
sanitised with nh3 (an allow-list: no ``<script>``, no event attributes, only http(s)/mailto
URLs), so even a hostile author cannot inject script. Glossary terms and their aliases are
linked to their glossary entries — the first occurrence per document, never inside code, links
or headings.
"""

import functools
import html
import re
from dataclasses import dataclass

import nh3
from django.core.cache import cache
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.anchors import anchors_plugin

GLOSSARY_CACHE_KEY = "courses:glossary-index:v1"
# The signals delete the entry in the cache they can reach; with a per-process cache (the
# local-memory default) other web processes only notice a glossary edit when it expires.
GLOSSARY_CACHE_SECONDS = 300

_md = (
    MarkdownIt("commonmark", {"html": False, "typographer": False})
    .enable(["table", "strikethrough"])
    .use(anchors_plugin, min_level=2, max_level=4)
)

_ALLOWED_TAGS = {
    "p",
    "br",
    "hr",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "li",
    "blockquote",
    "em",
    "strong",
    "del",
    "s",
    "code",
    "pre",
    "a",
    "img",
    "sub",
    "sup",
    "kbd",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}
_ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "code": {"class"},  # language-xyz from fenced code blocks
    "th": {"style"},
    "td": {"style"},
    "ol": {"start"},
    "h2": {"id"},
    "h3": {"id"},
    "h4": {"id"},
}


@dataclass(frozen=True)
class GlossaryEntry:
    """One linkable phrase (a term or an alias) and where it points."""

    phrase: str
    slug: str
    short: str


def glossary_index() -> tuple[GlossaryEntry, ...]:
    """Every linkable phrase, longest first, from the cache or the database.

    Cached in Django's cache (shared between processes when it is Redis) for at most
    ``GLOSSARY_CACHE_SECONDS``; the ``GlossaryTerm`` signals and the curriculum loader delete
    the entry on any change.
    """
    entries = cache.get(GLOSSARY_CACHE_KEY)
    if entries is None:
        from courses.models import GlossaryTerm  # the renderer is imported by models' users

        seen: dict[str, GlossaryEntry] = {}
        terms = GlossaryTerm.objects.only("slug", "term", "aliases", "short").order_by("term")
        # Terms first, then aliases, so a term's own name wins over another term's alias.
        for term in terms:
            seen.setdefault(term.term.lower(), GlossaryEntry(term.term, term.slug, term.short))
        for term in terms:
            for alias in term.aliases:
                seen.setdefault(alias.lower(), GlossaryEntry(alias, term.slug, term.short))
        entries = tuple(sorted(seen.values(), key=lambda e: (-len(e.phrase), e.phrase.lower())))
        cache.set(GLOSSARY_CACHE_KEY, entries, timeout=GLOSSARY_CACHE_SECONDS)
    return entries


def glossary_index_invalidate() -> None:
    """Forget the cached glossary index (call after any change to glossary terms)."""
    cache.delete(GLOSSARY_CACHE_KEY)


@functools.lru_cache(maxsize=8)
def _term_pattern(phrases: tuple[str, ...]) -> re.Pattern[str]:
    # Whole words only, case-insensitive; an optional plural "s"/"es" so "load balancers"
    # links to "load balancer". Alternation is longest-first, so "read replica" beats "replica".
    alternatives = "|".join(re.escape(p) for p in phrases)
    return re.compile(rf"(?<!\w)({alternatives})(?:e?s)?(?!\w)", re.IGNORECASE)


def _glossary_link(matched: str, entry: GlossaryEntry, base_url: str) -> Token:
    token = Token("html_inline", "", 0)
    token.content = (
        f'<a class="glossary" href="{base_url}#{entry.slug}" '
        f'title="{html.escape(entry.short, quote=True)}">{html.escape(matched)}</a>'
    )
    return token


def _link_text(
    token: Token,
    entries: dict[str, GlossaryEntry],
    pattern: re.Pattern[str],
    linked: set[str],
    base_url: str,
) -> list[Token]:
    out: list[Token] = []
    text, cursor = token.content, 0
    for match in pattern.finditer(text):
        entry = entries[match.group(1).lower()]
        if entry.slug in linked:
            continue
        linked.add(entry.slug)
        if match.start() > cursor:
            out.append(_text_token(text[cursor : match.start()]))
        out.append(_glossary_link(match.group(0), entry, base_url))
        cursor = match.end()
    if not out:
        return [token]
    if cursor < len(text):
        out.append(_text_token(text[cursor:]))
    return out


def _text_token(content: str) -> Token:
    token = Token("text", "", 0)
    token.content = content
    return token


def _link_glossary_terms(tokens: list[Token], exclude: str) -> None:
    index = glossary_index()
    if not index:
        return
    entries = {e.phrase.lower(): e for e in index}
    pattern = _term_pattern(tuple(e.phrase for e in index))
    base_url = reverse("courses:glossary")
    linked: set[str] = {exclude}  # treated as already linked, so never linked
    for i, block in enumerate(tokens):
        if block.type != "inline" or not block.children:
            continue
        if i > 0 and tokens[i - 1].type == "heading_open":
            continue
        children: list[Token] = []
        link_depth = 0
        for child in block.children:
            if child.type == "link_open":
                link_depth += 1
            elif child.type == "link_close":
                link_depth -= 1
            if child.type == "text" and link_depth == 0:
                children.extend(_link_text(child, entries, pattern, linked, base_url))
            else:  # code_inline, images and link text stay as they are
                children.append(child)
        block.children = children


def sanitize_html(fragment: str) -> str:
    """Clean an HTML fragment with the renderer's allow-list (for HTML from any other source)."""
    return nh3.clean(
        fragment,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        allowed_classes={"a": {"glossary"}},
        filter_style_properties={"text-align"},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )


def render_markdown(text: str, *, glossary: bool = True, glossary_exclude: str = "") -> SafeString:
    """Render author Markdown to sanitised HTML, safe to drop into a template.

    Parameters
    ----------
    text : str
        CommonMark with tables and strikethrough; raw HTML is shown as text, not interpreted.
    glossary : bool
        Link the first occurrence of each glossary term (or alias) to ``/glossary/#<slug>``
        with its short definition as the tooltip (costs one cached lookup).
    glossary_exclude : str
        A glossary slug never to link (a term's own definition does not link to itself).

    Returns
    -------
    SafeString
        HTML that has passed the nh3 allow-list; empty for empty input.
    """
    if not text or not text.strip():
        return mark_safe("")
    tokens = _md.parse(text)
    if glossary:
        _link_glossary_terms(tokens, glossary_exclude)
    rendered = _md.renderer.render(tokens, _md.options, {})
    return mark_safe(sanitize_html(rendered))  # noqa: S308 — sanitised by nh3 just above


def render_markdown_inline(text: str) -> SafeString:
    """Render one line of Markdown (no paragraph wrapper, no glossary links), sanitised.

    For text that sits inside other markup, such as quiz choices inside their ``<label>``.
    """
    return mark_safe(sanitize_html(_md.renderInline(text or "")))  # noqa: S308 — sanitised
