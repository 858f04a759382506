"""Meaning: static word vectors that let a search find an article sharing no word with the query.

Customers and authors name the same problem differently ("can't get into my mail" against
"Outlook sign-in fails"); BM25F only sees shared words. kb embeds every article (and each of its
sections) with wordllama's static embeddings when it indexes it, and the query when it searches;
the engine fuses the cosine with the BM25F score (kb.search.engine).

The model ships inside the `wordllama` wheel (a 16 MB safetensors file and the tokenizer's JSON),
so it is loaded from the installed package with downloads disabled: kb never touches the network
at run time. wordllama's own `embed` pads every batch to its longest text, which for one long
article costs tokens x 256 floats per text of the batch; pooling by token counts instead keeps
the work and memory linear in the text and bounded by the vocabulary.
"""

from __future__ import annotations

import itertools
import os
import threading
from pathlib import Path
from typing import Sequence

import numpy as np
from threadpoolctl import threadpool_limits

# The tokenizer's own thread pool would compete with the index writer's worker processes (and
# warn after a fork); kb parallelizes by process where it needs to.
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# So would BLAS's: numpy's OpenBLAS starts a thread per core for every matrix product and keeps
# them spinning after it, which for a search's one product of 10,000 vectors burned as much CPU
# again as the whole search (measured: a process's CPU per 1,000 searches halved with one thread).
threadpool_limits(limits=1, user_api="blas")

DIMENSIONS = 256
CONFIG = "l2_supercat"
# Text past this many characters adds little meaning to a vector and only costs time.
MAX_CHARS = 100_000
# Sections embedded per article (the rest share the last vector's place: the article vector
# still covers them).
MAX_SECTIONS = 48
# The title's share of an article's vector: customers describe what the title names.
TITLE_WEIGHT = 1.0
# Distinct words whose token ids each process keeps (a few tens of MB at most).
MAX_CACHED_WORDS = 200_000
# Stored vectors are float16 (half the index space); searches use float32.
STORED = np.float16
VECTOR_BYTES = DIMENSIONS * np.dtype(STORED).itemsize


class ModelMissing(RuntimeError):
    """The wordllama package or its shipped files are not installed."""


class Model:
    """wordllama's token embeddings and tokenizer, read from the installed package."""

    def __init__(self) -> None:
        try:
            import wordllama
            from wordllama import WordLlama
        except ImportError as exc:  # pragma: no cover - a declared dependency
            raise ModelMissing(f"the wordllama package is not installed ({exc}): pip install kb") from exc
        folder = Path(wordllama.__file__).parent
        try:
            loaded = WordLlama.load(config=CONFIG, dim=DIMENSIONS, cache_dir=folder, disable_download=True)
        except FileNotFoundError as exc:
            raise ModelMissing(f"wordllama's shipped files are missing in {folder}: {exc}") from exc
        self.table = np.ascontiguousarray(loaded.embedding, dtype=np.float32)
        self.tokenizer = loaded.tokenizer
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        # word -> its token ids. Only read or grown (dict.update): safe across threads.
        self._words: dict[str, tuple[int, ...]] = {}

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One unit vector per text (zeros for a text without tokens), float32, shape (n, 256)."""
        return _units(self.totals(texts))

    def totals(self, texts: Sequence[str]) -> np.ndarray:
        """Each text's sum of token vectors (its direction is the text's meaning), shape (n, 256).

        Text is tokenized word by word, each distinct word once per process (a Zipf law makes
        the cache hit almost always): the tokenizer has no pre-tokenizer, so on a whole article
        it runs its merges over one 3,000-character word (5 ms; this takes well under 1).
        Lowercased: the tokenizer is case-sensitive, customers type in any case.
        """
        split = [text[:MAX_CHARS].lower().split() for text in texts]
        ids = self._token_ids({word for words in split for word in words})
        tokens: list[int] = []
        starts: list[int] = []
        for words in split:
            starts.append(len(tokens))
            for word in words:
                tokens += ids[word]
        result = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        if not tokens:
            return result
        bounds = np.asarray(starts + [len(tokens)])
        filled = np.flatnonzero(bounds[1:] > bounds[:-1])  # reduceat would misread empty texts
        result[filled] = np.add.reduceat(self.table[np.asarray(tokens, dtype=np.int64)], bounds[filled], axis=0)
        return result

    def _token_ids(self, words: set[str]) -> dict[str, tuple[int, ...]]:
        known = self._words
        missing = [word for word in words if word not in known]
        if not missing:
            return known
        encoded = self.tokenizer.encode_batch(missing, add_special_tokens=False)
        new = {word: tuple(e.ids) for word, e in zip(missing, encoded, strict=True)}
        room = MAX_CACHED_WORDS - len(known)
        if room > 0:
            known.update(itertools.islice(new.items(), room))
        return known if len(new) <= room else {**{w: known[w] for w in words if w in known}, **new}


_model: Model | None = None
_loading = threading.Lock()


def model() -> Model:
    """This process's model, loaded on first use (about 0.2 s; 32 MB)."""
    global _model
    if _model is None:
        with _loading:
            if _model is None:
                _model = Model()
    return _model


def embed(texts: Sequence[str]) -> np.ndarray:
    return model().embed(texts)


def article_vectors(title: str, summary: str, sections: Sequence[tuple[str, str]]) -> tuple[bytes, bytes]:
    """(article vector, section vectors) as stored in the index.

    The article's vector leans on its title (half the weight: a customer's sentence paraphrases
    the problem the title names; measured on the relevance dev set). Each section is embedded
    with its heading, so the passage that matched can be shown; the article's words are the
    sections' together, tokenized once.
    """
    totals = model().totals([title, summary] + [f"{heading}\n{text}" for heading, text in sections])
    article = _unit(TITLE_WEIGHT * _unit(totals[0]) + _unit(totals.sum(axis=0)))
    return article.astype(STORED).tobytes(), _units(totals[2 : 2 + MAX_SECTIONS]).astype(STORED).tobytes()


def decode(data: bytes | None) -> np.ndarray:
    """Stored bytes -> float32 rows of DIMENSIONS (an empty matrix for none)."""
    if not data:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    return np.frombuffer(data, dtype=STORED).astype(np.float32).reshape(-1, DIMENSIONS)


def _units(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return np.divide(rows, norms, out=np.zeros_like(rows), where=norms > 0)


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector
