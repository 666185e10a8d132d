"""Local emulators of every external system, and the synthetic practice generator.

Product code never imports this package; only ``ferry demo``, ``ferry sandbox`` and tests do.
"""
