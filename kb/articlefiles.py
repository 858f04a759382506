"""Article files: Markdown with YAML front matter, kb's import and export format.

Real articles arrive as their authors wrote them: unknown keys, DocFX conventions, YAML that a
strict parser rejects. The reader keeps every key it does not understand (export writes them
back), falls back to a line-based reading where YAML quoting is broken, and reports a file it
cannot read as `path:line: reason` instead of raising.

Files come from anywhere (a share, a zip from another team), so reading is bounded: a file is
refused from its size before it is read, front matter has a size and a nesting limit and no YAML
aliases, and a symbolic link never leads the import out of the folder it was given.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import yaml
from sqlalchemy import select
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from kb import attachments, limits, store, verification
from kb.datafiles import DataFileError, RefusingComposer, YAMLRefused
from kb.models import Article, Audience, Status, User

KEY_ORDER = ("title", "slug", "summary", "product", "audience", "status", "tags")
# Keys that other publishing systems use for one of ours. DocFX calls the summary `description`.
ALIASES = {"description": "summary"}
# Real front matter is a few hundred characters; a limit keeps YAML parsing cheap whatever the file.
MAX_FRONT_MATTER_CHARS = 64 * 1024


class ArticleFileError(DataFileError):
    """An article file that cannot be imported, with the place and the reason."""


@dataclass
class FileWarning:
    path: str
    line: int | None
    reason: str

    def __str__(self) -> str:
        return str(ArticleFileError(self.path, self.line, self.reason))


@dataclass
class ParsedFile:
    path: str
    fields: store.ArticleFields
    warnings: list[FileWarning] = field(default_factory=list)
    key_lines: dict[str, int] = field(default_factory=dict)  # front-matter key -> line in the file


# --- reading ------------------------------------------------------------------------------------


class _FrontMatterLoader(RefusingComposer, yaml.SafeLoader):
    """SafeLoader that leaves dates as written (`ms.date: 2023-12-25` must export unchanged) and
    refuses aliases and deep nesting (see RefusingComposer)."""


_FrontMatterLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def read_article_file(path: Path, *, default_status: Status = Status.PUBLISHED, name: str | None = None) -> ParsedFile:
    """Parse one article file; raise ArticleFileError when it cannot be imported."""
    name = name or str(path)
    text = _decode(_read_bounded(path, name), name)
    front_lines, body = _split_front_matter(text, name)
    warnings: list[FileWarning] = []
    meta = _load_front_matter(front_lines, name, warnings)
    data = _fields_from(meta, front_lines, path, name, default_status, warnings)
    data.body = body
    return ParsedFile(name, data, warnings, _key_lines(front_lines))


def _read_bounded(path: Path, name: str) -> bytes:
    """Read the file, refusing one far larger than an article from its size, before reading it."""
    body_limit = limits.limit("MAX_ARTICLE_BYTES")
    cap = body_limit + MAX_FRONT_MATTER_CHARS
    try:
        # O_NONBLOCK: opening a FIFO named like an article must not wait for a writer.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as fh:
            info = os.fstat(fh.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise ArticleFileError(name, None, "not a regular file")
            raw = fh.read(cap + 1) if info.st_size <= cap else b""
    except OSError as exc:
        raise ArticleFileError(name, None, f"cannot be read ({exc.strerror or exc})") from None
    if info.st_size > cap or len(raw) > cap:
        size = max(info.st_size, len(raw))
        reason = f"the file is {size:,} bytes, more than an article may be (the body limit is {body_limit:,} bytes)"
        raise ArticleFileError(name, None, reason)
    if not raw:
        raise ArticleFileError(name, None, "the file is empty")
    return raw


def _decode(raw: bytes, name: str) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ArticleFileError(
            name, line, f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})"
        ) from None
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def _split_front_matter(text: str, name: str) -> tuple[list[str], str]:
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        raise ArticleFileError(name, 1, "no front matter: the file must start with a '---' line")
    size = 0
    for number, line in enumerate(lines[1:], start=1):
        if line.rstrip() in ("---", "..."):
            return lines[1:number], "\n".join(lines[number + 1 :])
        size += len(line) + 1
        if size > MAX_FRONT_MATTER_CHARS:
            raise ArticleFileError(
                name, 1, f"front matter is longer than {MAX_FRONT_MATTER_CHARS:,} characters (or its '---' is missing)"
            )
    raise ArticleFileError(name, 1, "front matter is not closed: no second '---' line")


def _load_front_matter(lines: list[str], name: str, warnings: list[FileWarning]) -> dict[str, Any]:
    try:
        meta = yaml.load("\n".join(lines), Loader=_FrontMatterLoader)
    except YAMLRefused as exc:  # not a quoting slip: the lenient reading must not accept it either
        raise ArticleFileError(name, exc.problem_mark.line + 2, f"front matter: {exc.problem}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        meta = _lenient_front_matter(lines, name)
        if meta is None:
            raise ArticleFileError(name, line, f"front matter is not valid YAML: {problem}") from None
        warnings.append(FileWarning(name, line, f"front matter is not valid YAML ({problem}); read line by line"))
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise ArticleFileError(name, 2, "front matter must be a set of 'key: value' lines")
    return {str(k): v for k, v in meta.items()}


_KEY_LINE = re.compile(r"^([A-Za-z_][\w.\-]*)\s*:(?:\s+(.*))?$")


def _lenient_front_matter(lines: list[str], name: str) -> dict[str, Any] | None:
    """Read front matter line by line when YAML rejects it; None when even that fails.

    Only mis-quoted scalars are rescued (a quoted phrase followed by more text, unescaped quotes
    inside quotes): anything else that is not `key: value`, a list item or a comment is an error,
    and what the YAML loader refuses (an anchor on this line) stays refused.
    """
    meta: dict[str, Any] = {}
    key: Any = None
    for number, line in enumerate(lines, start=2):
        try:
            key = _lenient_line(line, meta, key)
        except YAMLRefused as exc:
            raise ArticleFileError(name, number, f"front matter: {exc.problem}") from None
        if key is _UNREADABLE:
            return None
    return {k: (v if v != [] else None) for k, v in meta.items()}


def _lenient_line(line: str, meta: dict[str, Any], key: str | None) -> Any:
    """Add what `line` says to `meta`; return the key list items now belong to, or _UNREADABLE."""
    stripped = line.strip()
    if not stripped or stripped.startswith("#"):
        return key
    item = re.match(r"^\s*-\s+(.*)$", line)
    if item and key is not None and isinstance(meta[key], list):
        meta[key].append(_lenient_scalar(item.group(1)))
        return key
    match = _KEY_LINE.match(line.rstrip())
    if match is None:
        return _UNREADABLE
    key, value = match.group(1), (match.group(2) or "").strip()
    if not value:
        meta[key] = []
    elif value[0] in "[{":
        meta[key] = _lenient_flow(value)
        if meta[key] is _UNREADABLE:
            return _UNREADABLE
    else:
        meta[key] = _lenient_scalar(value)
    return key


_UNREADABLE = object()


def _lenient_flow(value: str) -> Any:
    try:
        return yaml.load(value, Loader=_FrontMatterLoader)
    except YAMLRefused:
        raise
    except yaml.YAMLError:
        return _UNREADABLE


def _lenient_scalar(value: str) -> Any:
    value = re.sub(r"\s+#.*$", "", value) if not value.startswith(("'", '"')) else value
    try:
        return yaml.load(value, Loader=_FrontMatterLoader)
    except YAMLRefused:
        raise
    except yaml.YAMLError:
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            return value[1:-1]
        return value


def _key_lines(front_lines: list[str]) -> dict[str, int]:
    """Map each top-level front-matter key to its line number in the file (line 1 is '---')."""
    lines: dict[str, int] = {}
    for number, line in enumerate(front_lines, start=2):
        match = _KEY_LINE.match(line.rstrip())
        if match:
            key = match.group(1)
            lines.setdefault(ALIASES.get(key, key), number)
    return lines


def _fields_from(
    meta: dict[str, Any],
    front_lines: list[str],
    path: Path,
    name: str,
    default_status: Status,
    warnings: list[FileWarning],
) -> store.ArticleFields:
    key_lines = _key_lines(front_lines)

    def fail(key: str, reason: str) -> ArticleFileError:
        return ArticleFileError(name, key_lines.get(key), reason)

    meta = _apply_aliases(meta)
    extra = {k: _json_safe(v) for k, v in meta.items() if k not in KEY_ORDER}
    title = meta.get("title")
    if not isinstance(title, (str, int, float)) or not str(title).strip():
        raise fail("title", "missing title: add a 'title:' line to the front matter")
    status = meta.get("status")
    if status is None:
        status = default_status.value
    elif str(status).strip().lower() not in {s.value for s in Status}:
        allowed = ", ".join(s.value for s in Status)
        raise fail("status", f"unknown status '{status}' (use one of: {allowed})")
    audience = meta.get("audience")
    if audience is None or str(audience).strip().lower() not in {a.value for a in Audience}:
        if audience is not None:
            extra["audience"] = _json_safe(audience)  # kept and written back; kb treats it as internal
            warnings.append(
                FileWarning(
                    name,
                    key_lines.get("audience"),
                    f"audience is not internal or external ('{audience}'); kept as written, treated as internal",
                )
            )
        audience = Audience.INTERNAL.value
    slug = meta.get("slug")
    slug = str(slug).strip() if slug is not None else store.slugify(path.stem)
    return store.ArticleFields(
        slug=slug,
        title=str(title),
        summary=_text(meta.get("summary")),
        tags=_tags(meta.get("tags"), fail),
        product=_text(meta.get("product")),
        audience=Audience(str(audience).strip().lower()),
        status=Status(str(status).strip().lower()),
        extra=extra,
    )


def _apply_aliases(meta: dict[str, Any]) -> dict[str, Any]:
    meta = dict(meta)
    for alias, key in ALIASES.items():
        if key not in meta and alias in meta:
            meta[key] = meta.pop(alias)
    return meta


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _tags(value: Any, fail: Callable[[str, str], ArticleFileError]) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [t for t in (part.strip() for part in value.split(",")) if t]
    if isinstance(value, list) and all(isinstance(t, (str, int, float)) for t in value):
        return [str(t) for t in value]
    raise fail("tags", "tags must be a list of words, e.g. 'tags: [vpn, network]'")


def _json_safe(value: Any) -> Any:
    """Make a YAML value storable as JSON (YAML allows dates and non-string keys; JSON does not)."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


# --- writing ------------------------------------------------------------------------------------


def dump_article(data: store.ArticleFields | Article) -> str:
    """Return the file text of an article: front matter in a fixed key order, then the body.

    An article (not bare fields) also carries who keeps it right: owner, review and verification.
    """
    stewardship = verification.file_values(data) if isinstance(data, Article) else {}
    if isinstance(data, Article) and data.attachments:
        stewardship[attachments.FILE_KEY] = attachments.file_entries(data)
    if isinstance(data, Article):
        data = store.ArticleFields.of(data)
    meta: dict[str, Any] = {
        "title": data.title,
        "slug": data.slug,
        "summary": data.summary,
        "product": data.product,
        "audience": data.extra.get("audience", data.audience.value),
        "status": data.status.value,
        "tags": list(data.tags),
        **stewardship,
    }
    meta.update((k, v) for k, v in data.extra.items() if k not in meta)
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, default_flow_style=False, width=10_000)
    return f"---\n{front}---\n{data.body}"


# --- import and export --------------------------------------------------------------------------


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    errors: list[DataFileError] = field(default_factory=list)
    warnings: list[FileWarning] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def article_paths(path: Path) -> list[Path]:
    """The article files at `path`: the file itself, or every `*.md` below a folder, sorted.

    Symbolic links are listed, never walked into (so a link loop cannot recurse): a linked folder
    leading out of `path` is listed itself, for the import to name it as refused; one inside it is
    walked anyway; a linked file whose target is listed already would be the same article twice.
    """
    if not path.is_dir():
        return [path]
    root = path.resolve()
    found: list[Path] = []
    for folder, dirs, files in os.walk(path):
        base = Path(folder)
        found += [base / f for f in files if f.endswith(".md") and not f.startswith(".")]
        found += [base / d for d in dirs if (base / d).is_symlink() and _outside(base / d, root)]
    real = {p.resolve() for p in found if not p.is_symlink()}
    return sorted(p for p in found if not (p.is_symlink() and _target(p) in real))


def _target(path: Path) -> Path | None:
    """Where a link finally leads, or None for a broken or looping one."""
    try:
        return path.resolve(strict=True)
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop (Python before 3.13)
        return None


def _outside(path: Path, root: Path) -> bool:
    target = _target(path)
    return target is None or not target.is_relative_to(root)


def refuse_links_out(path: Path, root: Path, name: str) -> None:
    """Refuse a file that leads out of the imported folder, or nowhere, through a symbolic link."""
    target = _target(path)
    if target is None:
        raise ArticleFileError(name, None, "a broken or looping symbolic link: not imported")
    if not target.is_relative_to(root.resolve()):
        raise ArticleFileError(name, None, f"a symbolic link to {target}, outside the imported folder: not imported")


def _shown(name: str) -> str:
    """A file name as it can be printed: bytes that are not UTF-8 and control characters escaped."""
    text = name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def refuse_odd_names(path: Path, name: str) -> None:
    """Refuse a file whose name is not text (bytes that are not UTF-8) or holds a control character:
    its slug and every message naming it would carry that along."""
    try:
        path.name.encode("utf-8")
    except UnicodeEncodeError:
        raise ArticleFileError(name, None, "the file name is not UTF-8 text; rename the file: not imported") from None
    problem = limits.text_problem(path.name)
    if problem:
        raise ArticleFileError(name, None, f"the file name {problem}; rename the file: not imported")


def import_articles(
    session: Session,
    paths: Iterable[Path],
    *,
    root: Path | None = None,
    user: User | None = None,
    default_status: Status = Status.PUBLISHED,
    on_file: Callable[[Path], None] | None = None,
    checkpoint: Callable[[], None] | None = None,
    batch: int = 50,
    instance_dir: Path | None = None,
) -> ImportReport:
    """Import article files; bad files are reported and skipped, good ones saved.

    Files whose content matches what is stored change nothing (no revision), so importing the
    same folder twice is harmless. A slug claimed by two files in one import is an error for
    the second file: neither silently overwrites the other. `checkpoint` (the caller's commit)
    runs after every `batch` files, so an import into a live kb never holds the database's
    write lock for long: agents keep searching and authors keep saving meanwhile.

    Whatever goes wrong with one file is that file's error: the store saves each article in a
    savepoint, so a failed save leaves the others of the batch in place. Only a database that
    cannot be reached (or a session a failure left unusable) stops the import.
    """
    report = ImportReport()
    claimed: dict[str, str] = {}
    for number, path in enumerate(paths, start=1):
        name = _shown(str(path.relative_to(root)) if root else str(path))
        try:
            refuse_odd_names(path, name)
            refuse_links_out(path, root or path.parent, name)
            files = Files(root or path.parent, instance_dir)
            _import_one(session, path, name, user, default_status, claimed, report, files)
        except ArticleFileError as error:
            report.errors.append(error)
        except (OperationalError, InterfaceError):
            raise
        except Exception as exc:  # noqa: BLE001 - one odd file must not stop the import of the rest
            if not session.is_active:
                raise
            report.errors.append(ArticleFileError(name, None, f"not imported: {type(exc).__name__}: {exc}"[:300]))
        if on_file:
            on_file(path)
        if checkpoint and number % batch == 0:
            checkpoint()
    if checkpoint:
        checkpoint()
    return report


@dataclass(frozen=True)
class Files:
    """Where an import finds the articles' attachments (`source/attachments/`) and keeps them."""

    source: Path
    instance_dir: Path | None


def _import_one(
    session: Session,
    path: Path,
    name: str,
    user: User | None,
    default_status: Status,
    claimed: dict[str, str],
    report: ImportReport,
    files: Files,
) -> None:
    parsed = read_article_file(path, default_status=default_status, name=name)
    slug = parsed.fields.slug
    if slug in claimed:
        raise ArticleFileError(name, None, f"duplicate slug '{slug}': already used by {claimed[slug]}")
    entries, parsed.fields.extra = attachments.take_file_entries(parsed.fields.extra)
    stewardship, parsed.fields.extra, notes = verification.take_file_values(session, parsed.fields.extra)
    parsed.warnings += [FileWarning(name, parsed.key_lines.get(note.split(" ", 1)[0]), note) for note in notes]
    try:
        result = _save_file(session, parsed.fields, user, f"Imported from {path.name}")
        steward_changed = verification.apply_file_values(session, result.article, stewardship)
        if entries and files.instance_dir is not None:
            notes = attachments.import_entries(
                session, result.article, entries, files.source, user=user, instance_dir=files.instance_dir
            )
            parsed.warnings += [FileWarning(name, parsed.key_lines.get(attachments.FILE_KEY), n) for n in notes]
    except store.ArticleInvalid as invalid:
        line = parsed.key_lines.get(invalid.errors[0].field)
        raise ArticleFileError(name, line, "; ".join(map(str, invalid.errors))) from None
    except (store.VersionConflict, StaleDataError) as conflict:
        raise ArticleFileError(
            name, None, f"not imported: {conflict}; someone is editing it, import it again"
        ) from None
    claimed[slug] = name
    report.warnings += parsed.warnings
    changed = result.changed or steward_changed
    bucket = report.created if result.created else report.updated if changed else report.unchanged
    bucket.append(slug)


def _save_file(session: Session, data: store.ArticleFields, user: User | None, message: str) -> store.SaveResult:
    """Create the article, or update the one with its slug (an import is meant to replace it).

    Someone saving the same article at the same moment is not overwritten: the import tries once
    more on top of their save, then reports the file.
    """
    for attempt in range(2):
        existing = store.find_by_slug(session, data.slug.strip())
        try:
            if existing is None:
                return store.create_article(session, data, user=user, message=message)
            return store.update_article(session, existing, data, user=user, based_on=None, message=message)
        except (store.VersionConflict, store.SlugTaken):
            if attempt:
                raise
    raise AssertionError("unreachable")


def export_articles(
    session: Session,
    folder: Path,
    *,
    instance_dir: Path | None = None,
    on_file: Callable[[Article], None] | None = None,
) -> int:
    """Write every article to `folder/<slug>.md`, and their files to `folder/attachments/`; return
    how many articles were written."""
    folder.mkdir(parents=True, exist_ok=True)
    count = 0
    exported = []
    for article in session.scalars(select(Article).order_by(Article.slug)):
        (folder / f"{article.slug}.md").write_text(dump_article(article), encoding="utf-8", newline="\n")
        count += 1
        if article.attachments:
            exported.append(article)
        if on_file:
            on_file(article)
    if instance_dir is not None and exported:
        attachments.export_files(exported, folder, instance_dir)
    return count
