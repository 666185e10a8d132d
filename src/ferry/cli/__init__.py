"""The ``ferry`` command line (typer + rich)."""
