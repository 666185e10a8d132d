"""One rich console for all commands; progress bars for long work."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.text import Text

console = Console()
err_console = Console(stderr=True)


def progress() -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeRemainingColumn(), console=console, transient=False)


def print_item(markup: str, indent: int = 2, hang: int = 4, *, plain: bool = False,
               to: Console | None = None) -> None:
    """One entry of a list printed at ``indent``, wrapped to the terminal with its continuation
    lines at ``hang``, so a long entry reads as one and the next entry's start stands out.
    ``plain``: the text is printed as it is (no markup); ``to``: another console (stderr)."""
    out_console = to or console
    text = Text(markup) if plain else Text.from_markup(markup)
    lines = text.wrap(out_console, max(20, out_console.width - hang))
    out = Text()
    for i, line in enumerate(lines):
        line.rstrip()
        out.append_text(Text(" " * (hang if i else indent)) + line)
        if i < len(lines) - 1:
            out.append("\n")
    out_console.print(out, soft_wrap=True)


def print_path(label: str, path: object, indent: int = 2, *, to: Console | None = None) -> None:
    """``label path`` on one line when it fits the terminal, else ``label`` and then the path
    alone on the next line; a path (or URL) is never wrapped, so it copies whole (a path
    longer than the terminal runs past its edge)."""
    out_console = to or console
    text = f"{' ' * indent}{label} {path}"
    if len(text) > out_console.width:
        out_console.print(f"{' ' * indent}{label}", highlight=False, soft_wrap=True)
        text = str(path)
    out_console.print(Text(text), highlight=False, soft_wrap=True)
