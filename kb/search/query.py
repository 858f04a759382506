"""Turn what an agent types into a query plan for kb.search.scorer.

An agent types the customer's words mid-call: half-words, typos, pasted error codes, whole
sentences. The query is built as concepts (a word, a quoted phrase, a code, a synonym span), each
a clause whose alternatives add up:
- exact words count fully; typo corrections (only for words the index does not know) and
  prefix completions of the word still being typed count less, so they never outrank exact matches;
- codes are also looked up whole in the `codes` field, with a strong boost, and the last one also
  as the start of longer codes ("0x8007" finds 0x80070005), which count far less;
- synonyms from the vocabulary add the group's other phrasings, slightly discounted;
- the typed words in order (a pasted message) earn a bonus, checked on the candidates only.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Iterable, Protocol, Sequence

from rapidfuzz import process
from rapidfuzz.distance import OSA
from whoosh import query as wq
from whoosh.reading import IndexReader

from kb.models import Status
from kb.search.schema import (
    PUBLISHED_SPELLING,
    UNPUBLISHED_SPELLING,
    code_tokens,
    phrase_analyzer,
    spelling_analyzer,
    text_analyzer,
)
from kb.search.scorer import Alternative, Clause, Word

CODE_BOOST = 6.0
TITLE_BOOST = 1.0

SYNONYM_WEIGHT = 0.8
TYPO_WEIGHT = 0.5
PREFIX_WEIGHT = 0.8
MAX_PREFIX_TERMS = 8
MAX_TYPO_TERMS = 3
MIN_PREFIX_LENGTH = 2
# A code's completions: longer codes starting with the typed one ("0x8007" -> 0x80070005). They
# count far less than the whole code, so the article citing exactly what was typed comes first.
CODE_PREFIX_WEIGHT = 0.25
MAX_CODE_PREFIX_TERMS = 50
MIN_CODE_PREFIX_LENGTH = 4
PHRASE_FIELDS = ("title", "body")
# Two words in a row are common and costly to check everywhere; a pasted message has more, and
# an error message read out whole runs past a dozen words (Outlook's "connection to Microsoft
# Exchange is unavailable" has 17).
MIN_PHRASE_TERMS, MAX_PHRASE_TERMS = 3, 40
# Conversational words that carry no meaning in a long, sentence-style query.
# Quantifiers and restrictors ("only", "same", "other", "more") stay: in a how-to question they
# often carry the point ("send only to me", "the same file").
QUERY_STOP_WORDS = frozenset(
    """i im i'm me my mine myself our ours you your he she they them their its it's there here
    what which who whom whose why how where when do does did doing done am was were been being
    has had having get gets got getting would could should shall might must can cannot
    some about into onto over under then than so such too
    please hi hello thanks thank help want wanted need needs trying try tried way ways know
    able something anything thing things possible""".split()
)
SENTENCE_LENGTH = 4
_PHRASE = re.compile(r'"([^"]+)"|“([^”]+)”')
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass
class Concept:
    """One unit of meaning in the query and the term sequences that may express it."""

    surface: str
    alternatives: list[tuple[tuple[str, ...], float]] = field(default_factory=list)
    code: str | None = None
    code_completions: list[str] = field(default_factory=list)  # indexed codes starting with `code`
    completions: list[str] = field(default_factory=list)  # being typed: indexed words starting with it
    quoted: bool = False
    phrase: wq.Query | None = None  # quoted: the articles must hold the words in this order


@dataclass
class QueryPlan:
    clauses: list[Clause]
    concepts: list[Concept]
    corrections: dict[str, str]  # typed word -> the close word the index knows
    highlight: set[str]  # stems and words to mark in snippets
    in_order: re.Pattern[str] | None = None  # the typed words in order (a pasted message): a bonus
    in_order_terms: tuple[str, ...] = ()  # their stems: an article must hold all to hold the phrase
    in_order_words: tuple[str, ...] = ()  # the typed words themselves (see kb.search.pairs)

    @property
    def is_empty(self) -> bool:
        return not self.clauses


@lru_cache(maxsize=1)
def _analyzers():
    return text_analyzer(), spelling_analyzer(), phrase_analyzer()


def phrase_terms(text: str) -> list[str]:
    """Analyze `text` as the index analyzes the positional (phrase) fields: stop words kept."""
    return [t.text for t in _analyzers()[2](text)]


def stems(text: str) -> tuple[str, ...]:
    """Analyze `text` as the index analyzes text fields."""
    return tuple(t.text for t in _analyzers()[0](text))


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def terms_of(text: str) -> set[str]:
    """The stems, words and codes of `text`: what a query could possibly match in it."""
    return set(stems(text)) | set(words(text)) | set(code_tokens(text))


class Vocabulary:
    """Synonym groups, matched against the query's words (longest phrase first)."""

    def __init__(self, groups: Iterable[Sequence[str]] = ()):
        self._groups: dict[tuple[str, ...], list[str]] = {}
        for group in groups:
            members = [m for m in (" ".join(words(p)) for p in group) if m]
            for member in members:
                key = tuple(member.split())
                self._groups.setdefault(key, [])
                self._groups[key] += [m for m in members if m != member and m not in self._groups[key]]
        self._longest = max((len(k) for k in self._groups), default=0)

    def match(self, tokens: Sequence[str], start: int) -> tuple[int, list[str]]:
        """Return (length, other phrasings) of the longest entry starting at `tokens[start]`."""
        for length in range(min(self._longest, len(tokens) - start), 0, -1):
            others = self._groups.get(tuple(tokens[start : start + length]))
            if others:
                return length, others
        return 0, []


class Lexicon(Protocol):
    """Where the terms of a field come from (a Scorer keeps them per segment)."""

    def terms_starting(self, fieldname: str, letter: str) -> Iterable[str]: ...

    def holds(self, fieldname: str, text: str, *, among: str | None = None) -> bool: ...


class Dictionary:
    """The words a search may complete or correct to: only those of articles the caller may read.

    An agent must never be offered "leeds office" for "leedz office" when "Leeds" is found only in
    a draft about redundancies: each status group has its own spelling field (see kb.search.schema).
    """

    def __init__(self, reader: IndexReader, lexicon: Lexicon, fieldnames: Sequence[str] = (PUBLISHED_SPELLING,)):
        self.reader, self.lexicon, self.fieldnames = reader, lexicon, tuple(fieldnames)
        self.is_published_only = PUBLISHED_SPELLING in self.fieldnames and UNPUBLISHED_SPELLING not in self.fieldnames

    def is_known(self, word: str) -> bool:
        """Whether an article the caller may read holds `word`, as written or in its indexed form.

        The spelling fields keep words as written: when the articles only say "scanners" or
        "blurs", "scanner" and "blur" are no spelling terms, yet their stems are searched terms
        that find those articles. Both are read live (without deleted documents), and the stems
        only in the statuses the spelling fields stand for: a word that only a draft holds must not
        change what an agent is offered.
        """
        spelled = [t.text for t in _analyzers()[1](word)]
        if any(self._holds(name, term) for name in self.fieldnames for term in spelled):
            return True
        return any(self._holds("text", stem, readable=True) for stem in stems(word))

    def _holds(self, fieldname: str, term: str, *, readable: bool = False) -> bool:
        """Whether a live document holds `term` in `fieldname` (with `readable`, one the caller may read).

        Asked of the lexicon's postings kept per segment: opening Whoosh matchers for each typed
        word in every segment took a quarter of a sentence's search time.
        """
        among = Status.PUBLISHED.value if readable and self.is_published_only else None
        return self.lexicon.holds(fieldname, term, among=among)

    def frequency(self, word: str) -> int:
        """In how many readable articles `word` appears."""
        return sum(self.reader.doc_frequency(name, word) for name in self.fieldnames)

    def prefixed(self, prefix: str) -> Counter[str]:
        found: Counter[str] = Counter()
        for name in self.fieldnames:
            for term, info in self.reader.iter_prefix(name, prefix):
                found[term.decode("utf-8") if isinstance(term, bytes) else term] += info.doc_frequency()
        return found

    def within(self, word: str, max_edits: int) -> set[str]:
        """The terms within `max_edits` edits of `word` that begin with its first letter.

        Edits as Whoosh counts them (optimal string alignment: swapping two neighbours is one),
        computed by rapidfuzz over terms kept in memory: Whoosh's own `terms_within` walks the
        merged term dictionary of every segment in Python, most of a typo's search time.
        """
        found: set[str] = set()
        size = len(word)  # more letters apart than edits allowed cannot be close: not compared
        for name in self.fieldnames:
            terms = [t for t in self.lexicon.terms_starting(name, word[0]) if abs(len(t) - size) <= max_edits]
            found.update(
                t for t, _, _ in process.extract(word, terms, scorer=OSA.distance, score_cutoff=max_edits, limit=None)
            )
        return found


def build(
    text: str,
    reader: IndexReader,
    lexicon: Lexicon,
    vocabulary: Vocabulary | None = None,
    *,
    typing: bool = False,
    spelling: Sequence[str] = (PUBLISHED_SPELLING,),
    correct: bool = True,
) -> QueryPlan:
    """Build the query for `text`. With `typing`, the last word is still being typed: match it as a prefix.

    Completions and corrections come from the `spelling` fields: those of what the caller may read.
    Without `correct`, unknown words are not looked up for typos (a pasted message is full of
    names and small talk the index never holds, and each lookup walks the term dictionary).
    A single typed letter gives an empty plan: it would complete to most of the vocabulary.
    """
    if typing and len(text.strip()) < MIN_PREFIX_LENGTH:
        return QueryPlan([], [], {}, set())
    dictionary = Dictionary(reader, lexicon, spelling)
    vocabulary = vocabulary or Vocabulary()
    concepts = _concepts(text, vocabulary)
    is_sentence = sum(1 for c in concepts if not c.quoted and c.code is None) >= SENTENCE_LENGTH
    typing = typing and bool(text) and not text[-1].isspace() and not text.rstrip().endswith('"')
    corrections: dict[str, str] = {}
    highlight: set[str] = set()
    clauses: list[Clause] = []
    for position, concept in enumerate(concepts):
        if is_sentence and not concept.quoted and concept.code is None and concept.surface in QUERY_STOP_WORDS:
            continue
        last = position == len(concepts) - 1
        _expand(concept, dictionary, corrections, prefix=typing and last, correct=correct)
        if last and concept.code is not None and not concept.quoted:
            # Typed or pasted, a trailing code may be cut short: "0x8007" is how 0x80070005 begins.
            concept.code_completions = code_completions(reader, concept.code)
        clause = _clause(concept)
        if clause.alternatives:
            clauses.append(clause)
            highlight.update(_highlight_terms(concept))
    typed = _whole_phrase(concepts)
    if not typed:
        return QueryPlan(clauses, concepts, corrections, highlight)
    in_order = verbatim(typed)
    in_order_terms = stems(" ".join(c.surface for c in concepts if c.code is None))
    return QueryPlan(clauses, concepts, corrections, highlight, in_order, in_order_terms, typed)


def verbatim(typed: Sequence[str]) -> re.Pattern[str]:
    """The expression finding `typed` words in that order, with nothing but punctuation between."""
    return re.compile(r"(?<!\w)" + r"\W+".join(re.escape(w) for w in typed) + r"(?!\w)", re.IGNORECASE)


def _whole_phrase(concepts: list[Concept]) -> tuple[str, ...]:
    """The typed words in the typed order, as when an agent pastes an error message (or none).

    Checked with a regular expression on the stored text of the best candidates: a phrase query
    would walk every article holding all its words, stop words included.
    """
    if any(c.quoted for c in concepts):
        return ()
    typed = words(" ".join(c.surface for c in concepts if c.code is None))
    return tuple(typed) if MIN_PHRASE_TERMS <= len(typed) <= MAX_PHRASE_TERMS else ()


def _phrase(terms: list[str]) -> wq.Query:
    return wq.Or([wq.Phrase(f, terms) for f in PHRASE_FIELDS])


def _concepts(text: str, vocabulary: Vocabulary) -> list[Concept]:
    concepts: list[Concept] = []
    position = 0
    for match in _PHRASE.finditer(text):
        concepts += _word_concepts(text[position : match.start()], vocabulary)
        phrase = match.group(1) or match.group(2)
        terms = stems(phrase)
        if terms:
            concepts.append(Concept(phrase, [(terms, 1.0)], quoted=True, phrase=_phrase(phrase_terms(phrase))))
        position = match.end()
    concepts += _word_concepts(text[position:], vocabulary)
    return concepts


def _word_concepts(text: str, vocabulary: Vocabulary) -> list[Concept]:
    concepts: list[Concept] = []
    pieces: list[str] = []  # words of the non-code text, for synonym matching

    def flush() -> None:
        index = 0
        while index < len(pieces):
            length, others = vocabulary.match(pieces, index)
            length = length or 1
            surface = " ".join(pieces[index : index + length])
            alternatives = [(stems(surface), 1.0)] + [(stems(other), SYNONYM_WEIGHT) for other in others]
            alternatives = [(terms, weight) for terms, weight in alternatives if terms]
            concepts.append(Concept(surface, alternatives))
            index += length
        pieces.clear()

    for raw in text.split():
        codes = code_tokens(raw)
        if codes:
            flush()
            concepts.append(Concept(raw, [(stems(raw), 1.0)], code=codes[0]))
        else:
            pieces.extend(words(raw))
    flush()
    return concepts


def _expand(
    concept: Concept, dictionary: Dictionary, corrections: dict[str, str], *, prefix: bool, correct: bool = True
) -> None:
    """Add typo corrections and prefix completions to a single-word concept."""
    if concept.quoted or concept.code is not None or " " in concept.surface:
        return
    word = concept.surface
    completed = completions(dictionary, word) if prefix and len(word) >= MIN_PREFIX_LENGTH else []
    concept.completions = completed
    if completed and dictionary.frequency(word) == 0:
        concept.alternatives = concept.alternatives[1:]  # a fragment like "passw" is no word of its own
    for completion in completed:
        concept.alternatives.append((stems(completion), PREFIX_WEIGHT))
    # A word still being typed is not a typo while it is the start of known words.
    close = [] if completed or not correct else corrections_for(dictionary, word)
    if close:
        corrections[word] = close[0]
        for candidate in close:
            concept.alternatives.append((stems(candidate), TYPO_WEIGHT))
    concept.alternatives = [(terms, weight) for terms, weight in _dedupe(concept.alternatives) if terms]


def _dedupe(alternatives: list[tuple[tuple[str, ...], float]]) -> list[tuple[tuple[str, ...], float]]:
    best: dict[tuple[str, ...], float] = {}
    for terms, weight in alternatives:
        best[terms] = max(weight, best.get(terms, 0.0))
    return list(best.items())


def completions(dictionary: Dictionary, prefix: str) -> list[str]:
    """The most frequent indexed words that start with `prefix` (bounded: typing must stay fast)."""
    found = [(count, word) for word, count in dictionary.prefixed(prefix).items() if word.isalnum()]
    found.sort(reverse=True)  # "google.com" is no completion of "goog": only letters and digits
    return [term for _, term in found[:MAX_PREFIX_TERMS] if term != prefix]


def code_completions(reader: IndexReader, code: str) -> list[str]:
    """The most frequent indexed codes that start with `code`, longer than it (bounded, like completions)."""
    if len(code) < MIN_CODE_PREFIX_LENGTH:
        return []
    found = []
    for term, info in reader.iter_prefix("codes", code):
        term = term.decode("utf-8") if isinstance(term, bytes) else term
        if term != code:
            found.append((-info.doc_frequency(), term))
    found.sort()
    return [term for _, term in found[:MAX_CODE_PREFIX_TERMS]]


def corrections_for(dictionary: Dictionary, word: str) -> list[str]:
    """Close spellings the index knows, for a `word` it does not know, most frequent first.

    A word the articles hold is never corrected, however rare: "blur", "black" and "scanner" are
    what the agent meant, not typos of the far more common "blue", "back" and "scanned".
    One edit is allowed from 4 letters, two from 8; the first letter must agree, which is
    what people get right and what keeps the scan short.
    """
    if len(word) < 4 or not word.isalpha() or not stems(word):
        return []  # short, a code, or a stop word ("that" is no typo of "than")
    if dictionary.is_known(word):
        return []
    max_edits = 2 if len(word) >= 8 else 1
    candidates = []
    for term in dictionary.within(word, max_edits) | _transpositions(dictionary, word):
        frequency = dictionary.frequency(term)
        if term != word and frequency > 0:
            candidates.append((frequency, term))
    candidates.sort(reverse=True)
    return [term for _, term in candidates[:MAX_TYPO_TERMS]]


def _transpositions(dictionary: Dictionary, word: str) -> set[str]:
    """Known words that differ from `word` by two swapped neighbouring letters ("accuont").

    People count a swap as one slip. `within` counts one too, but keeps the first letter, which
    a swap of the first two changes ("rpinter"): every swap is looked up here, a few lookups.
    """
    swaps = {word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in range(len(word) - 1)}
    return {w for w in swaps if w != word and dictionary.frequency(w)}


def _clause(concept: Concept) -> Clause:
    """The scoring clause of a concept: its code, its words, their alternatives."""
    clause = Clause()
    if concept.code:
        clause.alternatives.append(Alternative(((("codes", concept.code, CODE_BOOST),),)))
    for code in concept.code_completions:
        clause.alternatives.append(Alternative((_code_word(code),), CODE_PREFIX_WEIGHT))
    for terms, weight in concept.alternatives:
        if terms:
            clause.alternatives.append(Alternative(tuple(_word(term) for term in terms), weight, concept.phrase))
    return clause


def _code_word(code: str) -> Word:
    """A completed code, scored as it would be if typed whole: in `codes`, and in the text as a word.

    The text counts how often an article cites the code: among the articles citing codes of the
    typed family, the one about them comes before one that lists many codes in passing.
    """
    in_text = stems(code)
    return (("codes", code, CODE_BOOST),) + ((("text", in_text[0], 1.0),) if len(in_text) == 1 else ())


def _word(term: str) -> Word:
    """A word is scored in the weighted text, and again in the title on its own.

    Measured on the relevance set: the title's own length normalization finds the article whose
    title says it better than the title's weight inside the text alone. Titles are short, so this
    costs little.
    """
    return (("text", term, 1.0), ("title", term, TITLE_BOOST))


def _highlight_terms(concept: Concept) -> set[str]:
    found = {term for terms, _ in concept.alternatives for term in terms}
    found.update(words(concept.surface))
    if concept.code:
        found.add(concept.code)
    found.update(concept.code_completions)
    return found


def spelled_out(text: str, corrections: dict[str, str]) -> str:
    """`text` with each corrected word replaced, for "Did you mean ...?"."""
    return _WORD.sub(lambda m: corrections.get(m.group(0).lower(), m.group(0)), text)
