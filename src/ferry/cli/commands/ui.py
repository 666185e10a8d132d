"""``ferry ui``: serve the local web UI for a project on 127.0.0.1.

It prints a login link carrying a token made for this start; without it the UI answers 401.
The UI calls the same engine functions as the commands (see ``ferry.ui``).
"""

from __future__ import annotations

from pathlib import Path

import typer

from ferry.cli.common import ProjectOpt, project_at
from ferry.cli.console import console


def register(app: typer.Typer) -> None:
    @app.command("ui")
    def ui(project: Path = ProjectOpt,
           port: int = typer.Option(0, help="port on 127.0.0.1 (0: any free port)")) -> None:
        """Serve the web UI (map review, PHI queue, run control, reports, rollback)."""
        import uvicorn

        from ferry.ui.app import bind, create_app

        proj = project_at(project)
        _ = proj.settings  # a missing or bad ferry.yaml fails here, before serving
        web = create_app(proj.root)
        sock = bind(port)
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        console.print(f"Ferry UI for {proj.settings.project} at {url}")
        console.print(f"log in (this link works until the server stops): "
                      f"{url}/login?token={web.state.ui.guard.token}", soft_wrap=True)
        server = uvicorn.Server(uvicorn.Config(web, log_level="warning", access_log=False,
                                               lifespan="off"))
        server.run(sockets=[sock])
