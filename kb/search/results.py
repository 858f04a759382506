"""What a search returns: plain data, never Whoosh objects."""

from __future__ import annotations

from dataclasses import dataclass, field

from markupsafe import Markup


@dataclass(frozen=True)
class Filters:
    product: str | None = None
    tag: str | None = None
    audience: str | None = None

    def items(self) -> list[tuple[str, str]]:
        return [(k, v) for k, v in (("product", self.product), ("tag", self.tag), ("audience", self.audience)) if v]


@dataclass
class SearchHit:
    slug: str
    title: str
    title_html: Markup
    summary: str
    snippet: Markup
    section: str
    anchor: str
    tags: list[str]
    product: str
    audience: str
    status: str
    updated: str
    verified: str
    score: float
    by_meaning: bool = False  # found more by similar meaning than by shared words
    weak: bool = False  # below the confident results (see kb.search.fusion.confident)
    matched: list[str] = field(default_factory=list)  # suggest: the message's words it holds


@dataclass
class FacetValue:
    value: str
    count: int


@dataclass
class SearchPage:
    query: str
    total: int  # exact below CANDIDATES; at CANDIDATES, "at least" (see total_exact)
    took_ms: float
    hits: list[SearchHit] = field(default_factory=list)
    facets: dict[str, list[FacetValue]] = field(default_factory=dict)
    suggestion: str | None = None
    filters: Filters = field(default_factory=Filters)
    total_exact: bool = True
    confident: int = 0  # how many of the ranked results are confident matches (the rest are weak)
    # Of took_ms, what meaning cost: embedding the query, its cosine with every article, and the
    # sections' cosines that choose the passages shown (not the fusion of the two rankings).
    meaning_ms: float = 0.0

    @property
    def server_timing(self) -> str:
        """The Server-Timing header: where the time went, for browser developer tools and
        benchmarks/latency.py, which measures the semantic part per query from it."""
        return f"search;dur={self.took_ms}, meaning;dur={self.meaning_ms}"
