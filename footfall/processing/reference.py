"""Reference methods the streaming detector is judged against (validation and benchmarks).

- :func:`peaks_375ms`: the published live detector (Van den Berghe 2021, gait.md): a peak is a
  sample above 3 g with no higher value within the following 375 ms. Read literally, a lower
  peak shortly *after* a higher one would also qualify, so it is also required to be the highest
  of the preceding 375 ms — which is how the published method's refractory behaves in practice.
- :func:`offline_peaks`: the offline SciPy way (zero-phase ``filtfilt`` + ``find_peaks``) used
  as the throughput baseline.
- :func:`match_contacts`: scoring against force-plate contacts
  (:func:`footfall.recordings.alcantara.grf_contacts`, the dataset's one contact rule).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import numpy.typing as npt
from scipy import ndimage, signal

from footfall.recordings.alcantara import Contacts

FloatArray: TypeAlias = npt.NDArray[np.float64]
IntArray: TypeAlias = npt.NDArray[np.intp]

PUBLISHED_THRESHOLD_G = 3.0
PUBLISHED_WINDOW_MS = 375.0


def peaks_375ms(x: FloatArray, sample_rate_hz: float,
                threshold_g: float = PUBLISHED_THRESHOLD_G,
                window_ms: float = PUBLISHED_WINDOW_MS) -> IntArray:
    """Indices of the 375-ms method's peaks in ``x`` (1-D)."""
    w = max(1, round(window_ms * sample_rate_hz / 1000.0))
    padded = np.concatenate((np.full(w, -np.inf), x, np.full(w, -np.inf)))
    ahead = _window_max(padded, w, after=True)[: x.size]
    behind = _window_max(padded, w, after=False)[: x.size]
    keep = (x > threshold_g) & (x >= ahead) & (x > behind)
    return np.flatnonzero(keep)


def _window_max(padded: FloatArray, w: int, *, after: bool) -> FloatArray:
    """For each original sample i (padded[i + w]): max of the w samples after / before it."""
    m = np.asarray(ndimage.maximum_filter1d(padded, w, origin=-(w // 2)), dtype=np.float64)
    return m[w + 1:] if after else m  # m[j] = max(padded[j : j + w])


def offline_peaks(x: FloatArray, sample_rate_hz: float, lowpass_hz: float,
                  min_distance_s: float, min_height_g: float) -> IntArray:
    """Zero-phase low-pass + ``find_peaks``: the offline baseline on a whole recording."""
    sos = signal.butter(2, min(lowpass_hz, 0.45 * sample_rate_hz), fs=sample_rate_hz,
                        output="sos")
    y = signal.sosfiltfilt(sos, x)
    peaks, _ = signal.find_peaks(y, height=min_height_g,
                                 distance=max(1, round(min_distance_s * sample_rate_hz)))
    return np.asarray(peaks, dtype=np.intp)


@dataclass(frozen=True, slots=True)
class Score:
    true_pos: int
    false_pos: int
    false_neg: int
    #: (step position in the input, contact index) of every true positive
    pairs: tuple[tuple[int, int], ...] = ()

    @property
    def recall(self) -> float:
        due = self.true_pos + self.false_neg
        return self.true_pos / due if due else 1.0

    @property
    def precision(self) -> float:
        found = self.true_pos + self.false_pos
        return self.true_pos / found if found else 1.0


def match_contacts(step_index: IntArray, contacts: Contacts) -> Score:
    """A step matches the contact whose [on, off) holds it (each contact once). Steps in
    incomplete contacts are ignored; steps in no contact are false positives."""
    tp = fp = 0
    pairs: list[tuple[int, int]] = []
    hit = np.zeros(contacts.on.size, dtype=bool)
    for n, i in enumerate(np.asarray(step_index).tolist()):
        k = int(np.searchsorted(contacts.on, i, side="right")) - 1
        inside = k >= 0 and i < contacts.off[k]
        if not inside:
            fp += 1
        elif not contacts.complete[k]:
            continue
        elif hit[k]:
            fp += 1
        else:
            hit[k] = True
            tp += 1
            pairs.append((n, k))
    fn = int((~hit & contacts.complete).sum())
    return Score(tp, fp, fn, tuple(pairs))


def mean_rate_spm(times_s: FloatArray, steps_per_event: int = 1) -> float | None:
    """Average step rate over events: 60 × (n − 1) × k / (last − first)."""
    if times_s.size < 2 or times_s[-1] <= times_s[0]:
        return None
    return 60.0 * (times_s.size - 1) * steps_per_event / float(times_s[-1] - times_s[0])


def fitted_rate_spm(times_s: FloatArray, steps_per_event: int = 1) -> float | None:
    """Step rate from a least-squares line through event time vs event number: uses every
    event, so one early or late edge event moves it far less than the first-to-last mean."""
    if times_s.size < 3:
        return None
    slope = float(np.polyfit(np.arange(times_s.size, dtype=np.float64), times_s, 1)[0])
    return 60.0 * steps_per_event / slope if slope > 0 else None
