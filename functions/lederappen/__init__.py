"""Lederappen backend: one deployable source, one Cloud Function per app feature."""
