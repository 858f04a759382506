"""Reading a customer's whole message (or a call transcript) for the problem it mentions.

Pasted into search, a chatty e-mail is a query of a hundred words where the problem is one
sentence among greetings and stories: every word counts the same, and the article that shares
the most of them wins. Suggest reads it the way an agent would:
- the message is cut into windows of a few sentences, and an article is as close in meaning as
  its closest window, so one sentence about the problem is enough;
- of its words, only the few the knowledge base finds most telling (rare in the index, repeated
  in the message) are searched as words.

All of it is bounded: MAX_CHARS of text, MAX_WINDOWS vectors and MAX_KEYWORDS words per message,
whatever is pasted.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

from kb.search import semantic
from kb.search.query import QUERY_STOP_WORDS, stems, words
from kb.search.schema import code_tokens

MAX_CHARS = 20_000
MAX_WINDOWS = 64
WINDOW_WORDS = 25
MAX_KEYWORDS = 16
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
# "Agent:", "Customer:", "Sam (10:02):" at the start of a transcript's line or sentence.
_SPEAKER = re.compile(r"^\s*[\w .'()-]{1,30}:\s+")


@dataclass
class Reading:
    """What suggest takes from a message."""

    windows: list[str]
    vectors: np.ndarray  # (len(windows) + 1, 256): each window's, then the whole message's
    words: dict[str, tuple[str, str]]  # word to search -> (index field, term): a stem or a code


def read(text: str, doc_frequency, doc_count: int) -> Reading:
    """Windows and their vectors, and the telling words (by `doc_frequency(stem)` in the index)."""
    said = sentences(text[:MAX_CHARS])
    windows = windows_of(said)
    vectors = semantic.embed(windows) if windows else np.zeros((0, semantic.DIMENSIONS), np.float32)
    vectors = vectors[np.linalg.norm(vectors, axis=1) > 0]
    return Reading(windows, vectors, telling_words(" ".join(said), doc_frequency, doc_count))


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


def telling_words(text: str, doc_frequency, doc_count: int) -> dict[str, tuple[str, str]]:
    """The MAX_KEYWORDS words of `text` that say most about which article it needs.

    Each word is weighed by its rarity in the index (idf) and how often the message repeats it;
    words the index does not hold, and conversational ones, are left out. Error codes always
    count: they are the most exact thing a customer can quote.
    """
    codes = list(dict.fromkeys(code_tokens(text)))[:MAX_KEYWORDS]
    counts: Counter[str] = Counter()
    surface: dict[str, str] = {}
    for word in words(text):
        if word in QUERY_STOP_WORDS or len(word) < 3 or word.isdigit():
            continue
        analyzed = stems(word)
        if len(analyzed) != 1:
            continue
        counts[analyzed[0]] += 1
        surface.setdefault(analyzed[0], word)
    weighed = []
    for stem, count in counts.items():
        frequency = doc_frequency(stem)
        if frequency:
            weighed.append((math.log(1 + doc_count / frequency) * (1 + math.log(count)), stem))
    weighed.sort(key=lambda pair: (-pair[0], pair[1]))
    chosen = {code: ("codes", code) for code in codes}
    for _, stem in weighed[: MAX_KEYWORDS - len(chosen)]:
        chosen[surface[stem]] = ("text", stem)
    return chosen
