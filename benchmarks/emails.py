"""Chatty customer e-mails about the real support articles, for the suggest benchmark.

Why: an agent pastes what the customer wrote, and customers mention the problem in passing, between
a greeting, news about their week and a signature. Each e-mail wraps one article's description or
error text (../shared/data/real-articles, read where it is, never copied) in such talk,
deterministically, so suggest and search can be compared on the same messages run after run.
The same talk makes the latency benchmark's messages and call transcripts.
"""

from __future__ import annotations

import csv
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from kb.store import slugify

# Their descriptions describe other articles (the data set's SOURCE.md): left out of scoring.
MISMATCHED = frozenset(
    {
        "SharePoint__OneDrive__sync__cant-open-online-only-file.md",
        "support__entra__entra-id__app-integration__error-code-aadsts50057-user-account-is-disabled.md",
    }
)
EMAIL_SEED = "kb-suggest-emails-1"
EMAIL_KINDS = ("description", "error")
GREETINGS = ("Hi team,", "Hello IT,", "Hi there,", "Good morning,", "Dear helpdesk,", "Hey,", "Hello,")
CONTEXT_BEFORE = (
    "I hope you all had a good weekend.",
    "Sorry to bother you again this week.",
    "We just got back from the team offsite, which was lovely but exhausting.",
    "Quick one before I head into back-to-back meetings.",
    "Things have been hectic since our department moved to the third floor.",
    "My manager asked me to get this sorted before the quarterly review.",
    "I'm working from home today because the trains are on strike again.",
    "First of all, thanks again for the quick help last month.",
    "I'm writing on behalf of our whole accounts team.",
    "I started in this role two weeks ago, so bear with me.",
)
CONTEXT_AFTER = (
    "It's not urgent, but it is slowing me down.",
    "I have a client presentation on Thursday, so I'd love to have it working by then.",
    "A colleague said she had something similar last year.",
    "Let me know if you need me to come by your desk.",
    "I'm in the office until five if you want to call me.",
    "The coffee machine on our floor is broken too, but that's another story.",
    "Our team lead is on holiday until Monday, so I can't ask her.",
    "I can send screenshots if that helps.",
)
PROBLEM_FRAMES = (
    "Anyway, the reason I'm writing: {problem}.",
    "Also, since yesterday {problem}.",
    "Not sure if it's related, but {problem}.",
    "The thing is, {problem}.",
    "One more thing: {problem}.",
    "Apart from that, {problem}.",
)
ERROR_FRAMES = (
    'I keep getting "{error}"',
    "a message pops up saying {error}",
    "it shows {error} every time I try",
    'I get an error, "{error}", and then nothing happens',
)
SIGN_OFFS = (
    "Thanks in advance,\nMaria",
    "Cheers,\nTom",
    "Best regards,\nPriya Sharma\nAccounts Payable | Ext. 4471",
    "Kind regards,\nJonas Becker\nSent from my phone",
    "Thanks!\nAnna",
    "Many thanks,\nDavid\nFacilities",
)
# The author's wrapper around a description ("Resolves an issue in which ..."), dropped: a customer
# says what happens, not what an article does.
_AUTHOR_VERB = re.compile(
    r"^(?:this article\s+)?(?:describes|discusses|explains|fixes|resolves|addresses|works around"
    r"|(?:provides|offers|gives)\b[^.]*?\b(?:to|for)|(?:learn\s+)?how to (?:resolve|fix|troubleshoot|work around))\s+"
    r"(?:how to (?:resolve|fix|troubleshoot|work around)\s+)?",
    re.IGNORECASE,
)
_AUTHOR_ISSUE = re.compile(
    r"^(?:an?|the)\s+(?:\w+\s+)?(?:issues?|problems?|scenarios?|situations?)\s+"
    r"(?:in which|where|that occurs when|that occurs|that|when)\s+",
    re.IGNORECASE,
)
_AUTHOR_TAIL = re.compile(
    r"(?:\.\s+|,?\s+and\s+)(?:provides|a (?:resolution|workaround|solution) is provided)\b[^.]*\.?\s*$", re.IGNORECASE
)


@dataclass(frozen=True)
class Email:
    """A customer e-mail about one problem, and the articles that answer it (slugs)."""

    id: str  # "<kind>:<article file>": ids only are saved
    kind: str
    text: str
    problem: str  # the sentence that names the problem
    relevant: frozenset[str]


def problem_from_description(description: str) -> str:
    """The problem an article's description names, without the author's wrapper words."""
    text = _AUTHOR_TAIL.sub("", description.strip())
    text = _AUTHOR_ISSUE.sub("", _AUTHOR_VERB.sub("", text))
    return re.sub(r"^that\s+", "", text).rstrip(" .")


def problem_from_error(error: str, rng: random.Random) -> str:
    return rng.choice(ERROR_FRAMES).format(error=error.strip())


def chatty_email(problem: str, rng: random.Random) -> tuple[str, str]:
    """(the e-mail, its problem sentence): a greeting, context, the problem in the middle, a sign-off."""
    before = rng.sample(CONTEXT_BEFORE, rng.randint(2, 4))
    after = rng.sample(CONTEXT_AFTER, rng.randint(1, 4))
    sentence = rng.choice(PROBLEM_FRAMES).format(problem=problem.rstrip(" ."))
    body = [rng.choice(GREETINGS), " ".join(before), " ".join([sentence, *after]), rng.choice(SIGN_OFFS)]
    return "\n\n".join(body), sentence


AGENT_TURNS = (
    "Thanks for calling the helpdesk, how can I help?",
    "Can you tell me what you see on the screen right now?",
    "When did this start?",
    "Have you restarted it since then?",
    "Let me look that up for you.",
    "Is anyone else in your team affected?",
    "Could you read me the exact message, word for word?",
    "Okay, bear with me a moment.",
    "And what were you doing just before it happened?",
    "Right, I can see your account here.",
)
SMALL_TALK = (
    "Yes, hello, thanks for picking up so quickly.",
    "Sure, one second, let me put my coffee down.",
    "It's the same laptop I've had since last spring.",
    "No, I don't think I changed anything.",
    "Hang on, somebody is at my door.",
    "Sorry, the line is a bit bad, I'm on the train.",
    "I think so, but I'm not completely sure.",
    "My colleague had a look but couldn't work it out either.",
)

# Details that make most of a real call's sentences different from each other.
NAMES = ("Maria", "Tom", "Priya", "Jonas", "Anna", "David", "Keiko", "Olu", "Sven", "Lucia")
TEAMS = ("accounts", "facilities", "sales", "the warehouse", "legal", "reception", "marketing", "payroll")


def _detail(rng: random.Random) -> str:
    name, team = rng.choice(NAMES), rng.choice(TEAMS)
    return rng.choice(
        (
            f"It happened again at {rng.randint(7, 18)}:{rng.randint(0, 59):02d}, when I was in room {rng.randint(100, 999)}.",
            f"{name} from {team} says it was fine for her on {rng.choice(('Monday', 'Tuesday', 'Wednesday'))}.",
            f"I'm on extension {rng.randint(2000, 7999)} if we get cut off.",
            f"We moved {rng.randint(2, 40)} people from {team} to the new floor last week.",
            f"I tried it {rng.randint(2, 12)} times before lunch and once more with {name} watching.",
        )
    )


def call_transcript(problems: list[str], rng: random.Random, chars: int) -> str:
    """A call of about `chars` characters: the agent's questions and the customer's answers, speaker
    labels and all, with each of `problems` said once, in passing, somewhere along the way."""
    lines: list[str] = []
    said = sorted(rng.sample(range(max(len(problems), chars // 120)), len(problems)))
    pending = dict(zip(said, problems, strict=True))
    length = 0
    while length < chars or pending:
        turn = len(lines) // 2
        answer = rng.choice(SMALL_TALK + CONTEXT_BEFORE + CONTEXT_AFTER) if rng.random() < 0.3 else _detail(rng)
        problem = pending.pop(turn, None)
        if problem is not None:
            answer = f"{answer} {rng.choice(PROBLEM_FRAMES).format(problem=problem.rstrip(' .'))}"
        lines += [f"Agent: {rng.choice(AGENT_TURNS)}", f"Customer: {answer}"]
        length += len(lines[-2]) + len(lines[-1]) + 2
    return "\n".join(lines)


def build_emails(folder: Path, seed: str = EMAIL_SEED) -> list[Email]:
    """One e-mail per known-item description and per error text of the real-articles set.

    Deterministic: each e-mail's choices come from its own seeded generator, so adding a row
    changes no other e-mail. An error text several articles cite is answered by any of them.
    """
    emails = [
        _email(
            seed,
            "description",
            row["article_file"],
            lambda _rng, description=row["description"]: problem_from_description(description),
            {_slug(row["article_file"])},
        )
        for row in _tsv(folder / "known-item.tsv")
        if row["article_file"] not in MISMATCHED
    ]
    errors = _tsv(folder / "error-codes.tsv")
    citing: dict[str, set[str]] = {}
    for row in errors:
        citing.setdefault(row["error"].lower(), set()).add(_slug(row["article_file"]))
    for row in errors:
        problem = partial(problem_from_error, row["error"])
        emails.append(_email(seed, "error", row["article_file"], problem, citing[row["error"].lower()]))
    return emails


def _email(
    seed: str, kind: str, article_file: str, problem: Callable[[random.Random], str], relevant: set[str]
) -> Email:
    """The e-mail of one row, from a generator seeded with the row's own id."""
    rng = random.Random(f"{seed}:{kind}:{article_file}")
    text, sentence = chatty_email(problem(rng), rng)
    return Email(f"{kind}:{article_file}", kind, text, sentence, frozenset(relevant))


def _slug(article_file: str) -> str:
    """The slug `kb import` gives a file without one in its front matter."""
    return slugify(Path(article_file).stem)


def _tsv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as lines:
        return list(csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE))
