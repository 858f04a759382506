"""Show an agent why a result matched: the best passage, its section, the matched words marked.

Whoosh's highlighter re-analyzes whole documents and costs tens of milliseconds per page of
results. Here one compiled regex finds candidate words in the stored plain-text sections of the
top results only; each candidate is confirmed by stemming just that word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice
from typing import Sequence

from markupsafe import Markup, escape
from whoosh.lang.porter import stem

SNIPPET_WIDTH = 240
# Matches looked at per result: an article repeating a word 100,000 times would otherwise cost
# every search that shows it a quarter of a second (a real article has tens).
MAX_MATCHES = 2_000
# A section's cosine with the query counts as this many distinct matched words: a section close
# in meaning (0.6) outweighs a single word repeated elsewhere.
SIMILAR_WEIGHT = 3.0
# The same words come back result after result: each is stemmed once (bounded: a flood of odd
# words only pushes out the oldest).
_stem = lru_cache(maxsize=50_000)(stem)


@dataclass
class Snippet:
    html: Markup
    heading: str = ""
    anchor: str = ""


class Highlighter:
    """Finds the query's words (in any inflection) in text."""

    def __init__(self, terms: set[str]):
        self.terms = {t.lower() for t in terms if t}
        self._longest_word = 2 * max(map(len, self.terms), default=0) + 20
        ordered = sorted(self.terms, key=len, reverse=True)
        # Each alternative begins with its first letter, then asks that no word character came
        # before that letter: a pattern that begins with letters lets the regex engine skip
        # ahead to them, where one that begins with a lookbehind tries every position (twice as
        # slow on a page of results). Run on lowercased text; with IGNORECASE when lowercasing
        # changes the length, so the positions would not be the text's.
        alternatives = "|".join(re.escape(t[0]) + r"(?<!\w.)" + re.escape(t[1:]) for t in ordered)
        self._source = r"(?:%s)[\w.]*" % alternatives if alternatives else None
        self._lowercase = re.compile(self._source) if self._source else None
        self._any_case: re.Pattern[str] | None = None

    def spans(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, matched term) of each query word in `text` (among its first MAX_MATCHES candidates)."""
        return self._spans(text, MAX_MATCHES)[0]

    def _spans(self, text: str, limit: int) -> tuple[list[tuple[int, int, str]], int]:
        """The spans among the first `limit` candidate words in `text`, and how many candidates were read."""
        if self._lowercase is None:
            return [], 0
        lowered = text.lower()
        if len(lowered) == len(text):
            text, pattern = lowered, self._lowercase
        else:
            pattern = self._any_case = self._any_case or re.compile(self._source, re.IGNORECASE)
        found, candidates = [], list(islice(pattern.finditer(text), limit))
        for match in candidates:
            word = match.group(0).rstrip(".").lower()
            # Stemming only takes off a short suffix: a far longer word (a pasted blob) is none of ours.
            key = word if word in self.terms or len(word) > self._longest_word else _stem(word)
            if key in self.terms:
                found.append((match.start(), match.start() + len(word), key))
        return found, len(candidates)

    def mark(self, text: str) -> Markup:
        """Escape `text` and wrap each query word in <mark>."""
        out: list[str] = []
        position = 0
        for start, end, _ in self.spans(text):
            out += [escape(text[position:start]), "<mark>", escape(text[start:end]), "</mark>"]
            position = end
        out.append(escape(text[position:]))
        return Markup("".join(out))  # every piece of text escaped above: joined as it is


def best_snippet(
    sections: Sequence[Sequence[str]],
    highlighter: Highlighter,
    fallback: str,
    similar: Sequence[float] | None = None,
) -> Snippet:
    """The passage of the section that matches the most distinct query words.

    With `similar` (each section's cosine with the query's meaning), meaning counts as well:
    a section that says the same thing in other words can win over one that only repeats a word.
    """
    best: tuple[float, int] | None = None
    best_section = None
    left = MAX_MATCHES  # for all the sections together
    for number, (heading, anchor, text) in enumerate(sections):
        spans, read = highlighter._spans(text, left) if left > 0 else ([], 0)
        left -= read
        meaning = similar[number] if similar is not None and number < len(similar) else None
        if not spans and meaning is None:
            continue
        score = (len({term for _, _, term in spans}) + SIMILAR_WEIGHT * max(0.0, meaning or 0.0), len(spans))
        if best is None or score > best:
            best, best_section = score, (heading, anchor, text, spans)
    if best_section is None:
        return Snippet(escape(_shorten(fallback, SNIPPET_WIDTH)))
    heading, anchor, text, spans = best_section
    if not spans:
        return Snippet(escape(_shorten(text, SNIPPET_WIDTH)), heading, anchor)
    start, end = _window(text, spans)
    passage = ("…" if start > 0 else "") + text[start:end].strip() + ("…" if end < len(text) else "")
    return Snippet(highlighter.mark(passage), heading, anchor)


def _window(text: str, spans: list[tuple[int, int, str]]) -> tuple[int, int]:
    """The SNIPPET_WIDTH-character window holding the most distinct matched words."""
    best_start = _densest_start(spans)
    # Begin a little before the first match, at a word boundary (or the start of its line).
    line_start = text.rfind("\n", 0, best_start) + 1
    start = max(line_start, best_start - 60)
    if start > line_start:
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < best_start else start
    end = min(len(text), start + SNIPPET_WIDTH)
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > best_start else end
    return start, end


def _densest_start(spans: list[tuple[int, int, str]]) -> int:
    """Where the window with the most distinct matched words starts (the first such, at a match).

    One pass with a window sliding over the matches in order, counting the terms inside it: an
    article repeating one word 100,000 times costs 100,000 steps, not their square.
    """
    best_start, best_count = spans[0][0], 0
    inside: dict[str, int] = {}
    end = 0  # spans[i:end] start within the window of spans[i]
    for i, (start, _, _) in enumerate(spans):
        while end < len(spans) and spans[end][0] < start + SNIPPET_WIDTH - 20:
            inside[spans[end][2]] = inside.get(spans[end][2], 0) + 1
            end += 1
        if len(inside) > best_count:
            best_start, best_count = start, len(inside)
        term = spans[i][2]
        inside[term] -= 1
        if not inside[term]:
            del inside[term]
    return best_start


def _shorten(text: str, width: int) -> str:
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    cut = text.rfind(" ", 0, width)
    return text[: cut if cut > 0 else width] + "…"
