"""Fusing the two rankers: BM25F over words, and cosine over meaning.

They miss different articles (the customer's words and the author's share nothing, or the
vectors blur two close topics), so the candidates are the union of both rankers' best, scored
as the BM25F score's share of the best one plus a weighted cosine. Error codes and quoted
phrases are exact asks: the articles holding them all rank above every other. Next come the
articles holding the typed words verbatim (a pasted error message): static word vectors blur
"Microsoft Access cannot open this file" into "you don't have access to this file", and the
article quoting the message must not lose to that.

The constants are fitted on the relevance dev set only (benchmarks/relevance.py); the held-out
half checks that they carry over.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# The cosine's weight beside the BM25F share (0..1).
MEANING_WEIGHT = 2.0
# The most similar articles that join the text matches, if at least MEANING_FLOOR similar:
# under that a vector says little (a nonsense word still has a nearest article).
MEANING_CANDIDATES = 20
MEANING_FLOOR = 0.2
# A result scoring under this share of the best (tier aside) is a weak match; so is one found by
# meaning alone that is less similar than CONFIDENT_SIMILARITY (static word vectors put
# "printer offline" 0.30 from "paper jam in the tray", and 0.34 from a true paraphrase).
WEAK_SHARE = 0.6
CONFIDENT_SIMILARITY = 0.5


@dataclass(frozen=True)
class Fused:
    """One candidate: its final score, and what it owes to words and to meaning."""

    docnum: int
    score: float  # lexical + MEANING_WEIGHT x similarity; `exact` ranks above it
    lexical: float  # BM25F share of the best text match, 0..1 (0: found by meaning alone)
    similarity: float  # cosine with the query (or the closest window of a message)
    exact: bool  # holds every code and quoted phrase asked for (always False if none was)
    verbatim: bool = False  # holds the typed words in the typed order

    @property
    def by_meaning(self) -> bool:
        """Whether meaning brought more of its score than the shared words did."""
        return MEANING_WEIGHT * self.similarity > self.lexical


def fuse(
    lexical: np.ndarray,
    lexical_top: list[tuple[float, int]],
    similarity: np.ndarray | None,
    allowed: np.ndarray,
    exact: np.ndarray | None,
    verbatim: frozenset[int] = frozenset(),
) -> list[Fused]:
    """The candidates, scored (before the quality prior), in no particular order.

    `lexical`: every document's BM25F score; `lexical_top`: the best of them as (score, docnum);
    `similarity`: every document's cosine (None: meaning is not used); `allowed`: the documents
    the searcher may see (status, filters, not deleted); `exact`: the documents holding every
    code and quoted phrase (None: the query has none); `verbatim`: the documents holding the
    typed words in order.
    """
    best = lexical_top[0][0] if lexical_top else 0.0
    candidates = [docnum for _, docnum in lexical_top] + sorted(verbatim)
    if similarity is not None:
        # An exact ask is a restriction when some article meets it: meaning only reorders those.
        candidates += _most_similar(similarity, allowed if exact is None else allowed & exact)
    result = []
    for docnum in dict.fromkeys(candidates):
        share = float(lexical[docnum]) / best if best > 0 else 0.0
        cosine = float(similarity[docnum]) if similarity is not None else 0.0
        holds = bool(exact is not None and exact[docnum])
        score = share + MEANING_WEIGHT * max(0.0, cosine)
        result.append(Fused(docnum, score, share, cosine, holds, docnum in verbatim))
    return result


def _most_similar(similarity: np.ndarray, allowed: np.ndarray) -> list[int]:
    scores = np.where(allowed, similarity, -1.0)
    count = min(MEANING_CANDIDATES, len(scores))
    if not count:
        return []
    best = np.argpartition(-scores, count - 1)[:count]
    return [int(d) for d in best if scores[d] >= MEANING_FLOOR]


def ordered(scored: list[tuple[float, Fused]]) -> list[tuple[float, Fused]]:
    """Best first: the articles holding the asked-for codes and phrases, then those holding the
    typed words verbatim, then by score."""
    return sorted(scored, key=lambda pair: (not pair[1].exact, not pair[1].verbatim, -pair[0], pair[1].docnum))


def confident(ranked: list[tuple[float, Fused]]) -> int:
    """How many of `ranked` (see `ordered`) are confident matches: the rest are weak.

    Weak: under WEAK_SHARE of the best score, outside the best's tier (when a code was asked for,
    an article without it is a weak match however similar), or found by meaning alone and not
    similar enough to be sure.
    """
    if not ranked:
        return 0
    top, first = ranked[0]
    for position, (score, fused) in enumerate(ranked):
        unsure = fused.lexical == 0 and fused.similarity < CONFIDENT_SIMILARITY
        if unsure or fused.exact != first.exact or score < WEAK_SHARE * top:
            return position
    return len(ranked)
