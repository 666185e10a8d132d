"""Many migrations at once: Ferry's verbs as Temporal activities, one workflow per migration.

``workflow`` (deterministic, loaded in Temporal's sandbox), ``activities`` (the verbs),
``client`` (worker, submit, signal, state). See docs/DEPLOY.md.
"""
