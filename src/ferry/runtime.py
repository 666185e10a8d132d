"""A verb's process and Python's cyclic garbage collector.

A Ferry verb is a short process that imports ~300-500 modules (pydantic, the canonical
entities, the map's compiler, a connector) and keeps them until it exits. The collector walks
every object it tracks at each full pass: the imports' objects in a full pass during the run
(~0.02 CPU-s each on a 3-patient reconcile), and again in the interpreter's own passes at exit
(~0.07 CPU-s: most of the exit). ``started`` (the CLI's ``main`` and the engine tests' driver,
after the verb's imports) moves what exists then into the collector's permanent generation
(``gc.freeze``), where it is never walked; objects made later are collected as before.
``importing``, just before those imports, turns the collector off until ``started``: the
imports make objects that live until exit, and its young-generation passes over them found
little to free (~100 passes during a reconcile's imports).

At exit (``_at_exit``) one full collection runs first, so every object that is garbage then is
collected and finalised as before (files, connections); then the rest, what the modules still
hold, is frozen, and the interpreter's teardown frees it by reference counts without walking
it. The staging stores still open are closed explicitly at exit (``ferry.model.staging``), not
left to that teardown.

``importing`` also keeps pydantic's plugins out of the verb (``_no_pydantic_plugins``): a
pydantic plugin is handed every value validated, and Ferry validates patients' records, so
none that happens to be installed beside Ferry may see them. It saves the plugin loader's
``importlib.metadata`` import and entry-point scan at the first model built (~0.02 CPU-s in
every verb).
"""

from __future__ import annotations

import atexit
import gc
import sys
import types

_started = False
_paused = False


def importing() -> None:
    """Call just before the verb's imports, with ``started`` right after them: no collection
    in between (``started`` turns the collector back on, if this turned it off)."""
    global _paused
    _no_pydantic_plugins()
    if not _started and gc.isenabled():
        gc.disable()
        _paused = True


def started() -> None:
    """Call once the verb's modules are imported, before its work (a second call does
    nothing: freezing again would keep that call's live objects from ever being collected)."""
    global _started, _paused
    if _paused:
        gc.enable()
        _paused = False
    if _started:
        return
    _started = True
    gc.freeze()
    atexit.register(_at_exit)


def _at_exit() -> None:
    gc.collect()
    gc.freeze()


def _no_pydantic_plugins() -> None:
    """No pydantic plugin in this process. Pydantic looks its plugins up (``get_plugins``, in
    ``pydantic.plugin._loader``, imported when the first model is built) among the installed
    packages' entry points; ``PYDANTIC_DISABLE_PLUGINS`` skips the look-up but still imports
    ``importlib.metadata`` for it. The loader stands here as a module whose ``get_plugins``
    finds none; a pydantic that has already loaded its own, or has moved it, is left as it is
    (the variable still turns its plugins off)."""
    import os

    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    name = "pydantic.plugin._loader"
    if name not in sys.modules:
        loader = types.ModuleType(name, "Ferry loads no pydantic plugin (ferry.runtime).")
        loader.get_plugins = lambda: ()  # type: ignore[attr-defined]
        sys.modules[name] = loader
