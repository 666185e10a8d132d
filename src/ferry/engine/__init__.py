"""The engine: plan, prepare, extract, load, id map, audit, delta, reconcile, rollback.

It never names a specific system: it asks the registry for connectors and branches only on
their declared capabilities.
"""
