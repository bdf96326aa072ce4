"""Black-box shift detection on a model's class probabilities (Lipton et al. 2018, Rabanser
et al. 2019): if the documents drift in a way that matters to the model, its outputs move.

Three kinds of test, combined with Bonferroni over all of them: a two-sample Kolmogorov-Smirnov
test per class probability, a chi-square test of the predicted-class histogram, and a one-sided
Mann-Whitney test for a drop in confidence (the top probability). The baseline probabilities must
come from documents the model did not train on, or the baseline looks more confident than any
new window and every window "drifts".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from hyperpipe.datadrift._result import TestOutcome, bonferroni
from hyperpipe.exceptions import UserErrorException

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["ClassProbabilityTest"]


def _check(probabilities: np.ndarray, classes: Sequence[str], what: str) -> np.ndarray:
    array = np.asarray(probabilities, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != len(classes):
        raise UserErrorException(
            f"{what} class probabilities have shape {array.shape}; expected (documents, "
            f"{len(classes)}), one column per class {list(classes)[:5]}...: score with the model "
            "the detector was created with"
        )
    return array


class ClassProbabilityTest:
    """The model-output tests against one baseline's class probabilities."""

    family = "classes"

    def __init__(self, baseline: np.ndarray, classes: Sequence[str]) -> None:
        self.classes = list(classes)
        self._baseline = _check(baseline, self.classes, "baseline")
        if len(self._baseline) < 50:
            raise UserErrorException(
                f"the baseline has {len(self._baseline)} scored documents; a drift test needs at "
                "least 50 (SDK v1's minimum): register a larger baseline dataset"
            )
        self._predicted = np.bincount(self._baseline.argmax(axis=1), minlength=len(self.classes))
        self._confidence = self._baseline.max(axis=1)

    def test(self, probabilities: np.ndarray) -> TestOutcome:
        from scipy import stats

        target = _check(probabilities, self.classes, "target")
        size = len(target)
        p_values = [
            float(stats.ks_2samp(self._baseline[:, j], target[:, j]).pvalue)
            for j in range(len(self.classes))
        ]
        predicted = np.bincount(target.argmax(axis=1), minlength=len(self.classes))
        table = np.vstack([self._predicted, predicted])
        used = table.sum(axis=0) > 0
        if used.sum() >= 2:
            chi = stats.chi2_contingency(table[:, used])
            p_histogram = float(chi.pvalue)
        else:
            p_histogram = 1.0
        confidence = target.max(axis=1)
        p_confidence = float(
            stats.mannwhitneyu(confidence, self._confidence, alternative="less").pvalue
        )
        p_value = bonferroni([*p_values, p_histogram, p_confidence])

        base_share = self._predicted / self._predicted.sum()
        share = predicted / max(size, 1)
        pooled = (self._predicted + predicted) / (self._predicted.sum() + size)
        spread = np.sqrt(
            np.maximum(pooled * (1 - pooled), 1e-12) * (1 / size + 1 / self._predicted.sum())
        )
        z = (share - base_share) / spread
        order = np.argsort(-np.abs(z))
        explanation = [
            {
                "class": self.classes[j],
                "z": round(float(z[j]), 2),
                "target_share": round(float(share[j]), 4),
                "baseline_share": round(float(base_share[j]), 4),
            }
            for j in order[:10]
            if abs(z[j]) >= 2
        ]
        moved = np.abs(share - base_share)
        total_variation = float(moved.sum() / 2)
        return TestOutcome(
            family=self.family,
            p_value=p_value,
            window_size=size,
            coefficient=round(total_variation, 4),
            statistics={
                "p_class_ks_min": min(p_values),
                "p_predicted_histogram": p_histogram,
                "p_confidence_drop": p_confidence,
                "mean_confidence": float(confidence.mean()),
                "baseline_mean_confidence": float(self._confidence.mean()),
            },
            explanation=explanation,
            contributions={
                self.classes[j]: float(moved[j]) / (2 * total_variation or 1.0)
                for j in order
                if moved[j] > 0
            },
        )
