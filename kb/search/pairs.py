"""Which pairs of neighbouring words an article holds, as a small Bloom filter per article.

A pasted message earns a bonus when an article holds its words in the typed order (see
kb.search.engine). That was checked with a regular expression on the stored text of up to 100
articles holding all the words, most of which do not hold them in that order: reading and
decoding their stored text was a third of a sentence's search time. Each article's filter (about
a byte per distinct pair, a column of the index) rules most of them out first, with no false
"no": an article whose text matches the expression holds every pair of neighbouring typed words
in one of the texts the expression reads (the title, each section), so its filter has their bits.
The few articles left are still checked against their text, so the bonus stays exact.
"""

from __future__ import annotations

import hashlib
import re
from typing import Iterable, Sequence

import numpy as np

# Bits per distinct pair, rounded up to a power of two per article, and bits set per pair:
# about 2% of absent pairs pass one filter, and a phrase of three words has two pairs.
BITS_PER_PAIR, PROBES = 8, 4
MIN_BITS = 64
# Words as the expression sees them (kb.search.query: `\w+` apart from `\W+`), case folded.
_WORD = re.compile(r"\w+")


def pair_filter(texts: Iterable[str]) -> bytes:
    """The filter of every pair of neighbouring words within each of `texts` (not across them)."""
    keys = set()
    for text in texts:
        keys.update(_pairs([w.casefold() for w in _WORD.findall(text)]))
    if not keys:
        return b""
    size = max(MIN_BITS, 1 << (BITS_PER_PAIR * len(keys) - 1).bit_length())
    bits = np.zeros(size, dtype=bool)
    bits[(_probes(_hashes(list(keys))) & np.uint64(size - 1)).astype(np.int64).ravel()] = True
    return np.packbits(bits, bitorder="little").tobytes()


class Probe:
    """The pairs of a sequence of typed words, to test against many articles' filters."""

    def __init__(self, words: Sequence[str]):
        # Each pair's probes before they are cut to a filter's size: one AND per article then.
        self._probes = _probes(_hashes(_pairs([w.casefold() for w in words])))

    def may_hold(self, article_filter: bytes) -> bool:
        """False when the article surely lacks one of the pairs; True when it may hold them all
        (always, for an article indexed without a filter)."""
        if not article_filter or not self._probes.size:
            return True
        positions = (self._probes & np.uint64(len(article_filter) * 8 - 1)).astype(np.int64)
        octets = np.frombuffer(article_filter, dtype=np.uint8)[positions >> 3]
        return bool(((octets >> (positions & 7).astype(np.uint8)) & 1).all())


def _pairs(words: Sequence[str]) -> list[str]:
    return [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]


def _hashes(keys: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Two independent 32-bit hashes per key, stable across processes (Python's `hash` is not)."""
    digests = b"".join(hashlib.blake2b(k.encode("utf-8"), digest_size=8).digest() for k in keys)
    both = np.frombuffer(digests, dtype="<u4").astype(np.uint64)
    return both[0::2], both[1::2] | 1  # an odd step visits PROBES distinct bits of a power of two


_PROBE_STEPS = np.arange(PROBES, dtype=np.uint64)


def _probes(hashes: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """The PROBES bit numbers of each key, before they are cut to a filter's size (a power of
    two: the low bits of each): shape (keys, PROBES)."""
    first, step = hashes
    return first[:, None] + _PROBE_STEPS[None, :] * step[:, None]
