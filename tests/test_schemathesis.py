"""schemathesis against a real `kb serve`: generated and hostile requests to every operation of
/api/v1/openapi.json never get a server error, and every answer is one the document describes.

Bounded and repeatable: a fixed seed, a fixed number of examples per operation, one worker, no
example database, and a wall-clock limit on the whole run (it takes 40-60 s here). It cannot pass by
testing nothing: schemathesis's own report must list every operation as tested, the recorded
traffic must show each operation answering with success at least once (an admin token that
stopped working would make everything a 401), and the server must not have logged a traceback.
Nothing leaves the machine: requests go to the loopback server, and any other host goes to a
closed local proxy port.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import urlsplit

import apispec
import pytest
import yaml
from kbserver import KbServer, admin_token, call
from schemathesis_hooks import LONE_SURROGATE

pytestmark = pytest.mark.fuzz

SEED = 20250601
EXAMPLES_PER_OPERATION = 25
TIME_LIMIT = 300  # seconds for the schemathesis run, several times what it needs on a busy 2-core machine
CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance"
PASSWORD = "schemathesis-admin-pw"
HOOKS = Path(__file__).with_name("schemathesis_hooks.py")
# schemathesis does not test the operation that serves the document it reads; test_openapi.py does.
NOT_FUZZED = {"GET /openapi.json"}
# Fuzzed, but success needs the admin's current password, which the run does not know (and must
# not change: that would revoke the token it runs with).
NEEDS_A_SECRET = {"POST /me/password"}
# Fuzzed, but random bytes are never a real image or document: tests/test_attachments.py uploads real ones.
NEEDS_A_REAL_FILE = {"POST /articles/{slug}/attachments"}


def run_schemathesis(base_url: str, token: str, reports: Path) -> subprocess.CompletedProcess:
    closed_port = "http://127.0.0.1:9"
    env = {
        **os.environ,
        "HTTP_PROXY": closed_port,
        "HTTPS_PROXY": closed_port,
        "NO_PROXY": "127.0.0.1",
        "SCHEMATHESIS_HOOKS": HOOKS.stem,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(HOOKS.parent), os.environ.get("PYTHONPATH")])),
        "NO_COLOR": "1",
        "KB_FUZZ_OWN_TOKEN_ID": str(own_token_id(base_url, token)),  # the hooks never revoke it
        "COLUMNS": "160",
    }
    command = [
        sys.executable, "-m", "schemathesis.cli", "run", f"{base_url}api/v1/openapi.json",
        "--header", f"Authorization: Bearer {token}",
        "--checks", CHECKS,
        "--max-examples", str(EXAMPLES_PER_OPERATION),
        "--seed", str(SEED),
        "--workers", "1",
        "--generation-database", "none",
        "--suppress-health-check", "too_slow",  # timing on a shared machine; not the API's behaviour
        "--continue-on-failure",
        "--request-timeout", "30",
        "--report", "junit,json,vcr",
        "--report-dir", str(reports),
        "--no-color",
    ]  # fmt: skip
    # cwd: a folder of its own, so no schemathesis.toml from elsewhere changes the run
    return subprocess.run(command, cwd=reports.parent, env=env, capture_output=True, text=True, timeout=TIME_LIMIT)


def own_token_id(base_url: str, token: str) -> int:
    status, body = call(base_url, token, "tokens")
    assert status == 200, body
    return next(t["id"] for t in body["tokens"] if token.startswith(t["prefix"]))


def operation_of(method: str, path: str) -> str:
    """ "PUT /articles/{slug}" for a request to /api/v1/articles/some-slug."""
    path = path.removeprefix(apispec.PREFIX)
    for template, methods in apispec.operations().items():
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if method in methods and re.match(pattern, path):
            return f"{method} {template}"
    return f"{method} elsewhere"  # schemathesis also tries methods a path does not have: 405


def traffic(cassette: Path) -> list[tuple[str, str, str, int]]:
    """(method, URL, body, status) of every request schemathesis sent."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    recorded = yaml.load(cassette.read_text(encoding="utf-8"), Loader=loader)
    return [
        (
            i["request"]["method"],
            i["request"]["uri"],
            (i["request"].get("body") or {}).get("string") or "",
            int(i["response"]["status"]["code"]),
        )
        for i in recorded["http_interactions"]
        if i.get("response")
    ]


def seed_learning(base_url: str, token: str) -> None:
    """A reading path whose first step the admin answered, and a team: what the reading-path operations'
    examples name (path 1, step 1, team 1, user admin), so that each of them can succeed."""
    steps = [{"article": "printer-shows-offline", "question": "What would you ask first?"}]
    for path, payload, expected in (
        ("paths", {"title": "Fuzzing basics", "steps": steps}, 201),
        ("teams", {"name": "Fuzzers", "members": ["admin"]}, 201),
        ("paths/1/steps/1/read", {"answer": "Whether others can print"}, 200),
    ):
        status, body = call(base_url, token, path, payload)
        assert status == expected, (path, body)


@pytest.fixture
def admin_server(tmp_path):
    env = {"KB_ADMIN_PASSWORD": PASSWORD}
    with KbServer(tmp_path, env) as server:
        token = admin_token(tmp_path, env)
        seed_learning(server.url, token)
        yield server, token


def test_schemathesis_finds_no_server_error_and_nothing_undocumented(admin_server, tmp_path):
    server, token = admin_server
    reports = tmp_path / "schemathesis"
    started = time.monotonic()
    done = run_schemathesis(server.url, token, reports)
    took = time.monotonic() - started
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"schemathesis failed after {took:.0f} s:\n{output[-20000:]}"
    assert "Traceback" not in server.output, server.output[-10000:]

    report = json.loads(next(reports.glob("json*.json")).read_text(encoding="utf-8"))
    documented = {f"{method} {path}" for path, methods in apispec.operations().items() for method in methods}
    tested = {case.get("name", "") for case in ET.parse(next(reports.glob("junit*.xml"))).getroot().iter("testcase")}
    assert tested - {"Stateful tests"} == documented - NOT_FUZZED, output[-5000:]
    assert report["operations"]["tested"] == len(documented - NOT_FUZZED) and report["operations"]["errored"] == 0

    statuses: dict[str, Counter] = defaultdict(Counter)
    hostile: Counter = Counter()  # what bodies with the hooks' lone surrogate got
    for method, url, body, status in traffic(next(reports.glob("vcr*.yaml"))):
        assert url.startswith(server.url), url
        statuses[operation_of(method, urlsplit(url).path)][status] += 1
        if json.dumps(LONE_SURROGATE)[1:-1] in body:
            hostile[status] += 1
    print(f"schemathesis: {took:.0f} s, {report['test_cases']['generated']} test cases, {report['phases']}")
    print("\n".join(f"{op}: {dict(counts)}" for op, counts in sorted(statuses.items())))
    assert all(status < 500 for counts in statuses.values() for status in counts), dict(statuses)
    assert hostile and all(400 <= status < 500 for status in hostile), f"the hooks' bodies got {dict(hostile)}"
    never_succeeded = {
        op
        for op in documented - NOT_FUZZED - NEEDS_A_SECRET - NEEDS_A_REAL_FILE
        if not any(200 <= s < 300 for s in statuses[op])
    }
    assert not never_succeeded, f"never answered with success, so never tested past validation: {never_succeeded}"
