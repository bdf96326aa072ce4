"""The model-free test on documents: do the new documents use words the baseline did not, or
use its words in other proportions?

Three statistics of a window, combined by one calibration:

- **novelty**: the mean over documents of the square root of each one's share of distinct tokens
  that no baseline document contains. Later posts (new threads, names, subjects) and posts on
  new topics both raise it.
- **emerging terms** (the sum of the three largest ``z²``) and **term cluster** (of the ten
  largest): for each term of at least two baseline documents, the window's share of documents
  containing it is compared with the baseline's on the variance-stabilised (Anscombe arcsine)
  scale, so a term's ``z`` is close to standard normal whatever its frequency. A new topic
  brings a cluster of terms at once.

All three are calibrated for the window size at hand by drawing windows of that size from the
baseline and comparing each with the rest of it, exactly as a new window is compared with the
whole baseline: a null window's novel tokens are those no other baseline document holds, so
tokens shared inside one window (a thread, a name) count as they do in new windows. The
p-value is a joint min-p (Westfall-Young): the smallest of the three calibrated p-values is
itself ranked among the null draws' smallest ones. This keeps the stated level at every window
size whatever the correlation between the statistics, and loses less power than Bonferroni.

Why not the simpler choices the first version made: the largest single ``z`` over ~30,000 terms
sits in the far tail, where a new window's terms vary slightly more than draws from the
baseline itself (the baseline is one finite sample; 20 Newsgroups' threads), and alarmed on
6 % of 100-document windows without drift; a Mann-Whitney test of novelty against half the
baseline assumed independent documents, which threads are not.

Fixed thresholds (PSI > 0.1, a classifier's AUC > 0.55) cannot do this: their null
distribution moves with the window size.
"""

from __future__ import annotations

from collections import Counter
from itertools import chain, compress, repeat
from typing import TYPE_CHECKING

import numpy as np

from hyperpipe.datadrift._result import TestOutcome
from hyperpipe.datadrift._text import TermVocabulary, presence_of, token_sets
from hyperpipe.exceptions import UserErrorException

if TYPE_CHECKING:
    from collections.abc import Sequence

    from scipy import sparse

__all__ = ["TermShiftTest"]

TOP_TERMS = 10
EMERGING_TERMS = 3
STATISTICS = ("emerging_terms", "term_cluster", "novelty")
_CHUNK = 50


def _stabilised(count: np.ndarray, size: np.ndarray | float) -> np.ndarray:
    return 2.0 * np.arcsin(np.sqrt((count + 0.375) / (size + 0.75)))


def _upper_p(null_sorted: np.ndarray, values: np.ndarray) -> np.ndarray:
    """(1 + null draws at or above each value) / (draws + 1), per column."""
    draws = null_sorted.shape[0]
    above = np.stack(
        [
            draws - np.searchsorted(null_sorted[:, k], values[..., k], side="left")
            for k in range(null_sorted.shape[1])
        ],
        axis=-1,
    )
    return (1.0 + above) / (draws + 1.0)


class TermShiftTest:
    """The calibrated text test against one baseline set of documents."""

    family = "terms"

    def __init__(
        self,
        baseline: Sequence[str],
        *,
        min_documents: int = 2,
        null_draws: int = 1000,
        seed: int = 0,
        combined: Sequence[str] = STATISTICS,
    ) -> None:
        if len(baseline) < 2 * 50:
            raise UserErrorException(
                f"the text baseline has {len(baseline)} documents; the text test needs at least "
                "100 (twice SDK v1's minimum of 50): register a larger baseline dataset"
            )
        tokens = token_sets(baseline)
        counts: Counter[bytes] = Counter()
        for doc in tokens:
            counts.update(doc)
        kept = sorted(t for t, c in counts.items() if c >= min_documents)
        self.vocabulary = TermVocabulary(tuple(t.decode("ascii") for t in kept))
        self._index = self.vocabulary.lookup()
        self._baseline: sparse.csr_matrix = presence_of(tokens, self.vocabulary, self._index)
        self._counts = np.asarray(self._baseline.sum(axis=0)).ravel()
        # One look-up per token at check time: its column, -1 for a baseline token below
        # min_documents, and (by default) -2 for a token no baseline document holds.
        self._code: dict[bytes, int] = dict.fromkeys(counts, -1)
        self._code.update(self._index)
        self._lengths = np.array([max(len(doc), 1) for doc in tokens], dtype=np.float64)
        # Tokens below min_documents are novel for their document whenever it is in a window.
        self._rare = np.array(
            [sum(1 for t in doc if counts[t] < min_documents) for doc in tokens], dtype=np.float64
        )
        unknown = sorted(set(combined) - set(STATISTICS))
        if unknown or not combined:
            raise UserErrorException(
                f"combined names {unknown or 'no statistic'}; choose from {', '.join(STATISTICS)}"
            )
        self._combined = [STATISTICS.index(name) for name in combined]
        self._null_draws = null_draws
        self._seed = seed
        self._nulls: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    @property
    def baseline_size(self) -> int:
        return int(self._baseline.shape[0])

    def _z(self, window: np.ndarray, size: int, reference: np.ndarray, total: float) -> np.ndarray:
        spread = np.sqrt(1.0 / (size + 0.5) + 1.0 / (total + 0.5))
        return (_stabilised(window, size) - _stabilised(reference, total)) / spread

    @staticmethod
    def _statistics(z: np.ndarray, novelty: np.ndarray) -> np.ndarray:
        """(..., 3): sum of the 3 and of the 10 largest positive z², mean sqrt novelty."""
        top = np.partition(z, z.shape[-1] - TOP_TERMS, axis=-1)[..., -TOP_TERMS:]
        rises = np.sort(np.clip(top, 0, None) ** 2, axis=-1)
        return np.stack(
            [
                rises[..., -EMERGING_TERMS:].sum(axis=-1),
                rises.sum(axis=-1),
                np.sqrt(novelty).mean(axis=-1),
            ],
            axis=-1,
        )

    def null(self, size: int) -> tuple[np.ndarray, np.ndarray]:
        """For ``size``: the null draws' statistics sorted per column (draws x 3), and each
        draw's own calibrated p-values (draws x 3)."""
        if size not in self._nulls:
            from scipy import sparse

            total = self.baseline_size
            if size > total // 2:
                raise UserErrorException(
                    f"a window of {size} documents needs a baseline of at least {2 * size}; it "
                    f"has {total}: register a larger baseline or check smaller windows"
                )
            rng = np.random.default_rng([self._seed, size])
            found = []
            for first in range(0, self._null_draws, _CHUNK):
                draws = min(_CHUNK, self._null_draws - first)
                rows = np.concatenate(
                    [rng.choice(total, size, replace=False) for _ in range(draws)]
                )
                pick = sparse.csr_matrix(
                    (np.ones(len(rows), dtype=np.float32), rows, np.arange(0, len(rows) + 1, size)),
                    shape=(draws, total),
                )
                windows = (pick @ self._baseline).toarray()
                z = self._z(windows, size, self._counts[None, :] - windows, float(total - size))
                # A term is novel for a null window when no baseline document outside it holds it.
                inside = windows == self._counts[None, :]
                picked = self._baseline[rows]
                row_of = np.repeat(np.arange(len(rows)), np.diff(picked.indptr))
                hit = inside[row_of // size, picked.indices]
                novel = np.bincount(row_of[hit], minlength=len(rows)) + self._rare[rows]
                novelty = (novel / self._lengths[rows]).reshape(draws, size)
                found.append(self._statistics(z, novelty))
            values = np.concatenate(found)
            ordered = np.sort(values, axis=0)
            draws = len(values)
            # Each draw's own p-values against all draws, itself included.
            own = (_upper_p(ordered, values) * (draws + 1.0) - 1.0) / draws
            self._nulls[size] = (ordered, own)
        return self._nulls[size]

    def _combined_p(self, p_each: np.ndarray, size: int, columns: Sequence[int]) -> float:
        """The joint min-p over ``columns``: how often a null draw's smallest p-value is at
        most the window's."""
        _values, own = self.null(size)
        null_min = np.sort(own[:, list(columns)].min(axis=1))
        smallest = float(p_each[list(columns)].min())
        hits = np.searchsorted(null_min, smallest, side="right")
        return float(min(1.0, (1.0 + hits) / (len(null_min) + 1.0)))

    def test(self, documents: Sequence[str]) -> TestOutcome:
        """Compare ``documents`` (one window) with the baseline."""
        size = len(documents)
        if size < 50:
            raise UserErrorException(
                f"the window has {size} documents; a drift check needs at least 50 (SDK v1's "
                "minimum): widen the window (frequency) or wait for more data"
            )
        tokens = token_sets(documents)
        lengths = np.fromiter(map(len, tokens), dtype=np.int64, count=size)
        codes = np.fromiter(
            map(self._code.get, chain.from_iterable(tokens), repeat(-2)),
            dtype=np.int64,
            count=int(lengths.sum()),
        )
        # Tokens are distinct within a document, so a term's count is its documents' count.
        window = np.bincount(codes[codes >= 0], minlength=len(self.vocabulary.terms))
        z = self._z(window, size, self._counts, float(self.baseline_size))
        is_new = codes == -2
        owners = np.repeat(np.arange(size), lengths)
        novelty = np.bincount(owners[is_new], minlength=size) / np.maximum(lengths, 1)
        observed = self._statistics(z, novelty)
        null_values, _own = self.null(size)
        draws = len(null_values)
        p_each = _upper_p(null_values, observed)
        p_value = self._combined_p(p_each, size, self._combined)
        typical = float(np.median(null_values[:, 1]))
        cluster = float(observed[1])
        coefficient = max(0.0, 1.0 - typical / cluster) if cluster > 0 else 0.0
        order = np.argsort(-z)[:10]
        terms = self.vocabulary.terms
        explanation = [
            {
                "term": terms[i],
                "z": round(float(z[i]), 2),
                "target_share": round(float(window[i]) / size, 4),
                "baseline_share": round(float(self._counts[i]) / self.baseline_size, 4),
            }
            for i in order
            if z[i] > 0
        ]
        new_counts = Counter(compress(chain.from_iterable(tokens), is_new.tolist()))
        new_terms = [
            {
                "term": term.decode("ascii"),
                "z": None,
                "target_share": round(count / size, 4),
                "baseline_share": 0.0,
            }
            for term, count in new_counts.most_common(10)
            if count >= max(3, 0.02 * size)
        ]
        explanation = new_terms + explanation
        excess = np.clip(z[order], 0.0, None) ** 2
        total_excess = float(excess.sum()) or 1.0
        statistics = {name: float(v) for name, v in zip(STATISTICS, observed, strict=True)}
        statistics.update(
            {f"p_{name}": float(p) for name, p in zip(STATISTICS, p_each, strict=True)}
        )
        statistics["max_z"] = float(z[order[0]]) if len(order) else 0.0
        statistics["null_draws"] = float(draws)
        return TestOutcome(
            family=self.family,
            p_value=p_value,
            window_size=size,
            coefficient=round(coefficient, 4),
            statistics=statistics,
            explanation=explanation,
            contributions={
                terms[i]: float(e) / total_excess for i, e in zip(order, excess, strict=True) if e
            },
        )
