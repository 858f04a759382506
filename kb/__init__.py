"""kb: a scriptless agent-assist knowledge base.

`create_app` is the only way to get an application; nothing here has side effects at import time,
so tests and the CLI each build exactly the app they need.
"""

from __future__ import annotations

from typing import Any, Mapping

from flask import Flask

from kb.config import PROJECT_ROOT, load_config, shipped_dir

__all__ = ["create_app", "PROJECT_ROOT"]


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build a kb application: config, database, login, CSRF, blueprints and the CLI."""
    app = Flask(__name__, template_folder=str(shipped_dir("templates")))
    load_config(app, test_config)  # also sets app.instance_path, inside the data folder

    from kb import assets, auth, background, db, search, security
    from kb.cli import register_cli
    from kb.views import register_blueprints

    db.init_app(app)
    auth.init_app(app)
    security.init_app(app)
    assets.init_app(app)
    search.init_app(app)
    background.init_app(app)
    register_blueprints(app)
    register_cli(app)
    return app
