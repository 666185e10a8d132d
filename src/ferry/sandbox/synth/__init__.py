"""The deterministic synthetic practice (``Practice``) with known dirt (``DirtRates``, ``Ledger``).

Used by the source sandboxes, the demo, benchmarks and tests; never by product code.
"""

from ferry.sandbox.synth.dirt import DirtRates, Ledger
from ferry.sandbox.synth.practice import OBJECTS, Practice

__all__ = ["OBJECTS", "DirtRates", "Ledger", "Practice"]
