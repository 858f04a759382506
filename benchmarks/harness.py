"""The two systems under measurement: a throwaway kb instance and an SQLite FTS5 reference.

Why a real `kb` process: agents reach kb over HTTP through waitress, so the figures that matter
include routing, token authentication, JSON and the server's threads, not just the Whoosh call.
Why FTS5 beside it: an absolute millisecond figure depends on the machine; a well-known engine on
the same corpus, same queries, same machine says how much of kb's time is the price of its design.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from corpus import Article

SERVER_START_TIMEOUT = 300.0  # a first start may still be catching up on the index
HTTP_TIMEOUT = 60.0
# How long a stopping server may take: its search-log flush, then its `kb worker` (given 20 s).
STOP_TIMEOUT = 30.0
AGENT_USER, AGENT_PASSWORD = "bench", "bench-password-1"
_RUNNING = re.compile(r"kb is running at (http://\S+?)/?\s*$", re.MULTILINE)


def kb_executable() -> str:
    """The `kb` beside this interpreter (the project's virtualenv), else the one on PATH."""
    beside = Path(sys.executable).parent / "kb"
    found = str(beside) if beside.exists() else shutil.which("kb")
    if not found:
        raise RuntimeError("no `kb` command: run with the project's .venv/bin/python")
    return found


@dataclass
class SearchResponse:
    """What one search cost the client, what the server says it cost, and how many hits came back."""

    wall_ms: float
    took_ms: float
    hits: int
    meaning_ms: float = 0.0  # of took_ms, the part spent on meaning (kb's Server-Timing header)


def server_timing(header: str | None, name: str) -> float:
    """One duration of a Server-Timing header ("search;dur=4.2, meaning;dur=1.1"), 0 if absent."""
    for entry in (header or "").split(","):
        metric, _, duration = entry.strip().partition(";dur=")
        if metric == name and duration:
            return float(duration)
    return 0.0


class KbInstance:
    """A kb instance living entirely in `root`: its own database, index and (empty) starter folder.

    Every KB_* variable of the caller's environment is dropped, so nothing leaks in from a
    developer's own instance, and the instance's files never touch the repository. With
    `source` (see `snapshot_kb`), the instance runs that frozen copy of kb's code.
    """

    def __init__(self, root: Path, source: Path | None = None):
        self.root = root
        (root / "starter").mkdir(parents=True, exist_ok=True)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
        if source is not None:
            self.env["PYTHONPATH"] = str(source)
        self.env.update(
            KB_DATABASE_URL=f"sqlite:///{root / 'kb.db'}",
            KB_INDEX_DIR=str(root / "index"),
            KB_SECRET_KEY="bench",
            KB_ARTICLES_DIR=str(root / "starter"),
        )
        self.kb = kb_executable()
        self.server: subprocess.Popen[bytes] | None = None
        self.base_url = ""
        self.token = ""
        self.tokens: dict[str, str] = {}

    def run(self, *args: str) -> str:
        """Run one `kb` command to completion; return its stdout, fail loudly with its output."""
        done = subprocess.run([self.kb, *args], env=self.env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"kb {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def timed(self, *args: str) -> float:
        """Seconds `kb ARGS` takes end to end, process start included (what an operator waits)."""
        started = time.perf_counter()
        self.run(*args)
        return time.perf_counter() - started

    def create_agent(self) -> None:
        """An agent user and an API token for it, used by `search`."""
        self.token = self.create_user(AGENT_USER, "agent")

    def create_user(self, name: str, role: str) -> str:
        """A user with `role` and an API token for it (the last line `kb token create` prints)."""
        self.run("user", "add", name, "--role", role, "--password", AGENT_PASSWORD)
        return self.new_token(name)

    def new_token(self, name: str) -> str:
        """A new API token for the existing user `name` (the last line `kb token create` prints)."""
        self.tokens[name] = self.run("token", "create", name).strip().splitlines()[-1].strip()
        return self.tokens[name]

    def start(self, *serve_args: str) -> None:
        """Start `kb serve --port 0` (by default with 4 threads) and wait for the line that says where it listens."""
        log_path = self.root / "serve.log"
        log = log_path.open("wb")
        self.server = subprocess.Popen(
            [self.kb, "serve", "--port", "0", *(serve_args or ("--threads", "4"))],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while time.monotonic() < deadline:
            match = _RUNNING.search(log_path.read_text(errors="replace"))
            if match:
                self.base_url = match.group(1)
                return
            if self.server.poll() is not None:
                raise RuntimeError(f"kb serve exited {self.server.returncode}:\n{log_path.read_text(errors='replace')}")
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"kb serve did not say it was running within {SERVER_START_TIMEOUT:.0f} s")

    def stop(self) -> None:
        """Stop the server this instance started, and the processes it started (its `kb worker`).

        A server that does not stop within STOP_TIMEOUT is killed; its worker would then outlive
        it for a moment, writing in the index folder while the caller removes it.
        """
        if self.server is None or self.server.poll() is not None:
            return
        children = _children(self.server.pid)
        # SIGTERM, as systemd stops it: a benchmark started in the background (`nohup ... &`)
        # passes on an ignored SIGINT, which Python then leaves ignored.
        self.server.terminate()
        try:
            self.server.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            print(f"kb serve did not stop within {STOP_TIMEOUT} s of SIGTERM: killed", file=sys.stderr)
            self.server.kill()
            self.server.wait()
        for pid in children:
            _end(pid)

    def suggest(self, text: str, *, limit: int = 5) -> SearchResponse:
        """One `POST /api/v1/suggest` with a whole message, timed as `search` is."""
        request = urllib.request.Request(
            f"{self.base_url}/api/v1/suggest",
            data=json.dumps({"text": text, "limit": limit}).encode(),
            headers={
                "Authorization": f"Bearer {self.token}",
                "Accept": "application/json",
                "Content-Type": "application/json",
            },
            method="POST",
        )
        return self._timed(request)

    def search(self, text: str, *, typing: bool = False, limit: int = 10) -> SearchResponse:
        """One `GET /api/v1/search`, timed from request to parsed body, as a helpdesk tool sees it."""
        params = {"q": text, "limit": str(limit)}
        if typing:
            params["typing"] = "1"
        request = urllib.request.Request(
            f"{self.base_url}/api/v1/search?{urllib.parse.urlencode(params)}",
            headers={"Authorization": f"Bearer {self.token}", "Accept": "application/json"},
        )
        return self._timed(request)

    def _timed(self, request: urllib.request.Request) -> SearchResponse:
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
            body = response.read()
            meaning_ms = server_timing(response.headers.get("Server-Timing"), "meaning")
        wall_ms = (time.perf_counter() - started) * 1000
        page = json.loads(body)
        return SearchResponse(wall_ms, float(page["took_ms"]), len(page["results"]), meaning_ms)


def _children(pid: int) -> list[int]:
    """The processes `pid` started (Linux's /proc; none found elsewhere)."""
    try:
        listed = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in listed.split()]


def _end(pid: int) -> None:
    """Wait for `pid` (not our child) to end, for at most STOP_TIMEOUT; then kill it."""
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline:
        if not _running(pid):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _running(pid: int) -> bool:
    """Whether `pid` still runs (a zombie that nobody reaped yet has ended)."""
    try:
        return "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


def snapshot_kb(repo: Path, folder: Path) -> Path:
    """Copy kb's code and templates to `folder` and return it, for use as PYTHONPATH.

    Why: a full run takes most of an hour, and kb's working tree may be edited meanwhile; each
    `kb` command would then load whatever the files hold at that moment, mixing versions within
    one run. Every command of a run loads this copy instead (a PYTHONPATH entry comes before the
    editable install's finder). Checked by importing kb from it.
    """
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("kb", "templates"):
        shutil.copytree(repo / name, folder / name, ignore=ignore)
    env = {**os.environ, "PYTHONPATH": str(folder)}
    # sys.path[0] of `python -c` is the working folder, which may be the repository: drop it, as
    # the `kb` script (whose sys.path[0] is the virtualenv's bin folder) never sees it.
    probe = "import sys; sys.path.pop(0); import kb; print(kb.__file__)"
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
    if not done.stdout.strip().startswith(str(folder)):
        raise RuntimeError(f"the kb snapshot in {folder} is not the one Python imports: {done.stdout}{done.stderr}")
    return folder


@dataclass(frozen=True)
class QueryRules:
    """What kb leaves out of a query and completes in it, so a reference can be given the same.

    `stop_words` are dropped from every query, `sentence_stop_words` too once a query has
    `sentence_length` words or more; words shorter than `min_word` carry nothing. The last word of
    a query still being typed is matched as a prefix from `min_prefix` letters, stop word or not.
    """

    stop_words: frozenset[str] = frozenset()
    sentence_stop_words: frozenset[str] = frozenset()
    sentence_length: int = 4
    min_word: int = 2
    min_prefix: int = 2
    source: dict[str, str] = field(default_factory=dict, compare=False)  # where each list came from

    def kept(self, text: str, *, typing: bool) -> tuple[list[str], str | None]:
        """The words of `text` a search keeps, and the word being typed (None when there is none)."""
        tokens = [t.lower() for t in re.findall(r"\w+", text)]
        typed = tokens.pop() if typing and tokens and not text[-1:].isspace() else None
        if typed is not None and len(typed) < self.min_prefix:
            typed = None
        dropped = self.stop_words
        if len(tokens) + (typed is not None) >= self.sentence_length:
            dropped = dropped | self.sentence_stop_words
        return [t for t in tokens if len(t) >= self.min_word and t not in dropped], typed


# kb's lists, read from the measured code (not copied: they change with kb). The sentence list
# lives in the query builder; a kb without one gets none.
_RULES_PROBE = """
import json, sys
sys.path.pop(0)
from kb.search.schema import STOP_WORDS
from kb.search import query
print(json.dumps({
    "stop_words": sorted(STOP_WORDS),
    "sentence_stop_words": sorted(getattr(query, "QUERY_STOP_WORDS", ())),
    "sentence_length": getattr(query, "SENTENCE_LENGTH", 4),
    "min_prefix": getattr(query, "MIN_PREFIX_LENGTH", 2),
}))
"""


def kb_query_rules(source: Path | None = None) -> QueryRules:
    """kb's stop words and prefix rule, imported from the kb at `source` (a snapshot) or installed."""
    env = {**os.environ, **({"PYTHONPATH": str(source)} if source is not None else {})}
    done = subprocess.run([sys.executable, "-c", _RULES_PROBE], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"could not read kb's stop words:\n{done.stderr}")
    found = json.loads(done.stdout)
    return QueryRules(
        stop_words=frozenset(found["stop_words"]),
        sentence_stop_words=frozenset(found["sentence_stop_words"]),
        sentence_length=int(found["sentence_length"]),
        min_prefix=int(found["min_prefix"]),
        source={
            "stop_words": "kb.search.schema.STOP_WORDS",
            "sentence_stop_words": "kb.search.query.QUERY_STOP_WORDS" if found["sentence_stop_words"] else "none",
        },
    )


class Fts5Reference:
    """SQLite FTS5 over the same articles: one table (title, summary, body), bm25 ranking.

    The porter tokenizer is used because kb stems too; without it FTS5 would do less work per
    query than kb and look faster for a reason that has nothing to do with speed. Queries get
    kb's conveniences (`rules`): its stop words dropped, the word being typed as a prefix.
    """

    COLUMNS = ("title", "summary", "body")
    SQL = (
        "SELECT rowid, title, snippet(t, -1, '<mark>', '</mark>', '…', 24) FROM t "
        "WHERE t MATCH ? ORDER BY bm25(t, 10.0, 5.0, 1.0) LIMIT ?"
    )

    def __init__(self, path: Path, rules: QueryRules | None = None):
        self.rules = rules or QueryRules()
        self.db = sqlite3.connect(path)
        if not fts5_available(self.db):
            raise RuntimeError("this Python's sqlite3 has no FTS5 module")
        self.db.execute("CREATE VIRTUAL TABLE t USING fts5(title, summary, body, tokenize='porter unicode61')")

    def load(self, articles: Sequence[Article]) -> float:
        """Insert every article and merge the index; return the seconds it took."""
        started = time.perf_counter()
        with self.db:
            self.db.executemany(
                "INSERT INTO t(title, summary, body) VALUES (?, ?, ?)", ((a.title, a.summary, a.body) for a in articles)
            )
            self.db.execute("INSERT INTO t(t) VALUES ('optimize')")
        return time.perf_counter() - started

    def search(self, text: str, *, typing: bool = False, limit: int = 10) -> SearchResponse:
        """The same query, in process: rank, take the top `limit` and build their snippets."""
        expression = fts5_expression(text, typing=typing, rules=self.rules)
        started = time.perf_counter()
        rows = self.db.execute(self.SQL, (expression, limit)).fetchall() if expression else []
        wall_ms = (time.perf_counter() - started) * 1000
        return SearchResponse(wall_ms, wall_ms, len(rows))

    def close(self) -> None:
        self.db.close()


def fts5_available(db: sqlite3.Connection) -> bool:
    try:
        db.execute("CREATE VIRTUAL TABLE temp.fts5_probe USING fts5(x)")
        db.execute("DROP TABLE temp.fts5_probe")
        return True
    except sqlite3.OperationalError:
        return False


def fts5_expression(text: str, *, typing: bool = False, rules: QueryRules | None = None) -> str:
    """An FTS5 query: the words kb keeps, each quoted (so no input is a syntax error), OR-ed.

    OR, not FTS5's default AND: kb ranks any article matching some of the words, and an AND of a
    ten-word sentence would match almost nothing and cost FTS5 almost nothing. The word still
    being typed becomes a prefix query (`"passw"*`); typos are passed as they are.
    """
    kept, typed = (rules or QueryRules()).kept(text, typing=typing)
    quoted = ['"' + t.replace('"', '""') + '"' for t in kept]
    if typed is not None:
        quoted.append('"' + typed.replace('"', '""') + '"*')
    return " OR ".join(quoted)
