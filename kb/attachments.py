"""Images and files an article shows or offers (screenshots, a PDF from the vendor, a log sample).

The bytes live outside the database, under the instance folder, named by their SHA-256 (the same
file uploaded twice is stored once); the database keeps a row per attachment. Only kinds on the
allow-list are taken, and each must start the way its kind starts (a ".png" that is really HTML
is refused), so nothing kb serves can run in the browser: images are shown inline with their own
type, everything else is a download, never HTML or SVG.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb import limits
from kb.db import begin_write, utcnow
from kb.models import Article, Attachment, User


@dataclass(frozen=True)
class Kind:
    content_type: str
    inline: bool
    starts: tuple[bytes, ...] = ()  # the file's first bytes, one of these (empty: any text)


_TEXT = Kind("text/plain; charset=utf-8", False)
KINDS: dict[str, Kind] = {
    "png": Kind("image/png", True, (b"\x89PNG\r\n\x1a\n",)),
    "jpg": Kind("image/jpeg", True, (b"\xff\xd8\xff",)),
    "jpeg": Kind("image/jpeg", True, (b"\xff\xd8\xff",)),
    "gif": Kind("image/gif", True, (b"GIF87a", b"GIF89a")),
    "webp": Kind("image/webp", True, (b"RIFF",)),
    "pdf": Kind("application/pdf", False, (b"%PDF-",)),
    "zip": Kind("application/zip", False, (b"PK\x03\x04",)),
    "txt": _TEXT,
    "log": _TEXT,
    "csv": Kind("text/csv; charset=utf-8", False),
}
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class AttachmentRefused(ValueError):
    """Why an upload is not taken: `status` 400 (kind, content, name) or 413 (size)."""

    def __init__(self, message: str, *, status: int = 400):
        super().__init__(message)
        self.status = status


def folder(instance_dir: Path) -> Path:
    return instance_dir / "attachments"


def safe_name(filename: str) -> str:
    """A file name to show and to serve under: letters, digits, dots, hyphens and underscores."""
    name = _SAFE_NAME.sub("-", Path(filename.replace("\\", "/")).name).strip(".-")[:120]
    return name or "file"


def kind_of(name: str) -> Kind:
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    kind = KINDS.get(extension)
    if kind is None:
        allowed = ", ".join(sorted(KINDS))
        raise AttachmentRefused(f"'{name}' is not a kind kb keeps: attach one of {allowed}")
    return kind


def _check_content(name: str, kind: Kind, data: bytes) -> None:
    if kind.starts and not data.startswith(kind.starts):
        raise AttachmentRefused(
            f"'{name}' does not contain what its name says (it is not a real .{name.rsplit('.', 1)[-1]})"
        )
    if not kind.starts:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise AttachmentRefused(f"'{name}' is not UTF-8 text") from None
        if "\x00" in text:
            raise AttachmentRefused(f"'{name}' is not text (it holds NUL bytes)")


def read_bounded(stream: IO[bytes]) -> bytes:
    most = limits.limit("MAX_ATTACHMENT_BYTES")
    data = stream.read(most + 1)
    if len(data) > most:
        raise AttachmentRefused(f"the file is larger than the attachment limit of {most:,} bytes", status=413)
    if not data:
        raise AttachmentRefused("the file is empty")
    return data


def store_upload(
    session: Session, article: Article, filename: str, data: bytes, *, user: User | None, instance_dir: Path
) -> Attachment:
    """Keep `data` for `article` under `filename`; refuse what is not on the allow-list or not what it says."""
    name = safe_name(filename)
    kind = kind_of(name)
    _check_content(name, kind, data)
    digest = hashlib.sha256(data).hexdigest()
    stored = f"{digest}.{name.rsplit('.', 1)[-1].lower()}"
    _write_once(folder(instance_dir) / stored[:2] / stored, data)
    begin_write(session)
    attachment = Attachment(
        article_id=article.id, name=name, stored=stored, content_type=kind.content_type, size=len(data),
        created_at=utcnow(), created_by=user,
    )  # fmt: skip
    session.add(attachment)
    session.flush()
    return attachment


def _write_once(path: Path, data: bytes) -> None:
    """Write the file unless it is there already; a half-written file is never visible (rename)."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(temporary, path)  # two uploads of the same bytes: the same content either way
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def readable(session: Session, stored: str, name: str, *, statuses) -> Attachment | None:
    """The attachment served at /attachments/<stored>/<name>, if it belongs to an article in `statuses`."""
    if not _STORED.fullmatch(stored):
        return None
    query = (
        select(Attachment)
        .join(Article, Article.id == Attachment.article_id)
        .where(Attachment.stored == stored, Attachment.name == name, Article.status.in_(statuses))
    )
    return session.scalars(query.limit(1)).first()


_STORED = re.compile(r"[0-9a-f]{64}\.[a-z]{3,4}")


def url_path(attachment: Attachment) -> str:
    """The address an article's Markdown uses for the file, the same in every kb instance."""
    return f"/attachments/{attachment.stored}/{attachment.name}"


def of_article(session: Session, article: Article) -> list[Attachment]:
    return list(session.scalars(select(Attachment).where(Attachment.article_id == article.id).order_by(Attachment.id)))


def path_of(attachment: Attachment, instance_dir: Path) -> Path:
    return folder(instance_dir) / attachment.stored[:2] / attachment.stored


def markdown_for(attachment: Attachment) -> str:
    """What an author pastes into the article to show (an image) or offer (anything else) the file."""
    url = url_path(attachment)
    return f"![{attachment.name}]({url})" if kind_of(attachment.name).inline else f"[{attachment.name}]({url})"


# --- in article files (kb export / kb import) --------------------------------------------------------

FILE_KEY = "attachments"  # front matter: [{name: panel.png, file: <sha256>.png}, ...]
FILES_FOLDER = "attachments"  # beside the exported articles, one file per stored name


def file_entries(article: Article) -> list[dict[str, str]]:
    return [{"name": a.name, "file": a.stored} for a in article.attachments]


def export_files(articles: list[Article], folder: Path, instance_dir: Path) -> int:
    """Copy the files of `articles` into `folder/attachments/`; return how many were written."""
    written = 0
    for attachment in {a.stored: a for article in articles for a in article.attachments}.values():
        source = path_of(attachment, instance_dir)
        if source.is_file():
            target = folder / FILES_FOLDER / attachment.stored
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
            written += 1
    return written


def take_file_entries(extra: dict) -> tuple[list[dict[str, str]], dict]:
    """The FILE_KEY entries of an imported file's extra front matter (when well formed) and the rest."""
    entries = extra.get(FILE_KEY)
    well_formed = isinstance(entries, list) and all(
        isinstance(e, dict) and isinstance(e.get("name"), str) and isinstance(e.get("file"), str) for e in entries
    )
    if not well_formed:
        return [], extra
    return entries, {k: v for k, v in extra.items() if k != FILE_KEY}


def import_entries(
    session: Session, article: Article, entries: list[dict[str, str]], source: Path, *, user, instance_dir: Path
) -> list[str]:
    """Attach each entry's file from `source/attachments/` unless already attached; what went wrong, per file."""
    problems = []
    have = {(a.stored, a.name) for a in of_article(session, article)}
    for entry in entries:
        name, stored = entry["name"], entry["file"]
        if (stored, name) in have:
            continue
        path = source / FILES_FOLDER / stored
        if not _STORED.fullmatch(stored) or not path.is_file() or path.is_symlink():
            problems.append(f"attachment '{name[:80]}': {FILES_FOLDER}/{stored[:80]} is missing; not attached")
            continue
        with path.open("rb") as stream:
            try:
                data = read_bounded(stream)
            except AttachmentRefused as refused:
                problems.append(f"attachment '{name[:80]}': {refused}")
                continue
        try:
            attached = store_upload(session, article, name, data, user=user, instance_dir=instance_dir)
        except AttachmentRefused as refused:
            problems.append(f"attachment '{name[:80]}': {refused}")
            continue
        if attached.stored != stored or attached.name != name:
            problems.append(
                f"attachment '{name[:80]}': its file does not match {stored[:16]}...; attached as {attached.name}"
            )
        have.add((attached.stored, attached.name))
    return problems
