"""A detector bank advancing many streams at once finds exactly what one detector per stream
finds (the batched path the benchmark measures)."""

from __future__ import annotations

import numpy as np

from footfall.processing.detector import StepDetector

from .synth import leg_run


def _inputs(accel: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    return (np.sqrt((accel ** 2).sum(axis=-1)), accel[..., 0],
            np.zeros(accel.shape[:-1], dtype=bool), accel)


def test_bank_equals_separate_detectors() -> None:
    runs = np.stack([leg_run(duration_s=8, cadence_spm=160 + 6 * k, seed=k).accel_g
                     for k in range(5)])
    det = StepDetector(1000.0, "tibia")
    bank = det.new_state(5)
    together = []
    for i in range(0, runs.shape[1], 20):
        together += det.process(bank, i, *_inputs(runs[:, i:i + 20]))
    together += det.flush(bank)
    for k in range(5):
        state = det.new_state(1)
        alone = []
        for i in range(0, runs.shape[1], 20):
            alone += det.process(state, i, *_inputs(runs[k:k + 1, i:i + 20]))
        alone += det.flush(state)
        mine = [p for p in together if p.stream == k]
        assert len(mine) > 10
        assert [(p.index, p.impact_g, p.rise_index) for p in mine] == \
            [(p.index, p.impact_g, p.rise_index) for p in alone]
