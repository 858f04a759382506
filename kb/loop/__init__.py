"""The knowledge loop: every call an investigation, every recurring problem pushed to its root.

- `calls`: agents record which article a call used and how it ended, or that none helped;
- `gaps`: what failed (searches, calls, votes) grouped by what the customer meant, ranked;
- `closing`: an author turns a gap into a draft, attaches it to an article or dismisses it;
- `rootfix`: cause categories and root-fix records, and the recurring-problems board;
- `insights`: the dashboard's figures and tables for a date range;
- `retention`: how long logs and call records are kept.

No Flask here: views and CLI commands call these with a session and commit.
"""

from __future__ import annotations


class LoopError(ValueError):
    """A request the loop cannot do: `field` names what is wrong, `status` is the HTTP answer."""

    def __init__(self, field: str, message: str, *, status: int = 400):
        super().__init__(f"{field}: {message}")
        self.field, self.status, self.message = field, status, message
