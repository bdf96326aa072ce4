"""``python -m hyperpipe``: the command line."""

from hyperpipe.cli import main

main()
