"""The content standard, as guidance: what an explanation is missing, never a reason to refuse it.

kb's articles explain a situation instead of scripting a call: what the customer notices (in
their words), what is going on and why, how to confirm it, the resolution, how to prevent it,
and related articles. These checks point an author at what would make an article more useful
to an agent on a call; the editor shows them on preview and save, and each article carries its
score (100 minus what its findings weigh) into the lists and the API.

Every check reads the Markdown source line by line, once: linear in the article, no rendering,
so a list of thousands of articles can show scores and an import can compute them on the way.
Findings about other articles (links to missing or archived ones) are added by the caller, which
knows the database; see `with_broken_links`.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Iterable, Iterator

from kb import links

# The understanding-first outline, in the order an agent reads it (the new-article template).
SECTIONS = (
    "What the customer notices",
    "What is going on",
    "How to confirm",
    "Resolution",
    "Prevent it",
    "Related",
)
# Other headings that do the same job in imported articles.
_SAME_AS = {
    "symptoms": "what the customer notices",
    "symptom": "what the customer notices",
    "what customers notice": "what the customer notices",
    "cause": "what is going on",
    "causes": "what is going on",
    "why it happens": "what is going on",
    "diagnosis": "how to confirm",
    "resolutions": "resolution",
    "solution": "resolution",
    "fix": "resolution",
    "prevention": "prevent it",
    "related articles": "related",
    "see also": "related",
}
# How much each finding takes off the score of 100; the explanation itself weighs most.
WEIGHTS = {
    "missing_explanation": 30,
    "missing_section": 8,
    "no_customer_words": 10,
    "script": 10,
    "heading_order": 5,
    "long_paragraph": 5,
    "broken_link": 10,
    "no_owner": 5,
    "cannot_save": 100,
}
LONG_PARAGRAPH_WORDS = 150
# At most this many findings of one kind are listed (and weighed): enough to act on.
MAX_PER_KIND = 3

_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)[ \t#]*$")
_NOT_PROSE = re.compile(r"^\s*(?:[-*+>|]|\d{1,9}[.)]\s|<|!\[|\[\^|:::)|^ {4}")
_QUOTED = re.compile(r"[\"“][^\"“”]{3,}[\"”]")
# A line that tells the agent what to say word for word: "Say: ...", "Tell the customer: ...",
# "Agent: ...", or "say" / "tell them" followed by a quotation.
_SCRIPT = re.compile(
    r"^\W*(?:say|tell (?:the )?(?:customer|caller|user|them)|read (?:out|this)|script|agent)"
    r"(?: to (?:the )?(?:customer|caller))?\s*:"
    r"|\b(?:say|tell (?:the )?(?:customer|caller|user|them))\b[,:]?\s*[\"“]",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Finding:
    code: str
    message: str
    line: int | None = None


@dataclass
class Checks:
    findings: list[Finding] = field(default_factory=list)

    @property
    def score(self) -> int:
        return max(0, 100 - sum(WEIGHTS.get(f.code, 5) for f in self.findings))

    def as_json(self) -> dict:
        return {"score": self.score, "findings": [asdict(f) for f in self.findings]}


@dataclass
class _Heading:
    level: int
    text: str
    line: int


def check(body: str, *, owner: str | None = "", broken_links: Iterable[tuple[str, int, str]] = ()) -> Checks:
    """The findings for an article's `body`.

    `owner` None means the article has nobody answerable for it (the default "" means "not
    known here": no finding). `broken_links` are (slug, line, why) from `broken` below.
    """
    headings, paragraphs, scripts = _read(body)
    findings = [*_missing_sections(headings), *_order(headings)]
    findings += _customer_words(body, headings)
    findings += _capped(
        Finding("script", f"line {n} tells the agent what to say word for word: explain instead", n) for n in scripts
    )
    findings += _capped(
        Finding("long_paragraph", f"the paragraph at line {n} has {words} words: split it so an agent can skim", n)
        for n, words in paragraphs
        if words > LONG_PARAGRAPH_WORDS
    )
    findings += _capped(
        Finding("broken_link", f"line {n} links to '{slug}', {why}", n) for slug, n, why in broken_links
    )
    if owner is None:
        findings.append(Finding("no_owner", "nobody owns this article: give it an owner who keeps it right"))
    return Checks(findings)


def _read(body: str) -> tuple[list[_Heading], list[tuple[int, int]], list[int]]:
    """One pass: headings, (line, words) of each prose paragraph, and lines that read as a script."""
    headings: list[_Heading] = []
    paragraphs: list[tuple[int, int]] = []
    scripts: list[int] = []
    start, words = 0, 0
    for number, line in links.lines_outside_code(body):
        if line is None:
            start, words = _close(paragraphs, start, words), 0
            continue
        heading = _HEADING.match(line)
        if heading:
            headings.append(_Heading(len(heading.group(1)), heading.group(2).strip(), number))
        if _SCRIPT.search(line):
            scripts.append(number)
        if heading or not line.strip() or _NOT_PROSE.match(line):
            start = _close(paragraphs, start, words)
            words = 0
            continue
        start, words = start or number, words + len(line.split())
    _close(paragraphs, start, words)
    return headings, paragraphs, scripts


def _close(paragraphs: list[tuple[int, int]], start: int, words: int) -> int:
    if start:
        paragraphs.append((start, words))
    return 0


def _standard(text: str) -> str | None:
    name = " ".join(text.lower().rstrip(":").split())
    name = _SAME_AS.get(name, name)
    return name if name in _STANDARD else None


_STANDARD = [s.lower() for s in SECTIONS]


def _missing_sections(headings: list[_Heading]) -> Iterator[Finding]:
    present = {_standard(h.text) for h in headings}
    if "what is going on" not in present:
        yield Finding(
            "missing_explanation",
            "no 'What is going on' section: explain what is really happening and why, so the agent understands it",
        )
    for name in SECTIONS:
        if name.lower() not in present and name != "What is going on":
            yield Finding("missing_section", f"no '{name}' section")


def _order(headings: list[_Heading]) -> Iterator[Finding]:
    last = -1
    for heading in headings:
        name = _standard(heading.text)
        if name is None:
            continue
        position = _STANDARD.index(name)
        if position < last:
            yield Finding(
                "heading_order",
                f"'{heading.text}' (line {heading.line}) comes after '{SECTIONS[last]}': the outline reads "
                + " → ".join(SECTIONS),
                heading.line,
            )
            return
        last = position


def _customer_words(body: str, headings: list[_Heading]) -> list[Finding]:
    """The customer's own phrasings ("It says offline") in the section meant for them."""
    lines = body.splitlines()
    for index, heading in enumerate(headings):
        if _standard(heading.text) != "what the customer notices":
            continue
        end = next((h.line for h in headings[index + 1 :] if h.level <= heading.level), len(lines) + 1)
        if any(_QUOTED.search(line) for line in lines[heading.line : end - 1]):
            return []
        return [
            Finding(
                "no_customer_words",
                "'What the customer notices' quotes no customer: add what they actually say, in quotes",
                heading.line,
            )
        ]
    return []


def _capped(findings: Iterable[Finding]) -> list[Finding]:
    listed = []
    for finding in findings:
        if len(listed) == MAX_PER_KIND:
            break
        listed.append(finding)
    return listed


def linked_slugs(body: str) -> list[tuple[str, int]]:
    """The (slug, line) of each link to another article, first mention of each slug only."""
    seen: dict[str, int] = {}
    for slug, line in links.internal_links(body):
        seen.setdefault(slug, line)
    return list(seen.items())
