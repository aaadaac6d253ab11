"""Template filters for learner pages: Markdown rendering through the one sanitising renderer."""

from django import template

from courses.markdown import render_markdown, render_markdown_inline

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(text: str):
    """``{{ text|markdown }}``: block Markdown → sanitised HTML with glossary links."""
    return render_markdown(text)


@register.filter(name="markdown_plain")
def markdown_plain_filter(text: str):
    """``{{ text|markdown_plain }}``: block Markdown → sanitised HTML without glossary links."""
    return render_markdown(text, glossary=False)


@register.filter(name="markdown_inline")
def markdown_inline_filter(text: str):
    """``{{ text|markdown_inline }}``: inline Markdown → sanitised HTML (no ``<p>``)."""
    return render_markdown_inline(text)


@register.filter
def contains(collection, item) -> bool:
    """``{% if ids|contains:lesson.id %}`` — membership test for sets and lists."""
    return item in collection


@register.filter
def get_item(mapping, key):
    """``{{ enrollments|get_item:course.id }}`` — dictionary lookup by a variable key."""
    return mapping.get(key)
