"""Featurising text for drift tests: documents -> the set of tokens each one contains, and
which vocabulary terms those are (one row of a sparse 0/1 matrix per document).

Presence, not counts: one long post cannot move a term's share, and a window's term shares are
then sums of independent 0/1 variables, which is what the calibrated tests assume.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import repeat
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Sequence

    from scipy import sparse

__all__ = ["TOKEN", "TermVocabulary", "presence_of", "token_sets"]

# The same tokens as the lab's classifier (lower-cased letters and digits, two or more).
TOKEN = re.compile(r"[a-z0-9]{2,}")
# token_sets finds the same tokens without the regular expression (a third faster): after
# lower-casing, every byte but a-z and 0-9 becomes a space (non-ASCII characters are "?" first),
# the text is split on spaces, and one-character tokens are dropped.
_SEPARATE = bytes(c if (48 <= c <= 57 or 97 <= c <= 122) else 32 for c in range(256))
_SINGLE = frozenset(bytes([c]) for c in range(256))


@dataclass(frozen=True)
class TermVocabulary:
    """The terms a text test looks at, in column order."""

    terms: tuple[str, ...]

    def lookup(self) -> dict[bytes, int]:
        """token (as ``token_sets`` gives it) -> column."""
        return {term.encode("ascii"): i for i, term in enumerate(self.terms)}


def token_sets(documents: Sequence[str]) -> list[set[bytes]]:
    """Each document's distinct tokens (``TOKEN``'s matches), as ASCII bytes."""
    out = []
    for text in documents:
        found = set(text.lower().encode("ascii", "replace").translate(_SEPARATE).split())
        found -= _SINGLE
        out.append(found)
    return out


def presence_of(
    tokens: Sequence[set[bytes]], vocabulary: TermVocabulary, lookup: dict[bytes, int]
) -> sparse.csr_matrix:
    """A documents x terms 0/1 CSR matrix: which vocabulary terms each document contains.
    ``lookup`` is ``vocabulary.lookup()``."""
    from scipy import sparse

    flat = [t for doc in tokens for t in doc]
    lengths = np.fromiter((len(doc) for doc in tokens), dtype=np.int64, count=len(tokens))
    # map(get, tokens, repeat(-1)) runs the dictionary look-ups in C.
    found = np.fromiter(map(lookup.get, flat, repeat(-1)), dtype=np.int64, count=len(flat))
    keep = found >= 0
    owners = np.repeat(np.arange(len(tokens)), lengths)[keep]
    pointers = np.zeros(len(tokens) + 1, dtype=np.int64)
    np.cumsum(np.bincount(owners, minlength=len(tokens)), out=pointers[1:])
    columns = found[keep].astype(np.int32)
    return sparse.csr_matrix(
        (np.ones(len(columns), dtype=np.float32), columns, pointers),
        shape=(len(tokens), len(vocabulary.terms)),
    )
