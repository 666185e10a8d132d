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
"""

from __future__ import annotations

import atexit
import gc

_started = False
_paused = False


def importing() -> None:
    """Call just before the verb's imports, with ``started`` right after them: no collection
    in between (``started`` turns the collector back on, if this turned it off)."""
    global _paused
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
