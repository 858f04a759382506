"""Links from one article to another, as authors write them in Markdown.

Three spellings point at an article: `[[slug]]`, `[[slug|the words to show]]`, and an ordinary
link whose target is a bare slug (`[Print jobs stuck](print-jobs-stuck-in-queue)`), which is how
the starter articles and most imported ones link. A bare slug is relative, so it only worked on
the article page itself; the renderer turns every one of them into the article's own address
(`ARTICLE_PATH` + slug), which works from any page, and the checks list the ones that lead
nowhere. Both read links through this module, so they never disagree about what is a link.
"""

from __future__ import annotations

import re
from typing import Iterator

ARTICLE_PATH = "/articles/"

_SLUG = r"[a-z0-9]+(?:-[a-z0-9]+)*"
# [[slug]] or [[slug|label]]; the label is one line without brackets.
WIKI_LINK = re.compile(r"\[\[(" + _SLUG + r")(?:#([\w-]{1,100}))?(?:\|([^\[\]|\n]{1,200}))?\]\]")
_HREF = re.compile(r"(?:" + re.escape(ARTICLE_PATH) + r"|\./|\.\./)?(" + _SLUG + r")(#[\w-]{1,100})?")
# The target of an inline Markdown link: ](target) or ](target "title").
_MARKDOWN_TARGET = re.compile(r"\]\(\s*<?([^\s()<>]{1,300})>?(?:\s+\"[^\"\n]*\")?\s*\)")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def slug_of_href(href: str) -> tuple[str, str] | None:
    """(slug, "#anchor" or "") when `href` points at an article, else None.

    An article address is a bare slug, `./slug`, `../slug` or `/articles/slug`, each with an
    optional anchor. Anything with a scheme, a dot or a slash elsewhere (a file, a web page) is not.
    """
    match = _HREF.fullmatch(href)
    return (match.group(1), match.group(2) or "") if match else None


def label_of(slug: str) -> str:
    """The words shown for `[[slug]]` without a label: the slug read as words."""
    words = slug.replace("-", " ")
    return words[:1].upper() + words[1:]


def internal_links(markdown: str) -> Iterator[tuple[str, int]]:
    """Every (slug, line number) an article's Markdown links to, outside code, in order.

    One pass over the lines; code fences and inline code spans are skipped, as the renderer skips them.
    """
    for number, line in lines_outside_code(markdown):
        if line is None or "[" not in line:
            continue
        text = _without_code_spans(line)
        for match in WIKI_LINK.finditer(text):
            yield match.group(1), number
        for match in _MARKDOWN_TARGET.finditer(text):
            target = slug_of_href(match.group(1))
            if target:
                yield target[0], number


def lines_outside_code(markdown: str) -> Iterator[tuple[int, str | None]]:
    """(line number, line) for every line, the line None where it is a code fence or inside one."""
    fence = ""
    for number, line in enumerate(markdown.splitlines(), start=1):
        opening = _FENCE.match(line)
        if fence or opening:
            if not fence:
                fence = opening.group(1)
            elif opening and opening.group(1)[0] == fence[0] and len(opening.group(1)) >= len(fence):
                fence = ""
            yield number, None
        else:
            yield number, line


_CODE_SPAN = re.compile(r"(`+)[^`]*?\1")


def _without_code_spans(line: str) -> str:
    return _CODE_SPAN.sub("", line) if "`" in line else line
