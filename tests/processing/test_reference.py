"""The reference methods used to judge the detector."""

from __future__ import annotations

import numpy as np
import pytest

from footfall.processing.reference import fitted_rate_spm, match_contacts, peaks_375ms
from footfall.recordings.alcantara import Contacts, grf_contacts


def test_375ms_method_keeps_only_the_dominant_peak_within_375_ms() -> None:
    x = np.zeros(2000)
    x[[100, 300, 1000, 1100, 1900]] = [8.0, 5.0, 4.0, 9.0, 2.0]  # 2 g is below 3 g
    assert peaks_375ms(x, 1000.0).tolist() == [100, 1100]


def test_grf_contacts_mark_contacts_cut_by_the_recording_edges() -> None:
    f = np.zeros(100)
    f[:10] = f[30:50] = f[90:] = 1.0
    c = grf_contacts(f, min_samples=5)
    assert c.on.tolist() == [0, 30, 90] and c.off.tolist() == [10, 50, 100]
    assert c.complete.tolist() == [False, True, False]


def test_matching_counts_each_contact_once_and_ignores_edge_contacts() -> None:
    c = Contacts(np.array([0, 30, 60]), np.array([10, 50, 80]),
                 np.array([False, True, True]))
    score = match_contacts(np.array([5, 35, 40, 55]), c)
    assert (score.true_pos, score.false_pos, score.false_neg) == (1, 2, 1)


def test_fitted_rate() -> None:
    assert fitted_rate_spm(np.arange(10, dtype=np.float64) * 0.3) == pytest.approx(200.0)
