"""Make the example modules under ``examples/`` importable from these tests."""

from __future__ import annotations

import sys
from pathlib import Path

_NEWSGROUPS = Path(__file__).resolve().parents[2] / "examples" / "newsgroups"
if str(_NEWSGROUPS) not in sys.path:
    sys.path.insert(0, str(_NEWSGROUPS))
