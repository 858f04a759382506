"""Markdown in, safe HTML and searchable text out: the one rendering pipeline of kb.

The article page, the preview and the API all call `render_article`, so one sanitizer test
covers them all. Python-Markdown does not sanitize, so its output always goes through nh3 with an
allow-list; only nh3's output ever becomes `Markup`.
"""

from __future__ import annotations

import logging
import re
import threading
import xml.etree.ElementTree as etree
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache, lru_cache
from html import unescape

import markdown
import nh3
from markdown.extensions import Extension
from markdown.inlinepatterns import InlineProcessor
from markdown.preprocessors import Preprocessor
from markdown.treeprocessors import Treeprocessor
from markupsafe import Markup, escape

from kb import links
from kb.shapes import shape_problem

__all__ = ["RenderedArticle", "Section", "render_article", "sanitize", "shape_problem", "to_html"]

log = logging.getLogger(__name__)

EXTENSIONS = ["extra", "sane_lists", "toc"]
EXTENSION_CONFIGS = {"toc": {"permalink": "#", "permalink_class": "anchor", "permalink_title": "Link to this section"}}

# Headings whose section holds the customer's own words; searched with extra weight.
PHRASING_HEADINGS = {"what the customer notices", "symptoms", "symptom", "what customers notice"}

ALERT_KINDS = ("note", "tip", "important", "warning", "caution")

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "details", "div", "dl", "dt",
    "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p",
    "pre", "s", "small", "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot",
    "th", "thead", "tr", "u", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title", "id", "aria-label"},
    "abbr": {"title"},
    "img": {"src", "alt", "title", "width", "height"},
    "code": {"class"},
    "td": {"align", "colspan", "rowspan"},
    "th": {"align", "colspan", "rowspan"},
    "ol": {"start"},
    "li": {"id"},
    "sup": {"id"},
    **{f"h{n}": {"id"} for n in range(1, 7)},
}
ALLOWED_CLASSES = {
    "a": {"anchor", "footnote-ref", "footnote-backref"},
    "div": {"alert", "footnote", *(f"alert-{kind}" for kind in ALERT_KINDS)},
    "p": {"alert-title", "kb-include"},
}
URL_SCHEMES = {"http", "https", "mailto"}


@dataclass
class Section:
    """A part of an article under one heading, as plain text (the text before any heading has none)."""

    heading: str
    anchor: str
    text: str
    level: int = 0


@dataclass
class RenderedArticle:
    html: Markup
    sections: list[Section] = field(default_factory=list)
    # Why the body is shown as plain text instead (see shape_problem), completing "body ...".
    problem: str | None = None

    @property
    def text(self) -> str:
        return "\n".join(s.text for s in self.sections)

    @property
    def outline(self) -> list[Section]:
        """The top-level sections an agent jumps between during a call ("How to confirm", ...)."""
        headed = [s for s in self.sections if s.heading and s.anchor]
        levels = sorted({s.level for s in headed})
        # A lone title heading ("# Wi-Fi keeps dropping") is not an outline: use the level below it.
        top = next((lv for lv in levels if sum(s.level == lv for s in headed) > 1), levels[0] if levels else 0)
        return [s for s in headed if s.level == top]

    @property
    def headings(self) -> list[str]:
        return [s.heading for s in self.sections if s.heading]

    @property
    def phrasings(self) -> str:
        """The customer's words: the 'What the customer notices' (or 'Symptoms') sections."""
        return "\n".join(s.text for s in self.sections if s.heading.strip().lower() in PHRASING_HEADINGS)


def render_article(md_text: str) -> RenderedArticle:
    """Render Markdown to sanitized HTML and split it into plain-text sections for the index.

    Never raises and never takes long: a body of a shape kb refuses (an older database may hold
    one) or that fails to render comes back as its own text, escaped, with `problem` saying why.
    """
    html, problem = _rendered(md_text)
    if problem is not None:
        return RenderedArticle(html=html, sections=[Section("", "", _tidy(_encodable(md_text)))], problem=problem)
    return RenderedArticle(html=html, sections=_sections_of(str(html)))


def to_html(md_text: str) -> Markup:
    """Render Markdown to sanitized HTML (as render_article does, without the sections)."""
    return _rendered(md_text)[0]


# A save renders the body to check it, then again for its answer; the index writer renders it
# once more, and every view of a popular article would too. The same text renders the same, so
# the last few renders are kept: at most RENDER_CACHE bodies (24 MB if every one is 500 KB).
RENDER_CACHE = 16


@lru_cache(maxsize=RENDER_CACHE)
def _rendered(md_text: str) -> tuple[Markup, str | None]:
    problem = shape_problem(md_text)
    if problem is None:
        try:
            return Markup(sanitize(_markdown_html(md_text))), None
        except Exception as exc:  # noqa: BLE001  the article page and the index must go on
            log.warning("Markdown failed to render a body of %d characters: %s", len(md_text), type(exc).__name__)
            problem = f"could not be rendered ({type(exc).__name__})"
    return _plain_text_html(md_text, problem), problem


# One Markdown converter per thread: building one (loading and registering every extension) was
# a tenth of rendering an article, and `kb reindex` renders every article.
_converters = threading.local()


def _markdown_html(md_text: str) -> str:
    converter = getattr(_converters, "markdown", None)
    if converter is None:
        converter = markdown.Markdown(
            extensions=[*EXTENSIONS, DocFxExtension(), ArticleLinksExtension()], extension_configs=EXTENSION_CONFIGS
        )
    _converters.markdown = None  # a conversion that raises leaves no half-used converter behind
    # reset() clears what the last article left (footnotes, abbreviations, references, toc).
    html = converter.reset().convert(md_text)
    _converters.markdown = converter
    return html


def _plain_text_html(md_text: str, problem: str) -> Markup:
    """The body as preformatted text under a note saying why (escaped: safe without the sanitizer)."""
    note = escape(f"This article is shown as plain text because its body {problem}.")
    return Markup(
        f'<div class="alert alert-warning"><p class="alert-title">Warning</p><p>{note}</p></div>'
        f"<pre>{escape(_encodable(md_text))}</pre>"
    )


def _encodable(text: str) -> str:
    """`text` with what UTF-8 cannot encode (a lone surrogate an older kb stored) shown as "?"."""
    return text.encode("utf-8", "replace").decode("utf-8")


def sanitize(html: str) -> str:
    return _cleaner().clean(html)


@cache
def _cleaner() -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=ALLOWED_TAGS,
        clean_content_tags={"script", "style"},
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=_filter_attribute,
        url_schemes=URL_SCHEMES,
        allowed_classes=ALLOWED_CLASSES,
        link_rel="noopener noreferrer",
    )


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    if tag == "code" and attribute == "class":
        # Fenced code keeps only its `language-xyz` marker.
        return value if re.fullmatch(r"language-[\w+#.-]{1,30}", value) else None
    return value


# --- DocFX-flavoured Markdown found in real support articles ------------------------------------

_INCLUDE = re.compile(r"^(\s*)\[!INCLUDE\s*\[[^\]]*\]\(([^)]*)\)\]\s*$", re.IGNORECASE)
_TRIPLE_COLON_IMAGE = re.compile(r":::image\s+([^:]*?):::", re.IGNORECASE)
_NO_LOC = re.compile(r':::no-loc\s+text="([^"]*)":::', re.IGNORECASE)
_ATTR = re.compile(r'([\w-]+)="([^"]*)"')
_ALERT_MARK = re.compile(r"^\s*\[!(%s)\]\s*" % "|".join(ALERT_KINDS), re.IGNORECASE)


class DocFxExtension(Extension):
    """Understand the DocFX conventions that real support articles use.

    `> [!NOTE]` alerts become styled notes, `:::image ...:::` becomes an image, and
    `[!INCLUDE ...]` (whose target is not part of kb) becomes a visible placeholder.
    """

    def extendMarkdown(self, md: markdown.Markdown) -> None:
        md.preprocessors.register(_DocFxLines(md), "kb_docfx_lines", 25)
        md.treeprocessors.register(_Alerts(md), "kb_alerts", 5)
        md.treeprocessors.register(_NamedPermalinks(md), "kb_named_permalinks", 3)


class ArticleLinksExtension(Extension):
    """Links between articles (see kb.links): `[[slug]]` becomes a link, and every link to a bare
    slug points at the article's own address, so it works from any page (history, preview, API)."""

    def extendMarkdown(self, md: markdown.Markdown) -> None:
        md.inlinePatterns.register(_WikiLink(links.WIKI_LINK.pattern, md), "kb_wiki_link", 175)
        md.treeprocessors.register(_ArticleHrefs(md), "kb_article_hrefs", 4)


class _WikiLink(InlineProcessor):
    def handleMatch(self, m: re.Match[str], data: str) -> tuple[etree.Element, int, int]:  # noqa: N802
        slug, anchor, label = m.group(1), m.group(2), m.group(3)
        element = etree.Element("a", {"href": links.ARTICLE_PATH + slug + (f"#{anchor}" if anchor else "")})
        element.text = (label or links.label_of(slug)).strip()
        return element, m.start(0), m.end(0)


class _ArticleHrefs(Treeprocessor):
    def run(self, root: etree.Element) -> None:
        for anchor in root.iter("a"):
            target = links.slug_of_href(anchor.get("href", ""))
            if target:
                anchor.set("href", links.ARTICLE_PATH + target[0] + target[1])


class _DocFxLines(Preprocessor):
    def run(self, lines: list[str]) -> list[str]:
        return [self._line(line) for line in lines]

    @staticmethod
    def _line(line: str) -> str:
        if "[!" not in line and ":::" not in line:
            return line  # most lines: no need to try three expressions on them
        include = _INCLUDE.match(line)
        if include:
            return f"{include.group(1)}*(Shared content not included in kb: `{include.group(2).strip()}`)*"
        line = _NO_LOC.sub(lambda m: m.group(1), line)
        return _TRIPLE_COLON_IMAGE.sub(_image_markdown, line)


def _image_markdown(match: re.Match[str]) -> str:
    attrs = dict(_ATTR.findall(match.group(1)))
    alt = attrs.get("alt-text", "").replace("]", "")
    return f"![{alt}]({attrs.get('source', '').replace(' ', '%20')})"


class _NamedPermalinks(Treeprocessor):
    """Name each heading's "#" link after its heading: a screen reader's list of links would
    otherwise offer a row of identical "#". Runs after the toc extension, which adds the links and
    leaves each heading's plain-text name in `md.toc_tokens`."""

    def run(self, root: etree.Element) -> None:
        names = dict(_toc_names(getattr(self.md, "toc_tokens", [])))
        for permalink in root.iter("a"):
            name = names.get(permalink.get("href", "")[1:]) if permalink.get("class") == "anchor" else None
            if name:
                permalink.set("aria-label", f"Link to section {name}")


def _toc_names(tokens: list[dict]) -> Iterator[tuple[str, str]]:
    for token in tokens:
        yield token["id"], " ".join(unescape(token["name"]).split())
        yield from _toc_names(token.get("children", []))


class _Alerts(Treeprocessor):
    def run(self, root: etree.Element) -> None:
        for quote in list(root.iter("blockquote")):
            first = quote[0] if len(quote) else None
            mark = _ALERT_MARK.match(first.text or "") if first is not None and first.tag == "p" else None
            if mark is None:
                continue
            kind = mark.group(1).lower()
            first.text = (first.text or "")[mark.end() :]
            if not first.text.strip() and len(first) == 0:
                quote.remove(first)
            quote.tag = "div"
            quote.set("class", f"alert alert-{kind}")
            title = etree.Element("p", {"class": "alert-title"})
            title.text = kind.capitalize()
            quote.insert(0, title)


# --- plain text for the index -------------------------------------------------------------------

_BLOCK_TAGS = {"p", "li", "pre", "tr", "blockquote", "div", "dt", "dd", "br", "table", "details", "summary", "hr"}
_SECTION_TAGS = {"h1", "h2", "h3", "h4"}


# nh3's output is well formed: every `<` starts a tag, attribute values are double-quoted (and may
# hold `>`), and comments are gone. Reading it with one expression is several times faster than
# html.parser, which counts lines and columns as it goes.
_HTML_PIECE = re.compile(r'<(/?)([a-zA-Z][a-zA-Z0-9]*)((?:[^>"]|"[^"]*")*)>|[^<]+')
_HTML_ATTRIBUTE = re.compile(r'([^\s=/>]+)="([^"]*)"')


def _unescaped(text: str) -> str:
    """The text of escaped HTML; nh3 writes only these five references, which str.replace undoes fast."""
    if "&" not in text:
        return text
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&nbsp;", "\xa0")
    return text.replace("&amp;", "&") if _OTHER_REFERENCE.search(text) is None else unescape(text)


_OTHER_REFERENCE = re.compile(r"&(?!amp;)")


class _SectionCollector:
    """Walk sanitized HTML and collect the text under each heading."""

    def __init__(self) -> None:
        self.sections: list[Section] = [Section("", "", "")]
        self._parts: list[str] = []
        self._heading: list[str] | None = None
        self._anchor = ""
        self._level = 0
        self._skip = 0

    def feed(self, html: str) -> None:
        for piece in _HTML_PIECE.finditer(html):
            closing, tag, attributes = piece.groups()
            if tag is None:
                self.handle_data(_unescaped(piece.group(0)))
            elif closing:
                self.handle_endtag(tag.lower())
            else:
                found = _HTML_ATTRIBUTE.findall(attributes)
                self.handle_starttag(tag.lower(), [(name, unescape(value)) for name, value in found])

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "a" and attributes.get("class") == "anchor":
            self._skip += 1
        elif tag in _SECTION_TAGS:
            self._close_section()
            self._heading, self._anchor, self._level = [], attributes.get("id") or "", int(tag[1])
        elif tag in _BLOCK_TAGS:
            self._parts.append("\n")
        elif tag in {"td", "th"}:
            self._parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._skip:
            self._skip -= 1
        elif tag in _SECTION_TAGS and self._heading is not None:
            heading = " ".join("".join(self._heading).split())
            self.sections.append(Section(heading, self._anchor, "", self._level))
            self._heading = None

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        (self._heading if self._heading is not None else self._parts).append(data)

    def _close_section(self) -> None:
        self.sections[-1].text = _tidy("".join(self._parts))
        self._parts = []

    def close(self) -> None:
        self._close_section()


def _tidy(text: str) -> str:
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def _sections_of(html: str) -> list[Section]:
    collector = _SectionCollector()
    collector.feed(html)
    collector.close()
    return [s for s in collector.sections if s.heading or s.text]
