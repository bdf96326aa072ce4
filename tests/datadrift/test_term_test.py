"""The calibrated text test: its level without drift, what it finds with drift, the thread-like
sharing of new tokens inside one window, and the tokeniser it relies on."""

from __future__ import annotations

import re

import numpy as np
import pytest

from hyperpipe.datadrift import TermShiftTest
from hyperpipe.datadrift._text import TOKEN, token_sets
from hyperpipe.exceptions import UserErrorException

COMMON = [f"word{i}" for i in range(300)]


def posts(count: int, seed: int, topic: list[str] | None = None, share: float = 0.0) -> list[str]:
    """Posts of 20 words from a Zipf-like vocabulary with rare names (a long tail of tokens
    seen once); ``share`` of them also carry words of ``topic``."""
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, len(COMMON) + 1)
    weights /= weights.sum()
    out = []
    for i in range(count):
        words = list(rng.choice(COMMON, size=20, p=weights))
        words.append(f"name{seed}x{i}")
        if topic and rng.random() < share:
            words += list(rng.choice(topic, size=4))
        out.append(" ".join(words))
    return out


@pytest.fixture(scope="module")
def fitted() -> TermShiftTest:
    return TermShiftTest(posts(800, seed=1), null_draws=400)


def test_windows_without_drift_alarm_at_about_the_stated_level() -> None:
    # The level holds over baselines: one fixed baseline's own sampling noise moves its rate a
    # little (a term it under-represents looks risen in every window), so five are drawn.
    alarms = {60: 0, 200: 0}
    for b in range(5):
        test = TermShiftTest(posts(800, seed=b), null_draws=400)
        for size in alarms:
            for k in range(24):
                alarms[size] += test.test(posts(size, seed=10_000 * (b + 1) + k)).p_value <= 0.05
    # 120 windows per size: 0.05 gives about 6 alarms; 13 or more (0.11) is far off the level.
    assert all(count <= 12 for count in alarms.values()), alarms


def test_a_new_topic_is_flagged_and_its_terms_explained(fitted) -> None:
    topic = ["hockey", "puck", "goalie", "stanley", "playoff"]
    outcome = fitted.test(posts(100, seed=7, topic=topic, share=0.3))
    assert outcome.p_value <= 0.01
    named = {row["term"] for row in outcome.explanation}
    assert set(topic) & named
    assert set(outcome.statistics) >= {"p_emerging_terms", "p_term_cluster", "p_novelty"}
    assert outcome.statistics["null_draws"] == 400


def test_the_smallest_p_value_is_one_over_the_null_draws_plus_one(fitted) -> None:
    flooded = [text + " zebra quagga okapi" for text in posts(60, seed=8)]
    assert fitted.test(flooded).p_value == pytest.approx(1 / 401)


def test_null_windows_count_tokens_shared_only_inside_them_as_new() -> None:
    # Baseline: 200 posts of common words, plus ten posts of one thread sharing "threadword".
    baseline = posts(200, seed=2) + [f"{text} threadword" for text in posts(10, seed=3)]
    test = TermShiftTest(baseline, null_draws=200, seed=1)
    values, _own = test.null(100)
    # A null window holding every thread post sees "threadword" as new; the mean novelty of the
    # null draws is then above what the baseline's once-only names alone give.
    singles_only = TermShiftTest(posts(210, seed=2), null_draws=200, seed=1).null(100)[0]
    assert values[:, 2].max() > singles_only[:, 2].max()


def test_an_unknown_statistic_to_combine_is_refused_with_the_choices() -> None:
    with pytest.raises(UserErrorException, match="combined names.*choose from emerging_terms"):
        TermShiftTest(posts(200, seed=1), combined=["largest_z"])


@pytest.mark.parametrize(
    "text",
    [
        "Hello, World! It's 2024-03-04; e-mail: A.B@Example.COM",
        "Ünïcödé naïve café x y z ab 1 22 \u212a elvin \u0130stanbul",
        "tabs\tand\nnewlines__under_scores--and...dots",
        "",
    ],
)
def test_token_sets_find_exactly_the_tokens_of_the_pattern(text: str) -> None:
    expected = {t.encode("ascii") for t in TOKEN.findall(text.lower())}
    assert token_sets([text]) == [expected]
    assert re.fullmatch(TOKEN.pattern, "ab")
