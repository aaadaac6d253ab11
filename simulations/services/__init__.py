"""Writes: ``runs`` (submit, execute, fail, reconcile) and ``scenarios`` (import)."""
