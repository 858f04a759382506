"""kb's Alembic revisions, one module per schema change, applied in `down_revision` order.

This file only makes the folder a package, so a regular (non-editable) install ships the revisions
with the code. Alembic loads the revision files by path and skips `__init__.py`.
"""
