"""Real data, force-plate truth: the thresholds of issue 3 on the sacral data set (all trials)."""

from __future__ import annotations

from pathlib import Path

import pytest

from footfall.processing.validation import score_sacral
from footfall.recordings.alcantara import load_trials

DATA = Path(__file__).parents[1] / "data" / "sacral-grf-alcantarar"


@pytest.fixture(scope="module")
def scores() -> list:  # type: ignore[type-arg]
    return [score_sacral(t) for t in load_trials(DATA)]


def test_step_recall_and_precision_at_least_99_pct(scores: list) -> None:  # type: ignore[type-arg]
    tp = sum(s.true_pos for s in scores)
    recall = tp / (tp + sum(s.false_neg for s in scores))
    precision = tp / (tp + sum(s.false_pos for s in scores))
    assert len(scores) == 31
    assert recall >= 0.99 and precision >= 0.99


def test_cadence_within_1_spm_on_every_trial(scores: list) -> None:  # type: ignore[type-arg]
    for s in scores:
        assert s.cadence_spm is not None and s.cadence_truth_spm is not None
        assert abs(s.cadence_spm - s.cadence_truth_spm) <= 1.0, s


def test_steps_confirmed_within_100_ms(scores: list) -> None:  # type: ignore[type-arg]
    assert max(s.max_delay_ms for s in scores) <= 100.0
