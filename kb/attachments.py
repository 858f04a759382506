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


def of_article(session: Session, article: Article) -> list[Attachment]:
    return list(session.scalars(select(Attachment).where(Attachment.article_id == article.id).order_by(Attachment.id)))


def path_of(attachment: Attachment, instance_dir: Path) -> Path:
    return folder(instance_dir) / attachment.stored[:2] / attachment.stored


def markdown_for(attachment: Attachment, url: str) -> str:
    """What an author pastes into the article to show (an image) or offer (anything else) the file."""
    return f"![{attachment.name}]({url})" if kind_of(attachment.name).inline else f"[{attachment.name}]({url})"
