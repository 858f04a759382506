"""Simulated people for the load benchmark: agents on calls and authors keeping articles right.

An agent behaves like a person on calls: every `think` seconds on average it types a query (one
request per keystroke burst, 100 ms apart, as the search page sends them), opens the best
result, sometimes votes. An author saves an edit every `think` seconds on average, each edit
carrying a word no article holds, so the run can prove every acknowledged save became
searchable, and how long that took. Each person keeps one HTTP connection, as a browser does.
`SteadyWrites` is the latency benchmark's background: one save a second and steady votes, paced
rather than random, so that every run measures searches under the same writes.
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import random
import re
import threading
import time
import urllib.parse
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from corpus import SEED
from metrics import distribution
from queries import Query

MARKER = re.compile(r"\s*\bzq[0-9a-f]+x\d+x\d+\b")
BURST_GAP_S = 0.1  # the search page sends a request per burst of keystrokes, 100 ms apart
VOTE_SHARE = 0.2
TIMEOUT_S = 60.0
FIRST_WRITES_TIMEOUT_S = 60.0


@dataclass
class Recorder:
    """Timings and errors per request kind, shared by every simulated person (thread-safe)."""

    started: float = field(default_factory=time.monotonic)
    timings: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    conflicts: int = 0
    superseded: int = 0  # saves replaced by a later save of the same article before they were checked
    saves: list[tuple[str, str, float]] = field(default_factory=list)  # (slug, marker, acknowledged at)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def timing(self, kind: str, ms: float) -> None:
        with self._lock:
            self.timings[kind].append(ms)

    def error(self, kind: str, what: str) -> None:
        with self._lock:
            self.errors[kind].append(what)

    def saved(self, slug: str, marker: str) -> None:
        with self._lock:
            self.saves.append((slug, marker, time.monotonic()))

    def conflict(self) -> None:
        with self._lock:
            self.conflicts += 1


class Client:
    """One person's keep-alive HTTP connection with an API token."""

    def __init__(self, base_url: str, token: str):
        parts = urllib.parse.urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.connection: http.client.HTTPConnection | None = None

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, Any, float]:
        """(status, parsed JSON, wall ms); reconnects once when the server closed the connection."""
        payload = json.dumps(body).encode() if body is not None else None
        for attempt in range(2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT_S)
            started = time.perf_counter()
            try:
                self.connection.request(method, path, body=payload, headers=self.headers)
                response = self.connection.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.connection.close()
                self.connection = None
                if attempt:
                    raise
                continue
            ms = (time.perf_counter() - started) * 1000
            return response.status, json.loads(data) if data else None, ms
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()


def pause(rng: random.Random, think: float, stop: threading.Event) -> None:
    if think > 0:
        stop.wait(rng.expovariate(1 / think))


def bursts(text: str, rng: random.Random) -> list[str]:
    """How the search page sends `text` while it is typed: a prefix per burst of 2-5 keys."""
    cuts, position = [], 0
    while position < len(text):
        position = min(len(text), position + rng.randint(2, 5))
        cuts.append(text[:position])
    return [c for c in cuts if c.strip()]


def agent(
    base_url: str, token: str, queries: list[Query], think: float, seed: int, rec: Recorder, stop: threading.Event
):
    rng = random.Random(seed)
    client = Client(base_url, token)
    try:
        pause(rng, think / 2, stop)
        while not stop.is_set():
            _one_call(client, rng.choice(queries), rng, rec, typing_gap=BURST_GAP_S if think else 0.0)
            pause(rng, think, stop)
    finally:
        client.close()


def _one_call(client: Client, query: Query, rng: random.Random, rec: Recorder, typing_gap: float) -> None:
    episode = f"load-{rng.getrandbits(48):012x}"
    typed = bursts(query.text, rng)
    results: list[dict] = []
    for number, text in enumerate(typed):
        last = number == len(typed) - 1
        params = {"q": text, "sid": episode, "limit": "10", **({} if last else {"typing": "1"})}
        results = _request(client, rec, "search", "GET", "/api/v1/search?" + urllib.parse.urlencode(params)) or results
        if not last and typing_gap:
            time.sleep(typing_gap)
    hits = results.get("results", []) if isinstance(results, dict) else []
    if not hits:
        return
    slug = hits[0]["slug"]
    _request(client, rec, "open article", "GET", f"/api/v1/articles/{slug}?sid={episode}")
    if rng.random() < VOTE_SHARE:
        _request(client, rec, "vote", "POST", f"/api/v1/articles/{slug}/feedback", {"helpful": rng.random() < 0.8})


def _request(client: Client, rec: Recorder, kind: str, method: str, path: str, body: dict | None = None) -> Any:
    try:
        status, data, ms = client.call(method, path, body)
    except OSError as exc:
        rec.error(kind, f"{type(exc).__name__}: {exc}")
        return None
    if status >= 400:
        rec.error(kind, f"{status} {path}: {(data or {}).get('message', '')[:120]}")
        return None
    rec.timing(kind, ms)
    return data


def author(base_url: str, token: str, slugs: list[str], think: float, seed: int, rec: Recorder, stop: threading.Event):
    """Edit a random article: read it, change its summary, save with the version read."""
    rng = random.Random(seed)
    client = Client(base_url, token)
    counter = 0
    run = os.urandom(3).hex()  # markers differ from run to run: a kept instance holds the old ones
    try:
        pause(rng, think / 2, stop)
        while not stop.is_set():
            slug = rng.choice(slugs)
            current = _request(client, rec, "read for edit", "GET", f"/api/v1/articles/{slug}")
            if current:
                counter += 1
                marker = f"zq{run}x{seed}x{counter}"
                _save(client, rec, slug, marker, current)
            pause(rng, think, stop)
    finally:
        client.close()


def _save(client: Client, rec: Recorder, slug: str, marker: str, current: dict) -> None:
    # Each save replaces the article's previous marker: a marker is expected to be found only
    # until a later save of the same article (see watch_visibility).
    summary = MARKER.sub("", current["summary"])[:200]
    body = {"summary": f"{summary} {marker}", "version": current["version"]}
    try:
        status, data, ms = client.call("PUT", f"/api/v1/articles/{slug}", body)
    except OSError as exc:
        rec.error("save", f"{type(exc).__name__}: {exc}")
        return
    if status == 409:
        rec.conflict()  # another author saved it first: refused, nothing lost, not an error
        return
    if status != 200:
        rec.error("save", f"{status}: {(data or {}).get('message', '')[:120]}")
        return
    rec.timing("save", ms)
    rec.saved(slug, marker)


def watch_visibility(
    base_url: str,
    token: str,
    rec: Recorder,
    stop: threading.Event,
    *,
    share: int = 0,
    watchers: int = 1,
    deadline_s: float = 30.0,
):
    """For each acknowledged save (those numbered `share` modulo `watchers`), poll a search for
    its marker: how long until agents find it. Several watchers keep up when saves come fast.

    A save whose article was saved again (acknowledged) before its marker was found is only
    counted: the later save rightly replaced the marker.
    """
    client = Client(base_url, token)
    seen = share
    try:
        while not stop.is_set() or seen < len(rec.saves):
            if seen >= len(rec.saves):
                time.sleep(0.02)
                continue
            _watch_one(client, rec, seen, deadline_s)
            seen += watchers
    finally:
        client.close()


def _watch_one(client: Client, rec: Recorder, index: int, deadline_s: float) -> None:
    slug, marker, acknowledged = rec.saves[index]
    while True:
        status, data, _ms = client.call("GET", "/api/v1/search?" + urllib.parse.urlencode({"q": marker}))
        if status == 200 and [r["slug"] for r in data["results"]][:1] == [slug]:
            rec.timing("save visible", (time.monotonic() - acknowledged) * 1000)
            return
        if any(later == slug for later, _, _ in rec.saves[index + 1 :]):
            with rec._lock:
                rec.superseded += 1
            return
        if time.monotonic() - acknowledged > deadline_s:
            rec.error("save visible", f"{marker} ({slug}) not searchable {deadline_s:.0f} s after its save")
            return
        time.sleep(0.05)


class SteadyWrites:
    """An author saving an article every `save_every` s and an agent voting, in the background.

    Both go through the API as people do (the requests above: a save carries the version it
    read, a 409 is counted, not an error). Entering waits for the first save and the first vote,
    so the measured queries never run before the writes have started.
    """

    def __init__(
        self,
        base_url: str,
        author_token: str,
        agent_token: str,
        slugs: Sequence[str],
        save_every: float,
        votes_per_s: float,
    ):
        self.base_url, self.author_token, self.agent_token, self.slugs = (
            base_url,
            author_token,
            agent_token,
            list(slugs),
        )
        self.save_every, self.vote_every = save_every, 1 / votes_per_s if votes_per_s > 0 else 0.0
        self.rec, self.stop = Recorder(), threading.Event()
        self.threads = [threading.Thread(target=self._author)]
        if self.vote_every:
            self.threads.append(threading.Thread(target=self._voter))

    def __enter__(self) -> SteadyWrites:
        for thread in self.threads:
            thread.start()
        deadline = time.monotonic() + FIRST_WRITES_TIMEOUT_S
        while not self._started() and time.monotonic() < deadline and not self.stop.is_set():
            time.sleep(0.02)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(120)

    def _started(self) -> bool:
        done = self.rec.timings.get("save", []) or self.rec.errors.get("save") or self.rec.conflicts
        voted = not self.vote_every or self.rec.timings.get("vote", []) or self.rec.errors.get("vote")
        return bool(done and voted)

    def _paced(self, every: float, step: Callable[[], None]) -> None:
        """Call `step()` every `every` seconds until stopped: a steady rate, and no burst to catch up
        when a step took longer than that."""
        due = time.monotonic()
        while not self.stop.is_set():
            step()
            due = max(due + every, time.monotonic())
            self.stop.wait(max(0.0, due - time.monotonic()))

    def _author(self) -> None:
        client, rng = Client(self.base_url, self.author_token), random.Random(f"{SEED}:saves")
        run, numbers = os.urandom(3).hex(), itertools.count(1)  # markers differ run to run, as traffic's do

        def save() -> None:
            slug = rng.choice(self.slugs)
            current = _request(client, self.rec, "read for edit", "GET", f"/api/v1/articles/{slug}")
            if current:
                _save(client, self.rec, slug, f"zq{run}x0x{next(numbers)}", current)

        try:
            self._paced(self.save_every, save)
        finally:
            client.close()

    def _voter(self) -> None:
        client, rng = Client(self.base_url, self.agent_token), random.Random(f"{SEED}:votes")

        def vote() -> None:
            slug = rng.choice(self.slugs)
            body = {"helpful": rng.random() < 0.8}
            _request(client, self.rec, "vote", "POST", f"/api/v1/articles/{slug}/feedback", body)

        try:
            self._paced(self.vote_every, vote)
        finally:
            client.close()

    def summary(self) -> dict[str, Any]:
        rec = self.rec
        return {
            "save_every_s": self.save_every,
            "votes_per_s": round(1 / self.vote_every, 3) if self.vote_every else 0.0,
            "saves": len(rec.timings.get("save", [])),
            "save_ms": distribution(rec.timings.get("save", [])),
            "conflicts": rec.conflicts,
            "votes": len(rec.timings.get("vote", [])),
            "vote_ms": distribution(rec.timings.get("vote", [])),
            "errors": sum(len(v) for v in rec.errors.values()),
            "error_samples": {kind: errors[:3] for kind, errors in rec.errors.items()},
        }
