"""The renderer: sanitised against classic XSS payloads, glossary terms auto-linked."""

from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

from courses.markdown import render_markdown, render_markdown_inline
from courses.models import GlossaryTerm
from tests.courses.factories import GlossaryTermFactory

XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](  javascript:alert(1))",
    "[click](vbscript:msgbox(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](javascript:alert(1))",
    '<iframe src="https://evil.example"></iframe>',
    "<body onload=alert(1)>",
    '<div style="background:url(javascript:alert(1))">x</div>',
    '<a href="&#106;avascript:alert(1)">x</a>',
    "[x](&#106;avascript:alert(1))",
    '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
    "<details open ontoggle=alert(1)>",
    "`<script>alert(1)</script>`",
    "```html\n<script>alert(1)</script>\n```",
    "<<script>script>alert(1)<</script>/script>",
    "<IMG SRC=JaVaScRiPt:alert('XSS')>",
    '<a href="https://ok.example" onclick="alert(1)">ok</a>',
]


class _TagCollector(HTMLParser):
    """Collects the real tags and attributes of an HTML fragment (escaped text is not a tag)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _assert_safe(html: str) -> None:
    collector = _TagCollector()
    collector.feed(html)
    for tag, attrs in collector.tags:
        assert tag not in {"script", "iframe", "svg", "math", "object", "embed", "style", "body"}
        for name, value in attrs.items():
            assert not name.startswith("on"), f"event attribute {name} on <{tag}>"
            assert name != "style" or value.replace(" ", "") in {
                "text-align:right",
                "text-align:left",
                "text-align:center",
            }
            if name in {"href", "src"}:
                scheme = urlsplit((value or "").strip()).scheme.lower()
                assert scheme in {"", "http", "https", "mailto"}, f"{name}={value!r}"


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_xss_payloads_are_neutralised(db, payload):
    _assert_safe(render_markdown(payload))
    _assert_safe(render_markdown(f"Some text {payload} more text"))
    _assert_safe(render_markdown_inline(payload))


def test_safe_markdown_survives(db):
    html = render_markdown(
        "## Title\n\n**bold** *em* `code` [link](https://example.com)\n\n"
        "| a | b |\n|--:|---|\n| 1 | 2 |\n\n```python\nx = 1\n```"
    )
    assert '<h2 id="title">Title</h2>' in html
    assert "<strong>bold</strong>" in html and "<em>em</em>" in html
    assert '<a href="https://example.com" rel="noopener noreferrer">link</a>' in html
    assert '<td style="text-align:right">1</td>' in html
    assert '<code class="language-python">' in html


def test_glossary_terms_are_linked_once_with_tooltip(db):
    GlossaryTermFactory(
        slug="p99", term="p99", aliases=["tail latency"], short="The latency 99 % of requests beat."
    )
    html = render_markdown("Our p99 is high. The p99 again.")
    assert html.count('class="glossary"') == 1
    assert (
        '<a class="glossary" href="/glossary/#p99" title="The latency 99 % of requests beat."'
        ' rel="noopener noreferrer">p99</a>' in html
    )


def test_aliases_match_case_insensitively_on_word_boundaries(db):
    GlossaryTermFactory(slug="p99", term="p99", aliases=["tail latency"], short="Tail.")
    html = render_markdown("Watch the Tail Latency, not the tail latencyx or p990.")
    assert 'href="/glossary/#p99"' in html and ">Tail Latency</a>" in html
    assert html.count('class="glossary"') == 1


def test_plural_and_longest_match(db):
    GlossaryTermFactory(slug="replica", term="replica", short="A copy.")
    GlossaryTermFactory(slug="read-replica", term="read replica", short="A readable copy.")
    html = render_markdown("Two read replicas behind one primary.")
    assert ">read replicas</a>" in html and 'href="/glossary/#read-replica"' in html
    assert 'href="/glossary/#replica"' not in html


def test_no_links_inside_code_links_or_headings(db):
    GlossaryTermFactory(slug="p99", term="p99", short="Tail.")
    html = render_markdown("## About p99\n\n`p99` and [p99](https://example.com) and ```p99```")
    assert 'class="glossary"' not in html
    html = render_markdown("## About p99\n\nNow p99 in text.")
    assert html.count('class="glossary"') == 1
    assert '<h2 id="about-p99">About p99</h2>' in html


def test_tooltip_is_escaped(db):
    GlossaryTermFactory(slug="evil", term="evil", short='Quote " and <b>tag</b>')
    html = render_markdown("An evil word.")
    assert 'title="Quote &quot; and &lt;b&gt;tag&lt;/b&gt;"' in html


def test_glossary_changes_invalidate_the_cached_index(db):
    term = GlossaryTermFactory(slug="sla", term="SLA", short="A contract.")
    assert 'href="/glossary/#sla"' in render_markdown("Our SLA.")
    term.aliases = ["service level agreement"]
    term.save()
    assert 'href="/glossary/#sla"' in render_markdown("A service level agreement.")
    GlossaryTerm.objects.filter(pk=term.pk).delete()  # queryset delete still sends post_delete
    assert 'class="glossary"' not in render_markdown("Our SLA.")


def test_glossary_can_be_turned_off(db):
    GlossaryTermFactory(slug="sla", term="SLA", short="A contract.")
    assert 'class="glossary"' not in render_markdown("Our SLA.", glossary=False)


def test_empty_input_renders_empty(db):
    assert render_markdown("") == "" and render_markdown("   \n") == ""


def test_a_definition_does_not_link_to_itself(db):
    GlossaryTermFactory(slug="p99", term="p99", short="Tail.")
    GlossaryTermFactory(slug="p50", term="p50", short="Median.")
    html = render_markdown("The p99 sits above the p50.", glossary_exclude="p99")
    assert 'href="/glossary/#p99"' not in html and 'href="/glossary/#p50"' in html
