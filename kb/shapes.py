"""The Markdown shapes kb refuses to render, found in time linear in the body's length.

Python-Markdown does work that grows with the square of its input, or worse, on shapes any author
can type: brackets, backticks or HTML tags left open, lists and quotes nested hundreds deep,
thousands of marks in one paragraph. Even its steady cost, 20-90 µs per paragraph, list item,
heading or table cell, adds up to seconds in a 500 KB article made of nothing else. Every real
support article kb was tried on passes the limits below, even all 235 pasted into one 500 KB
body, and no body they accept took more than 0.75 s to render at 500 KB (benchmarks/hostile.py
measures both sides: real text of that size takes 0.5 s).

The scan first counts with regular expressions (which run in C); the Python loops that follow
visit only marks and paragraph breaks, of which there are then at most MAX_MARKS + MAX_ELEMENTS.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice

MAX_NESTING = 20  # lists, quotes, definition lists, `markdown` HTML blocks or square brackets
MAX_HTML_DEPTH = 100  # HTML elements open at once
MAX_ELEMENTS = 14_000  # paragraphs, headings, table cells, code blocks, list items and quotes by depth
MAX_MARKS = 52_000  # inline marks: * _ ` [ ] \ &, and < and ]( (3 each: a tag or link costs that)
MAX_FOOTNOTES = 300
MAX_ABBREVIATIONS = 100  # each word they name counts as a mark
# Python-Markdown reads the text after each `[`, link `(` and run of backticks again, a character
# at a time, up to what closes it (the paragraph's end when nothing does). Summed:
MAX_REREAD = 500_000
MAX_TAG_REREAD = 2_000_000  # the same for an HTML tag without its `>` (read by a regular expression)
MAX_COPIED = 500_000_000  # each mark of a paragraph copies the paragraph once: marks x length, summed
# A heading, rule or definition inside a paragraph splits it, and Python-Markdown tries every
# block pattern on the rest again: such lines x the paragraph's length, summed.
MAX_RESPLIT = 5_000_000
MAX_FENCE_REREAD = 10_000_000  # each fence line closing nothing makes the fence search read to the end

_MARKS = "*_`[]<\\&"
_SPACE_ONLY_LINE = re.compile(r"(?<=\n)[ \t]+\n")
_FENCE_LINE = re.compile(r"^(`{3,}|~{3,})(.*)$", re.MULTILINE)
_PLAIN_FENCE_INFO = re.compile(r"[ \t]*\.?[\w#.+-]*[ \t]*")  # what may follow an opening fence
_CONTAINER = re.compile(r"^[ \t]*+(?:(?:>|(?:[-*+]|\d{1,9}[.)])(?=[ \t\n]|$))[ \t]*+)++", re.MULTILINE)
_CONTAINER_MARK = re.compile(r">|(?:[-*+]|\d{1,9}[.)])(?=[ \t\n]|$)")
_DEEP_LINE = re.compile(r"^(?=[ \t>*+\-.)\d]{%d})" % (MAX_NESTING + 1), re.MULTILINE)
_BLOCK_LINE = re.compile(r"^ {0,3}(?:#|(?:[-*_=] *+){3,}+$|\[\^?[^\]\n]*+\]:|\*\[[^\]\n]*+\]:|<[a-zA-Z])", re.MULTILINE)
_DEFINITION = re.compile(r"^ {0,3}:[ \t]", re.MULTILINE)
_FOOTNOTE = re.compile(r"\[\^")
_ABBREVIATION = re.compile(r"^\*\[", re.MULTILINE)
_ABBREVIATION_NAME = re.compile(r"^\*\[([^\\\n]*?)\] ?:", re.MULTILINE)
# A line that splits its paragraph: a heading, a rule or setext underline, a definition of a
# reference, abbreviation or term.
_SPLIT = (
    r"(?P<split>(?m:^ {0,3}(?:#|(?:-[ \t]*+){3,}+$|(?:\*[ \t]*+){3,}+$|(?:_[ \t]*+){3,}+$|=++[ \t]*+$"
    r"|\*?\[[^\]\n]*+\]:|:[ \t])))"
)
_TOKEN = re.compile(_SPLIT + r"|\n\n++|\\[\s\S]|`++|\]\(|</?(?=[a-zA-Z])|[*_\[\]<&]")
_TAG = re.compile(r"""<([a-zA-Z][^\s/>]*+)(?:[\s/]++(?:[^\s/>=]++(?:\s*+=\s*+(?:"[^"]*+"|'[^']*+'|[^\s>]*+))?+)?+)*+""")
_TAG_NAME = re.compile(r"[a-z][a-z0-9-]*")
_END_TAG = re.compile(r"</([a-zA-Z][^\s/>]*+)")
_MARKDOWN_ATTRIBUTE = re.compile(r"\smarkdown\b", re.IGNORECASE)
# Elements that hold no others, or whose end tag HTML lets the next sibling imply.
_LEAF_TAGS = frozenset(
    "area base br col colgroup dd dt embed hr img input li link meta option p param rp rt source tbody td tfoot "
    "th thead tr track wbr".split()
)


def shape_problem(body: str) -> str | None:
    """Why kb will not render `body` as Markdown, completing "body ...", or None when it will.

    Linear in the body's length, so every save can afford it. The message says what to change,
    and at which line when one place is to blame.
    """
    prose = _without_fenced_code(_normalized(body))
    return (
        prose.problem
        or _nesting_problem(prose.text)
        or _size_problem(prose.text, prose.code_blocks)
        or _definition_problem(prose.text)
        or _InlineScan(prose.text).problem()
        or _fence_problem(prose)
    )


def _normalized(body: str) -> str:
    """The text as Python-Markdown reads it: one kind of line break, blank lines empty.

    Tabs stay: only indentation needs their width (see _nesting_problem).
    """
    text = body.replace("\r\n", "\n").replace("\r", "\n")
    return _SPACE_ONLY_LINE.sub("\n", text)


def _line(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


# --- fenced code ------------------------------------------------------------------------------


@dataclass
class _Prose:
    """A body with its fenced code blocks blanked out, fences too (line breaks kept: line numbers hold)."""

    text: str
    code_blocks: int = 0
    open_fences: int = 0  # fence lines the fence search tries and finds no end for
    problem: str | None = None


def _without_fenced_code(text: str) -> _Prose:
    """Blank out the fenced code blocks where Python-Markdown finds them.

    It pairs the first fence line that can open a block with the next line holding the same fence
    alone. From a fence line with `{...}` or `hl_lines=` on, which this does not mimic, the rest
    is checked as prose: more is checked, never less.
    """
    fences = list(_FENCE_LINE.finditer(text))
    if len(fences) > MAX_ELEMENTS:
        line = _line(text, fences[MAX_ELEMENTS].start())
        return _Prose(text, problem=f"has more than {MAX_ELEMENTS:,} code fence lines (``` or ~~~, line {line})")
    closers: dict[str, list[int]] = {}
    for index, fence in enumerate(fences):
        if not fence.group(2).strip(" \t"):
            closers.setdefault(fence.group(1), []).append(index)
    read = Counter[str]()  # closers of each fence already passed
    prose, parts, start, index = _Prose(text), [], 0, 0
    while index < len(fences):
        opener, info = fences[index], fences[index].group(2)
        if "{" in info or "hl_lines=" in info:
            break
        index += 1
        if not _PLAIN_FENCE_INFO.fullmatch(info):
            continue
        candidates = closers.get(opener.group(1), [])
        while read[opener.group(1)] < len(candidates) and candidates[read[opener.group(1)]] < index:
            read[opener.group(1)] += 1
        if read[opener.group(1)] == len(candidates):
            prose.open_fences += 1
            continue
        closer = fences[candidates[read[opener.group(1)]]]
        parts += [text[start : opener.start()], "\n" * text.count("\n", opener.start(), closer.end())]
        start, index = closer.end(), candidates[read[opener.group(1)]] + 1
        prose.code_blocks += 1
    prose.text = "".join(parts) + text[start:]
    return prose


def _fence_problem(prose: _Prose) -> str | None:
    if prose.open_fences * len(prose.text) <= MAX_FENCE_REREAD:
        return None
    most = max(1, MAX_FENCE_REREAD // len(prose.text))
    return (
        f"has {prose.open_fences:,} code fence lines (``` or ~~~) that no fence line closes; "
        f"kb renders at most {most:,} in an article this long"
    )


# --- how much there is ------------------------------------------------------------------------


def _size_problem(text: str, code_blocks: int) -> str | None:
    beyond = next(islice(_ABBREVIATION.finditer(text), MAX_ABBREVIATIONS, None), None)
    if beyond is not None:
        return (
            f"has more than {MAX_ABBREVIATIONS:,} abbreviation definitions (*[...]:), the next at line "
            f"{_line(text, beyond.start())}"
        )
    # A link or an HTML tag costs Python-Markdown about three times what an emphasis does.
    marks = sum(map(text.count, _MARKS)) + 2 * (text.count("<") + text.count("](")) + _abbreviations_used(text)
    # A list item or quote costs Python-Markdown once per level it is nested in: count the marks
    # and indentation at the start of each line (a space as a quarter level, as 4 make one).
    containers = "\n".join(_CONTAINER.findall(text))
    elements = (
        text.strip("\n").count("\n\n")  # Python-Markdown's blocks: even empty ones cost it
        + 1
        + len(_CONTAINER_MARK.findall(containers))
        + containers.count(" ") // 4
        + containers.count("\t")
        + len(_BLOCK_LINE.findall(text))
        + len(_DEFINITION.findall(text))
        + text.count("|")
        + code_blocks
    )
    if elements / MAX_ELEMENTS + marks / MAX_MARKS > 1:
        return (
            f"has too much Markdown to render quickly: {marks:,} marks (* _ ` [ ] \\ &, 3 for each < and ](, "
            f"1 for each abbreviation used) and {elements:,} blocks (paragraphs, headings, table cells, code "
            f"blocks, list items and quotes by depth); kb renders at most {MAX_MARKS:,} marks or "
            f"{MAX_ELEMENTS:,} blocks, or a mix in proportion"
        )
    beyond = next(islice(_FOOTNOTE.finditer(text), MAX_FOOTNOTES, None), None)
    if beyond is not None:
        return (
            f"has more than {MAX_FOOTNOTES:,} footnote references and notes ([^...]), the next at line "
            f"{_line(text, beyond.start())}"
        )
    return None


def _abbreviations_used(text: str) -> int:
    """How many words Python-Markdown wraps in <abbr>: each costs it about what a mark does."""
    names = sorted({name.strip() for name in _ABBREVIATION_NAME.findall(text)} - {""}, key=len, reverse=True)
    if not names:
        return 0
    return len(re.findall(r"\b(?:%s)\b" % "|".join(map(re.escape, names)), text))


# --- how deep ---------------------------------------------------------------------------------


def _nesting_problem(text: str) -> str | None:
    """Lists and quotes nest by the marks and indentation at the start of a line."""
    for candidate in _DEEP_LINE.finditer(text):
        prefix = _CONTAINER.match(text, candidate.start())
        if prefix is None:
            continue
        marks = prefix.group(0)
        indent = marks[: len(marks) - len(marks.lstrip(" \t"))].expandtabs(4)
        depth = len(indent) // 4 + len(_CONTAINER_MARK.findall(marks))
        if depth > MAX_NESTING:
            return (
                f"has lists or quotes nested {depth:,} levels deep at line {_line(text, prefix.start())}; "
                f"kb renders at most {MAX_NESTING}"
            )
    return None


def _definition_problem(text: str) -> str | None:
    """Python-Markdown nests a term and definition that follow a definition without a blank line."""
    depth, after_last = 0, 0
    for definition in _DEFINITION.finditer(text):
        start = definition.start()
        if text.find("\n\n", after_last, start) >= 0:
            depth = 0
        previous = text[text.rfind("\n", 0, max(start - 1, 0)) + 1 : max(start - 1, 0)]
        if previous and not _DEFINITION.match(previous):
            depth += 1
        after_last = start
        if depth > MAX_NESTING:
            return (
                f"has definition lists nested {depth:,} deep at line {_line(text, start)} (a term and "
                f"definition right after a definition go inside it); kb renders at most {MAX_NESTING}: "
                "leave a blank line between definitions"
            )
    return None


# --- inline marks, paragraph by paragraph -----------------------------------------------------


@lru_cache(maxsize=64)
def _backtick_run(length: int) -> re.Pattern[str]:
    return re.compile(r"(?<!`)`{%d}(?!`)" % length)


class _InlineScan:
    """Estimate, paragraph by paragraph, what Python-Markdown's inline patterns read again."""

    def __init__(self, text: str):
        self.text = text
        self.start, self.end = 0, -1  # the current paragraph (its end found when first needed)
        self.marks = 0
        self.brackets: list[int] = []
        self.reread, self.reread_at = 0, (0, 0)  # total, (largest contribution, its position)
        self.tag_reread, self.tag_reread_at = 0, (0, 0)
        self.copied, self.copied_at = 0, (0, 0)
        self.splits = 0  # headings, rules and definitions inside the current paragraph
        self.resplit, self.resplit_at = 0, (0, 0)
        self.skip_to = 0  # the end of a code span or HTML tag: Python-Markdown hides what is inside
        self.tag_to = 0  # the end of the last HTML tag read (one left open goes on over the text)
        self.open_tags = Counter[str]()  # HTML elements open, by name
        self.markdown_tags = Counter[str]()  # those of them with a `markdown` attribute
        self.depth = self.markdown_depth = 0

    def problem(self) -> str | None:
        for token in _TOKEN.finditer(self.text):
            position, kind = token.start(), token.group(0)
            if kind.startswith("\n"):
                self._paragraph_ends(position)
                self.start, self.end = token.end(), -1
            elif token.lastgroup == "split":
                self.splits += 1
            elif position >= self.skip_to:
                problem = self._token(position, kind)
                if problem:
                    return problem
            if self.reread > MAX_REREAD or self.tag_reread > MAX_TAG_REREAD:
                break
        self._paragraph_ends(len(self.text))
        return self._budget_problem()

    def _paragraph_end(self) -> int:
        if self.end < 0:
            found = self.text.find("\n\n", self.start)
            self.end = found if found >= 0 else len(self.text)
        return self.end

    def _token(self, position: int, kind: str) -> str | None:
        self.marks += 1
        if kind[0] == "`":
            self._backticks(position, len(kind))
        elif kind == "[":
            self.brackets.append(position)
            if len(self.brackets) > MAX_NESTING:
                return (
                    f"has square brackets nested or left open {len(self.brackets):,} deep at line "
                    f"{_line(self.text, position)}; kb renders at most {MAX_NESTING}: close them, or write \\["
                )
        elif kind[0] == "]":
            if self.brackets:
                opened = self.brackets.pop()
                self._add_reread(position - opened, opened)
            if kind == "](":
                self._link(position + 2)
        elif kind == "<":
            return self._start_tag(position)
        elif kind == "</":
            self._end_tag(position)
        return None

    def _add_reread(self, characters: int, position: int) -> None:
        self.reread += characters
        self.reread_at = max(self.reread_at, (characters, position))

    def _backticks(self, position: int, length: int) -> None:
        """A run of backticks opens a code span up to the next run of the same length, if any."""
        end = self._paragraph_end()
        closing = _backtick_run(length).search(self.text, position + length, end)
        if closing is None:
            self._add_reread(end - position, position)
        else:
            self._add_reread(closing.start() - position, position)
            self.skip_to = closing.end()

    def _link(self, start: int) -> None:
        """A link's `(`: Python-Markdown reads on to its `)`, counting nested ones and minding quotes.

        Where other parentheses or quotes come first, this counts up to the paragraph's end.
        """
        end = self._paragraph_end()
        close = self.text.find(")", start, end)
        if close < 0 or any(self.text.find(c, start, close) >= 0 for c in "(\"'"):
            close = end
        self._add_reread(close - start, start)

    def _start_tag(self, position: int) -> str | None:
        """An HTML tag: Python-Markdown's HTML parser reads on to its `>`, and from each `<` inside."""
        tag = _TAG.match(self.text, position) if position >= self.tag_to else None
        if tag is None:
            return None
        inner = self.text.count("<", position + 1, tag.end())
        self.tag_reread += (inner + 1) * (tag.end() - position)
        self.tag_reread_at = max(self.tag_reread_at, ((inner + 1) * (tag.end() - position), position))
        self.tag_to = tag.end()
        complete = self.text.startswith(">", tag.end())
        if complete and not inner:
            self.skip_to = tag.end() + 1  # raw HTML, kept from the inline patterns
        name = tag.group(1).lower()
        if (
            not complete
            or not _TAG_NAME.fullmatch(name)  # <https://example.com> is a link
            or name in _LEAF_TAGS
            or self.text[tag.end() - 1] == "/"
        ):
            return None
        self.open_tags[name] += 1
        self.depth += 1
        if _MARKDOWN_ATTRIBUTE.search(tag.group(0)):
            self.markdown_tags[name] += 1
            self.markdown_depth += 1
        if self.depth > MAX_HTML_DEPTH:
            what, depth, most = "HTML elements", self.depth, MAX_HTML_DEPTH
        elif self.markdown_depth > MAX_NESTING:
            what, depth, most = 'HTML blocks with markdown="1"', self.markdown_depth, MAX_NESTING
        else:
            return None
        return (
            f"has {what} left open or nested {depth:,} deep at line {_line(self.text, position)} (<{name}>); "
            f"kb renders at most {most}"
        )

    def _end_tag(self, position: int) -> None:
        end_tag = _END_TAG.match(self.text, position)
        name = end_tag.group(1).lower() if end_tag else ""
        if self.open_tags[name] > 0:
            self.open_tags[name] -= 1
            self.depth -= 1
            if self.markdown_tags[name] > self.open_tags[name]:
                self.markdown_tags[name] -= 1
                self.markdown_depth -= 1

    def _paragraph_ends(self, end: int) -> None:
        for start in self.brackets:
            self._add_reread(end - start, start)
        self.brackets = []
        copied, resplit = self.marks * (end - self.start), self.splits * (end - self.start)
        self.copied += copied
        self.copied_at = max(self.copied_at, (copied, self.start))
        self.resplit += resplit
        self.resplit_at = max(self.resplit_at, (resplit, self.start))
        self.marks = self.splits = 0

    def _budget_problem(self) -> str | None:
        if self.reread > MAX_REREAD:
            return (
                f"has square brackets, link parentheses or backticks left open (or closed very far away), "
                f"the worst at line {_line(self.text, self.reread_at[1])}: close them, or write \\[ \\( \\`"
            )
        if self.tag_reread > MAX_TAG_REREAD:
            return (
                f"has HTML tags without their closing > (many < inside one tag), the worst at line "
                f"{_line(self.text, self.tag_reread_at[1])}: close them, or write &lt; for a <"
            )
        if self.resplit > MAX_RESPLIT:
            return (
                f"has a paragraph with many headings, rules or definitions inside it at line "
                f"{_line(self.text, self.resplit_at[1])}: leave a blank line before and after each"
            )
        if self.copied > MAX_COPIED:
            return (
                f"has a paragraph too long for the marks in it at line {_line(self.text, self.copied_at[1])}: "
                "split it with blank lines, or put it in a code block (```)"
            )
        return None
