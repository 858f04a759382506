"""Ranking metrics shared by the benchmarks.

Each function takes one query's ranked document ids and its set of relevant ids, so the same
code scores kb and any baseline. Gains are binary: the judgments only say relevant or not.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

CUTOFF = 10
RECALL_DEPTH = 3


def first_relevant_rank(ranked: Sequence[str], relevant: set[str]) -> int | None:
    """1-based rank of the first relevant document, None when none was returned."""
    for position, doc_id in enumerate(ranked, start=1):
        if doc_id in relevant:
            return position
    return None


def reciprocal_rank(ranked: Sequence[str], relevant: set[str], k: int = CUTOFF) -> float:
    """1/rank of the first relevant document within the top k (0 when it is not there)."""
    rank = first_relevant_rank(ranked[:k], relevant)
    return 1.0 / rank if rank else 0.0


def ndcg(ranked: Sequence[str], relevant: set[str], k: int = CUTOFF) -> float:
    """nDCG@k with binary gains and a log2(rank + 1) discount."""
    dcg = sum(1.0 / math.log2(rank + 1) for rank, doc_id in enumerate(ranked[:k], start=1) if doc_id in relevant)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(len(relevant), k) + 1))
    return dcg / ideal if ideal else 0.0


def recall(ranked: Sequence[str], relevant: set[str], k: int = RECALL_DEPTH) -> float:
    """Share of the relevant documents found in the top k (with one per query: success@k)."""
    return len(relevant.intersection(ranked[:k])) / len(relevant) if relevant else 0.0


METRICS = {
    f"MRR@{CUTOFF}": reciprocal_rank,
    f"nDCG@{CUTOFF}": ndcg,
    f"Recall@{RECALL_DEPTH}": recall,
}


def evaluate(runs: Mapping[str, Sequence[str]], qrels: Mapping[str, set[str]]) -> dict[str, float]:
    """Mean of every metric over the judged queries (a judged query with no run scores 0)."""
    judged = [query_id for query_id, relevant in qrels.items() if relevant]
    return {
        name: sum(metric(runs.get(query_id, []), qrels[query_id]) for query_id in judged) / len(judged)
        for name, metric in METRICS.items()
    }


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (q in 0..100) with linear interpolation between ranks (numpy's default).

    Every benchmark reports percentiles through this one function, so their figures compare.
    """
    if not values:
        return float("nan")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def distribution(values: Sequence[float]) -> dict[str, float]:
    """p50, p95, p99 and the maximum of a list of timings."""
    return {f"p{q}": round(percentile(values, q), 3) for q in (50, 95, 99)} | {
        "max": round(max(values, default=0.0), 3)
    }
