"""Reading an uploaded file from a request, for the API and the editor page alike."""

from __future__ import annotations

from pathlib import Path

from flask import current_app, request
from flask_login import current_user
from sqlalchemy.orm import Session

from kb import attachments
from kb.models import Article, Attachment


def from_request(session: Session, article: Article) -> Attachment:
    """The request's multipart field `file`, stored for `article` (kb.views lets its request be
    as large as one attachment); AttachmentRefused says what is wrong with it."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise attachments.AttachmentRefused('send the file as multipart form data in a field named "file"')
    data = attachments.read_bounded(upload.stream)
    return attachments.store_upload(
        session, article, upload.filename, data, user=current_user, instance_dir=Path(current_app.instance_path)
    )
