"""``hyperpipe.testing``: contract test suites that every backend implementation must pass."""
