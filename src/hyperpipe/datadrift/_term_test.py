"""The model-free test on documents: do the new documents use words the baseline did not?

Three statistics, each valid at every window size, combined with Bonferroni:

- **novelty** (a rank test): each document's share of distinct tokens never seen in one half of
  the baseline. The window's scores are compared with the other half's by a one-sided
  Mann-Whitney test: documents are independent, so its p-value is exact whatever the window
  size. Later posts (new threads, names, subjects) and posts on new topics both raise it.
- **emerging terms** (the largest ``z``) and **term cluster** (the sum of the ten largest
  ``z²``): for each vocabulary term the window's share of documents containing it is compared
  with the baseline's on the variance-stabilised (Anscombe arcsine) scale, so a term's ``z`` is
  close to standard normal whatever its frequency. A new topic brings a cluster of terms at
  once. Terms are correlated and rare ones are lumpy, so these two are calibrated for the
  window size at hand by drawing windows of that size from the baseline and comparing each with
  the rest of it (kept per size).

Fixed thresholds (PSI > 0.1, a classifier's AUC > 0.55) cannot do this: their null
distribution moves with the window size.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

import numpy as np

from hyperpipe.datadrift._result import TestOutcome, bonferroni
from hyperpipe.datadrift._text import TermVocabulary, presence_of, token_sets
from hyperpipe.exceptions import UserErrorException

if TYPE_CHECKING:
    from collections.abc import Sequence

    from scipy import sparse

__all__ = ["TermShiftTest"]

TOP_TERMS = 10
_CHUNK = 50


def _stabilised(count: np.ndarray, size: np.ndarray | float) -> np.ndarray:
    return 2.0 * np.arcsin(np.sqrt((count + 0.375) / (size + 0.75)))


def _novelty(tokens: list[set[str]], seen: set[str]) -> np.ndarray:
    return np.array([len(doc - seen) / len(doc) if doc else 0.0 for doc in tokens])


class TermShiftTest:
    """The calibrated text test against one baseline set of documents."""

    family = "terms"

    def __init__(
        self,
        baseline: Sequence[str],
        *,
        max_terms: int = 40_000,
        min_documents: int = 2,
        null_draws: int = 400,
        seed: int = 0,
    ) -> None:
        if len(baseline) < 2 * 50:
            raise UserErrorException(
                f"the text baseline has {len(baseline)} documents; the text test needs at least "
                "100 (twice SDK v1's minimum of 50): register a larger baseline dataset"
            )
        tokens = token_sets(baseline)
        counts: Counter[str] = Counter()
        for doc in tokens:
            counts.update(doc)
        kept = [t for t, c in counts.most_common(max_terms) if c >= min_documents]
        self.vocabulary = TermVocabulary(tuple(sorted(kept)))
        self._index = self.vocabulary.lookup()
        self._baseline: sparse.csr_matrix = presence_of(tokens, self.vocabulary, self._index)
        self._counts = np.asarray(self._baseline.sum(axis=0)).ravel()
        order = np.random.default_rng(seed).permutation(len(tokens))
        half = len(order) // 2
        self._seen: set[str] = set().union(*(tokens[i] for i in order[:half]))
        self._known: set[str] = set(counts)
        self._reference = _novelty([tokens[i] for i in order[half:]], self._seen)
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
    def _statistics(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        top = np.partition(z, z.shape[-1] - TOP_TERMS, axis=-1)[..., -TOP_TERMS:]
        return top.max(axis=-1), (np.clip(top, 0, None) ** 2).sum(axis=-1)

    def null(self, size: int) -> tuple[np.ndarray, np.ndarray]:
        """The sorted null draws of (largest z, sum of the ten largest z²) for ``size``."""
        if size not in self._nulls:
            from scipy import sparse

            total = self.baseline_size
            if size > total // 2:
                raise UserErrorException(
                    f"a window of {size} documents needs a baseline of at least {2 * size}; it "
                    f"has {total}: register a larger baseline or check smaller windows"
                )
            rng = np.random.default_rng([self._seed, size])
            largest, cluster = [], []
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
                top, sums = self._statistics(z)
                largest.append(top)
                cluster.append(sums)
            self._nulls[size] = (np.sort(np.concatenate(largest)), np.sort(np.concatenate(cluster)))
        return self._nulls[size]

    def test(self, documents: Sequence[str]) -> TestOutcome:
        """Compare ``documents`` (one window) with the baseline."""
        from scipy import stats

        size = len(documents)
        if size < 50:
            raise UserErrorException(
                f"the window has {size} documents; a drift check needs at least 50 (SDK v1's "
                "minimum): widen the window (frequency) or wait for more data"
            )
        tokens = token_sets(documents)
        window = np.asarray(presence_of(tokens, self.vocabulary, self._index).sum(axis=0)).ravel()
        z = self._z(window, size, self._counts, float(self.baseline_size))
        largest, cluster = (float(v) for v in self._statistics(z))
        null_largest, null_cluster = self.null(size)
        draws = len(null_largest)
        p_largest = (1 + draws - np.searchsorted(null_largest, largest)) / (draws + 1)
        p_cluster = (1 + draws - np.searchsorted(null_cluster, cluster)) / (draws + 1)
        novelty = _novelty(tokens, self._seen)
        p_novelty = float(
            stats.mannwhitneyu(novelty, self._reference, alternative="greater").pvalue
        )
        typical = float(np.median(null_cluster))
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
        unknown: Counter[str] = Counter()
        for doc in tokens:
            unknown.update(doc - self._known)
        new_terms = [
            {"term": term, "z": None, "target_share": round(count / size, 4), "baseline_share": 0.0}
            for term, count in unknown.most_common(10)
            if count >= max(3, 0.02 * size)
        ]
        explanation = new_terms + explanation
        excess = np.clip(z[order], 0.0, None) ** 2
        total_excess = float(excess.sum()) or 1.0
        return TestOutcome(
            family=self.family,
            p_value=bonferroni([float(p_largest), float(p_cluster), p_novelty]),
            window_size=size,
            coefficient=round(coefficient, 4),
            statistics={
                "max_z": largest,
                "top_z2": cluster,
                "novelty": float(novelty.mean()),
                "baseline_novelty": float(self._reference.mean()),
                "p_max_z": float(p_largest),
                "p_top_z2": float(p_cluster),
                "p_novelty": p_novelty,
            },
            explanation=explanation,
            contributions={
                terms[i]: float(e) / total_excess for i, e in zip(order, excess, strict=True) if e
            },
        )
