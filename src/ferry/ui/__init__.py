"""Local web UI (FastAPI): the same steps as the CLI, for people who would rather click."""
