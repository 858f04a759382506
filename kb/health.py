"""What an operator asks of a running kb: can it reach its database, read its index, and is
the index keeping up with the change log?"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from kb import background
from kb.models import Article
from kb.search import indexer, set_aside


def is_healthy(app: Flask, session: Session) -> bool:
    """Cheap enough for a load balancer to ask every few seconds: one query, one file read."""
    try:
        session.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001  any failure means "do not send traffic here"
        return False
    return indexer.index_exists(Path(app.config["INDEX_DIR"]))


def status(app: Flask, session: Session) -> dict[str, Any]:
    """The state of this process's database connection, index, index writer and search log."""
    index_dir = Path(app.config["INDEX_DIR"])
    writer = background.index_writer(app)
    writer_status = writer.status() if writer else None
    buffer = app.extensions["kb.searchlog"]
    return {
        "database": {
            "backend": session.get_bind().dialect.name,
            "articles": session.scalar(select(func.count(Article.id))),
        },
        "index": {
            "folder": str(index_dir),
            "readable": indexer.check(index_dir) is None,
            "problem": indexer.check(index_dir),
            "pending_articles": indexer.pending_articles(session, index_dir),
            "set_aside": set_aside(session),
        },
        "index_writer": {
            "running_here": bool(writer_status and writer_status.is_writer),
            "process": writer.lock.holder() if writer else None,
            "last_error": writer_status.last_error if writer_status else None,
            "waiting_for_lock": bool(writer_status and writer_status.busy),
        },
        "search_log": {"buffered": len(buffer), "dropped": buffer.dropped},
    }
