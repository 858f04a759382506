"""Reading a customer's whole message (or a call transcript) for the problem it mentions.

Pasted into search, a chatty e-mail is a query of a hundred words where the problem is one
sentence among greetings and stories: every word counts the same, and the article sharing the
most of them wins. Suggest reads it the way an agent would: in windows of a few sentences, each
scored like a search (words and meaning), and an article is as good as its best window. So one
sentence about the problem is enough, and the small talk around it cannot add up.

All of it is bounded, whatever is pasted: MAX_CHARS of text, MAX_WINDOWS vectors, and words
scored for MAX_SCORED_WINDOWS windows (the ones closest in meaning to some article, and any
quoting an error code).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from kb.search import semantic
from kb.search.query import QUERY_STOP_WORDS, stems, words
from kb.search.schema import code_tokens

MAX_CHARS = 20_000
MAX_WINDOWS = 64
WINDOW_WORDS = 25
MAX_SCORED_WINDOWS = 6
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
# "Agent:", "Customer:", "Sam (10:02):" at the start of a transcript's line or sentence.
_SPEAKER = re.compile(r"^\s*[\w .'()-]{1,30}:\s+")


@dataclass
class Reading:
    """A message cut into windows, with each window's vector (rows aligned with the windows)."""

    windows: list[str]
    vectors: np.ndarray  # (len(windows), 256), unit rows


def read(text: str, *, meaning: bool = True) -> Reading:
    """The message's windows that carry any meaning, and their vectors (zeros without `meaning`:
    the windows are then scored by their words alone)."""
    windows = windows_of(sentences(text[:MAX_CHARS]))
    if not meaning:
        return Reading(windows, np.zeros((len(windows), semantic.DIMENSIONS), dtype=np.float32))
    vectors = semantic.embed(windows) if windows else np.zeros((0, semantic.DIMENSIONS), dtype=np.float32)
    kept = np.flatnonzero(np.linalg.norm(vectors, axis=1) > 0)
    return Reading([windows[i] for i in kept], vectors[kept])


def to_score(reading: Reading, similarity: np.ndarray, allowed: np.ndarray) -> list[int]:
    """The windows worth scoring by their words: every one of a short message; of a long one,
    those quoting an error code, then those closest in meaning to some article the reader may see."""
    count = len(reading.windows)
    if count <= MAX_SCORED_WINDOWS:
        return list(range(count))
    closest = np.where(allowed[:, None], similarity, -1.0).max(axis=0) if len(similarity) else np.zeros(count)
    quoting = [i for i in range(count) if code_tokens(reading.windows[i])]
    ranked = quoting + [int(i) for i in np.argsort(-closest, kind="stable") if int(i) not in quoting]
    return sorted(ranked[:MAX_SCORED_WINDOWS])


def words_of(window: str) -> dict[str, tuple[str, str]]:
    """The window's words worth naming as matched: word -> (index field, term)."""
    found: dict[str, tuple[str, str]] = {code: ("codes", code) for code in code_tokens(window)}
    for word in words(window):
        if word in QUERY_STOP_WORDS or len(word) < 3 or word.isdigit() or word in found:
            continue
        analyzed = stems(word)
        if len(analyzed) == 1:
            found[word] = ("text", analyzed[0])
    return found


def sentences(text: str) -> list[str]:
    """The message's sentences, each once, without a transcript's speaker labels.

    A transcript repeats its small talk ("okay", "one moment"); said twice, it counts once.
    """
    found: dict[str, str] = {}
    for piece in _SENTENCE_END.split(text):
        sentence = _SPEAKER.sub("", piece or "").strip()
        if sentence:
            found.setdefault(" ".join(words(sentence)), sentence)
    return list(found.values())


def windows_of(sentences: list[str]) -> list[str]:
    """Consecutive sentences grouped to about WINDOW_WORDS words, at most MAX_WINDOWS groups."""
    total = sum(len(s.split()) for s in sentences)
    size = max(WINDOW_WORDS, math.ceil(total / MAX_WINDOWS))
    windows: list[str] = []
    current: list[str] = []
    length = 0
    for sentence in sentences:
        count = len(sentence.split())
        if current and length + count > size:
            windows.append(" ".join(current))
            current, length = [], 0
        current.append(sentence)
        length += count
    if current:
        windows.append(" ".join(current))
    return windows[:MAX_WINDOWS]
