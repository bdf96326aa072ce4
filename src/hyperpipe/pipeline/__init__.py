"""``hyperpipe.pipeline``: pipelines of steps (public API in ``core`` and ``steps``; the graph,
reuse and the scheduler are internal)."""
