"""``hyperpipe.examples``: the examples' reusable parts, shipped so the CLI can run them."""
