"""Any body an author can write renders, is indexed and snippeted, and never takes the page down.

Python-Markdown spends time growing with the square of its input (or worse) on some shapes; kb
refuses those at the door (`render.shape_problem`, naming the line) and shows one an older kb let
in as plain text. Each shape is tried at the default article limit (500 KB). Times are not asserted
here: benchmarks/hostile.py prints them, against an older kb, for 50, 200 and 500 KB.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import pytest
from conftest import SHARED, STARTER, client_for, indexed
from sqlalchemy import select, update

from kb import changelog, render
from kb.db import get_session
from kb.limits import DEFAULT_LIMITS
from kb.models import Article
from kb.search.indexer import Source, safe_document
from kb.search.snippets import Highlighter, best_snippet

SIZE = DEFAULT_LIMITS["MAX_ARTICLE_BYTES"] // 1000 * 1000  # 500 KB of ASCII, inside the limit


def repeat(unit: str, size: int = SIZE) -> str:
    return (unit * (size // len(unit) + 1))[:size]


def staircase(line: Callable[[int], str], size: int = SIZE) -> str:
    """Lines line(0), line(1), ... each nested one level deeper, up to `size` characters."""
    lines, total = [], 0
    while total < size:
        lines.append(line(len(lines)))
        total += len(lines[-1]) + 1
    return "\n".join(lines)


@dataclass
class Shape:
    name: str
    body: Callable[[], str]
    word: str | None  # a word of the body to snippet for (None: the body has no whole word)
    refused: str | None  # part of shape_problem's message, or None when the shape renders as Markdown


SHAPES = [
    Shape("one long word", lambda: "a" * SIZE, None, None),
    Shape("one long word with digits", lambda: repeat("a1"), None, None),
    Shape("16k+ matches of one word", lambda: repeat("vpn "), "vpn", None),
    Shape("matches of two words", lambda: repeat("vpn reset "), "reset", None),
    Shape("one letter a line", lambda: repeat("x\n"), "x", None),
    Shape("nested brackets", lambda: "[" * (SIZE // 2) + "]" * (SIZE // 2), None, "512,000 marks"),
    Shape("link openers", lambda: repeat("[a]("), "a", "512,000 marks"),
    Shape(
        "list nested on one line",
        lambda: repeat("- ") + "x",
        "x",
        "lists or quotes nested 256,000 levels deep at line 1",
    ),
    Shape(
        "list nested by indent",
        lambda: staircase(lambda d: "    " * d + "- x"),
        "x",
        "nested 21 levels deep at line 21",
    ),
    Shape("quotes nested on one line", lambda: repeat("> ") + "x", "x", "nested 256,000 levels deep at line 1"),
    Shape(
        "quotes nested by lines",
        lambda: staircase(lambda d: ">" * (d + 1) + " x"),
        "x",
        "nested 21 levels deep at line 21",
    ),
    Shape("definitions without blank lines", lambda: repeat("x\n: y\n"), "y", "85,334 blocks"),
    Shape("stars", lambda: repeat("*a "), "a", "too much Markdown"),
    Shape("nested emphasis", lambda: "*_" * (SIZE // 4) + "_*" * (SIZE // 4), None, "too much Markdown"),
    Shape("backticks", lambda: repeat("`a "), "a", "too much Markdown"),
    Shape("backslashes", lambda: "\\" * SIZE, None, "too much Markdown"),
    Shape(
        "long table",
        lambda: "| a | b |\n|---|---|\n" + repeat("| x | y |\n"),
        "x",
        "blocks (paragraphs, headings, table cells",
    ),
    Shape("angle brackets", lambda: "<" * SIZE, None, "too much Markdown"),
    Shape("tag openers on each line", lambda: repeat("x <a\n", 50_000), "x", "HTML tags without their closing >"),
    Shape("nested HTML", lambda: repeat("<div>", SIZE // 2) + repeat("</div>", SIZE // 2), None, "too much Markdown"),
    Shape("nested markdown HTML", lambda: repeat('<div markdown="1">\n', 20_000), None, 'markdown="1"'),
    Shape(
        "many footnotes",
        lambda: "".join(f"x[^{n}]\n\n[^{n}]: note {n}\n\n" for n in range(400)),
        "note",
        "more than 300 footnote",
    ),
    Shape("many headings", lambda: repeat("# Same\n\n"), "same", "128,000 blocks"),
    Shape("unclosed fences", lambda: "~~~text\n" * 600 + repeat("text ", 300_000), "text", "code fence lines"),
]


def source(body: str) -> Source:
    now = datetime.now(timezone.utc)
    return Source(1, "shape", "Shape", "", body, (), "", "internal", "published", now, None, 1)


@pytest.mark.parametrize("shape", SHAPES, ids=[s.name for s in SHAPES])
def test_any_shape_renders_indexes_and_snippets(shape):
    body = shape.body()
    problem = render.shape_problem(body)
    if shape.refused is None:
        assert problem is None
    else:
        assert problem is not None and shape.refused in problem
    rendered = render.render_article(body)
    assert rendered.problem == problem
    if problem:
        assert rendered.html.startswith('<div class="alert alert-warning">') and "<pre>" in rendered.html
    document = safe_document(source(body))
    assert isinstance(document, dict), document
    sections = [[s.heading, s.anchor, s.text] for s in rendered.sections]
    snippet = best_snippet(sections, Highlighter({shape.word or "absent"}), "fallback")
    assert ("<mark>" in snippet.html) == (shape.word is not None)


@pytest.mark.parametrize(
    "body, says",
    [
        (
            "Intro\n\n" + "".join("    " * d + "- step\n" for d in range(25)),
            "nested 21 levels deep at line 23; kb renders at most 20",
        ),
        ("Intro\n\n" + "> " * 30 + "quoted\n", "nested 30 levels deep at line 3"),
        ("a\n\n" + "[" * 25 + "x", "square brackets nested or left open 21 deep at line 3"),
        ("a\n\nb\n\n" + "<div>" * 150, "HTML elements left open or nested 101 deep at line 5 (<div>)"),
        ("# Glossary\n\n" + "term\n: meaning\n" * 30, "definition lists nested 21 deep at line 44"),
        ("a\n\n" + "[x](" + "word " * 120_000, "left open (or closed very far away), the worst at line 3"),
        ("a\n\n" + "`x " + "word " * 120_000, "left open (or closed very far away), the worst at line 3"),
        ("a\n\n" + "*a " * 20_000, "a paragraph too long for the marks in it at line 3"),
        ("x[^1]\n" * 301, "more than 300 footnote references and notes ([^...]), the next at line 301"),
        ("*[A]: b\n" * 101, "more than 100 abbreviation definitions (*[...]:), the next at line 101"),
    ],
    ids=[
        "list",
        "quote",
        "brackets",
        "html",
        "definitions",
        "link",
        "backticks",
        "paragraph",
        "footnotes",
        "abbreviations",
    ],
)
def test_a_refused_shape_is_named_with_its_line(body, says):
    problem = render.shape_problem(body)
    assert problem is not None and says in problem, problem


@pytest.mark.parametrize(
    "body",
    [
        "".join("    " * d + "- step\n" for d in range(20)),  # 20 levels: the limit itself
        "[![Screenshot](https://example.com/a.png)](https://example.com/a.png) and `a[0][1]` and <br>",
        "```xml\n" + "".join(" " * d + "<a>\n" for d in range(200)) + "```\n\n" + "- " * 3 + "x\n",
        "Use <https://example.com/reset> or mail <help@example.com>. " * 200,
        "Replace <username> and <server> in C:\\Users\\<username>\\AppData. " * 20,
    ],
    ids=["nesting at the limit", "links images code", "deep code in a fence", "autolinks", "placeholders"],
)
def test_ordinary_markdown_is_not_refused(body):
    assert render.shape_problem(body) is None


def _bodies(folder: Path) -> list[tuple[str, str]]:
    return [
        (path.name, path.read_text(encoding="utf-8").split("\n---\n", 1)[-1]) for path in sorted(folder.glob("*.md"))
    ]


def test_no_real_article_is_refused_even_many_of_them_together():
    articles = _bodies(STARTER) + _bodies(SHARED / "data" / "real-articles" / "articles")
    for name, body in articles:
        assert render.shape_problem(body) is None, name
    together = "\n\n".join(body for _, body in articles)[:SIZE]
    assert render.shape_problem(together) is None


HOSTILE = "- " * 30_000 + "needleword <script>alert(1)</script>\n"


def test_an_article_an_older_kb_let_in_shows_as_plain_text_and_is_found(starter_app):
    """A nested list an older kb saved (today's door refuses it) made the page and the index fail."""
    slug = "printer-shows-offline"
    with starter_app.app_context():
        session = get_session()
        session.execute(update(Article).where(Article.slug == slug).values(body=HOSTILE, version=2))
        changelog.record(session, [session.scalar(select(Article.id).where(Article.slug == slug))])
        session.commit()
    indexed(starter_app)
    agent = client_for(starter_app, "agent")
    page = agent.get(f"/articles/{slug}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "shown as plain text because its body has lists or quotes nested 30,000 levels deep" in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "<script>alert" not in text
    api = agent.get(f"/api/v1/articles/{slug}")
    assert api.status_code == 200 and "needleword" in api.get_json()["html"]
    found = agent.get("/api/v1/search", query_string={"q": "needleword"})
    assert [hit["slug"] for hit in found.get_json()["results"]] == [slug]


def test_a_body_an_older_kb_stored_with_a_lone_surrogate_renders_as_plain_text():
    rendered = render.render_article("Restart the router \ud800 first")
    assert rendered.problem == "could not be rendered (UnicodeEncodeError)"
    assert "Restart the router ? first" in str(rendered.html).encode("utf-8").decode("utf-8")
    assert rendered.text == "Restart the router ? first"
