"""Rendered Markdown is sanitized on every path that shows it: page, API and revisions."""

from __future__ import annotations

import pytest

from kb.render import render_article, to_html

ATTACKS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">click</a>',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](  javascript:alert(1))",
    '<iframe src="https://evil.example"></iframe>',
    "<svg onload=alert(1)></svg>",
    '<div onclick="alert(1)">x</div>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    '<object data="x.swf"></object>',
    '<embed src="x.swf">',
    "<style>body{display:none}</style>",
    '<form action="https://evil.example"><input name=q></form>',
    '<p style="background:url(javascript:alert(1))">x</p>',
    '<img src="x" onmouseover="alert(1)">',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<details open ontoggle=alert(1)>x</details>",
    '<meta http-equiv="refresh" content="0;url=https://evil.example">',
    '<base href="https://evil.example/">',
    "![x](javascript:alert(1))",
    "<scr<script>ipt>alert(1)</script>",
    '<a href="vbscript:msgbox(1)">x</a>',
]
FORBIDDEN = [
    "<script",
    "onerror",
    "onload",
    "onclick",
    "ontoggle",
    "onmouseover",
    "javascript:",
    "vbscript:",
    "<iframe",
    "<svg",
    "<object",
    "<embed",
    "<style",
    "<form",
    "<input",
    "<meta",
    "<base",
    "data:text/html",
    "style=",
]


def save(client, slug: str, body: str):
    response = client.submit(
        "/author/articles/new",
        {"title": f"Article {slug}", "slug": slug, "body": body, "status": "draft", "audience": "internal"},
        token_page="/author/articles/new",
    )
    assert response.status_code == 302, response.get_data(as_text=True)


@pytest.mark.parametrize("attack", ATTACKS)
def test_script_never_reaches_the_page_or_the_api(author, starter_app, attack):
    save(author, "attack", f"Before\n\n{attack}\n\nAfter\n")
    page = author.get("/articles/attack").get_data(as_text=True)
    body = page.split('<div class="prose">', 1)[1].split("<!-- /prose -->")[0].lower()
    api = author.get("/api/v1/articles/attack").get_json()["html"].lower()
    revision = author.get("/author/articles/attack/revisions/1").get_data(as_text=True)
    revision_body = revision.split('<div class="prose">', 1)[1].split("<!-- /prose -->")[0].lower()
    for html in (body, api, revision_body):
        for marker in FORBIDDEN:
            assert marker not in html, (attack, marker)


def test_tables_code_images_links_and_anchors_survive(author):
    body = (
        "## Resolution steps\n\n| Option | When |\n|---|---|\n| Restart | Always first |\n\n"
        "```powershell\nGet-Process | Sort-Object CPU\n```\n\n"
        "![Screenshot of the dialog](https://example.com/shot.png)\n\n"
        "[Related](https://example.com/page) and [mail](mailto:help@example.com)\n\n"
        "1. first\n2. second\n\n- a\n- b\n"
    )
    save(author, "rich", body)
    html = author.get("/api/v1/articles/rich").get_json()["html"]
    assert '<h2 id="resolution-steps">' in html and 'href="#resolution-steps"' in html
    assert "<table>" in html and "<td>Restart</td>" in html
    assert '<code class="language-powershell">' in html
    assert '<img alt="Screenshot of the dialog" src="https://example.com/shot.png">' in html
    assert 'href="https://example.com/page"' in html and 'rel="noopener noreferrer"' in html
    assert 'href="mailto:help@example.com"' in html
    assert "<ol>" in html and "<ul>" in html


def test_docfx_alerts_and_includes_render_readably(author):
    save(author, "docfx", "> [!NOTE]\n> Back up first.\n\n[!INCLUDE [](../includes/shared.md)]\n")
    html = author.get("/api/v1/articles/docfx").get_json()["html"]
    assert '<div class="alert alert-note">' in html and "Back up first." in html
    assert "[!NOTE]" not in html
    assert "Shared content not included in kb: <code>../includes/shared.md</code>" in html


def test_pages_send_a_content_security_policy(agent):
    response = agent.get("/")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_article_page_outlines_its_sections_for_jumping_during_a_call(author):
    body = (
        '# Printer offline\n\n## What the customer notices\n\n- "it says offline"\n\n'
        "## How to confirm\n\n### On Windows\n\nLook at the queue.\n\n## Resolution\n\nRestart the spooler.\n"
    )
    save(author, "outlined", body)
    page = author.get("/articles/outlined").get_data(as_text=True)
    outline = page.split('<nav class="outline"', 1)[1].split("</nav>", 1)[0]
    assert [line.split('">')[0] for line in outline.split('<a href="#')[1:]] == [
        "what-the-customer-notices",
        "how-to-confirm",
        "resolution",
    ]


def test_heading_links_are_named_after_their_heading():
    html = to_html("## Resolution *steps* & checks\n\nText.\n\n### Why `0x80070005`?\n\nMore.\n")
    assert 'aria-label="Link to section Resolution steps &amp; checks"' in html
    assert 'aria-label="Link to section Why 0x80070005?"' in html
    assert "Link to section" not in render_article("## Resolution\n\nText.\n").text, "names are not indexed"


def test_short_article_has_no_outline(author):
    save(author, "short", "Just one paragraph, nothing to jump between.\n")
    assert 'class="outline"' not in author.get("/articles/short").get_data(as_text=True)


def test_an_article_renders_the_same_after_any_other():
    """Rendering reuses a converter per thread: what one article defines (footnotes,
    abbreviations, link references, the outline) must never show up in the next one."""
    defines = (
        "# Setup\n\nThe VPN[^1] needs a [portal] address.\n\n[^1]: Virtual private network.\n\n"
        "*[VPN]: Virtual Private Network\n\n[portal]: https://portal.example.com\n"
    )
    uses = "# Other\n\nThe VPN is down and the [portal] link is plain text[^1].\n"
    alone = to_html(uses)
    to_html(defines)
    after = to_html(uses + "\n")  # a different text: the render cache must not answer for it
    assert after == alone
    assert "footnote" not in after and "<abbr" not in after and "portal.example.com" not in after
    assert 'id="setup"' not in after
