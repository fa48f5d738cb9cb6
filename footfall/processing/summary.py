"""Whole-session figures per device, accumulated from the processor's own events.

The same builder runs inside every :class:`~footfall.processing.session.SessionProcessor`, so
``footfall analyze``, the live service (which stores the result as the ``summary``
measurement when a session ends), ``footfall demo --json`` and the report give the same
numbers for the same data. Definitions (docs/metrics.md, "Summary"):

- ``cadence_spm``: median of the per-strike cadences (a foot pod: of its samples);
- ``impact_g``: median of the unclipped impacts, withheld when more than
  ``max_clipped_for_impact_pct`` of the strikes clipped (the unclipped ones are then the
  lower ones);
- baseline, drift, trend, speed: the device's final metrics;
- symmetry: the session's last combined figures (both legs).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from footfall.config.analysis import AnalysisConfig
from footfall.core.units import NS
from footfall.wire.events import (
    AlertEvent,
    DerivedEvent,
    DeviceSummary,
    MetricsEvent,
    SessionMetricsEvent,
    StepEvent,
)

Event = DerivedEvent


@dataclass(slots=True)
class _Device:
    cadences: list[float] = field(default_factory=list)  # per strike (IMU)
    pod_cadences: list[float] = field(default_factory=list)  # per metrics event (foot pod)
    clean_impacts: list[float] = field(default_factory=list)
    steps: int = 0
    clipped: int = 0
    first_step_ns: int | None = None
    last_step_ns: int | None = None
    strike: str | None = None
    first_ns: int | None = None
    last_ns: int | None = None
    final: MetricsEvent | None = None


class SummaryBuilder:
    """Feed it every (device, event) the processor emits; ask for :meth:`summary`."""

    def __init__(self, config: AnalysisConfig | None = None) -> None:
        self.config = config or AnalysisConfig()
        self._devices: dict[str, _Device] = {}
        self._session: SessionMetricsEvent | None = None  # the latest combined figures

    def started(self, device: str, first_sample_ns: int) -> None:
        """A stream's first sample: where the device's session starts."""
        d = self._devices.setdefault(device, _Device())
        if d.first_ns is None or first_sample_ns < d.first_ns:
            d.first_ns = first_sample_ns

    def add(self, device: str, event: Event) -> None:
        if isinstance(event, AlertEvent | DeviceSummary):
            return
        if isinstance(event, SessionMetricsEvent):  # symmetry is the session's, not a device's
            self._session = event
            return
        d = self._devices.setdefault(device, _Device())
        d.first_ns = event.time_ns if d.first_ns is None else min(d.first_ns, event.time_ns)
        d.last_ns = event.time_ns if d.last_ns is None else max(d.last_ns, event.time_ns)
        if isinstance(event, StepEvent):
            d.steps += 1
            d.strike = d.strike or event.strike
            d.first_step_ns = d.first_step_ns if d.first_step_ns is not None else event.time_ns
            d.last_step_ns = event.time_ns
            if event.cadence_spm is not None:
                d.cadences.append(event.cadence_spm)
            if event.clipped:
                d.clipped += 1
            else:
                d.clean_impacts.append(event.impact_g)
        else:
            d.final = event
            if event.source == "rsc" and event.cadence_spm is not None:
                d.pod_cadences.append(event.cadence_spm)

    def devices(self) -> list[str]:
        """Devices with data (steps or metrics), in the order they first reported."""
        return list(self._devices)

    def summaries(self) -> dict[str, DeviceSummary]:
        return {device: self.summary(device) for device in self._devices}

    def summary(self, device: str) -> DeviceSummary:
        d = self._devices[device]
        final = d.final
        per_stride = 2 if d.strike == "stride" else 1
        cadences = d.cadences if d.steps else d.pod_cadences
        clipped_pct = 100.0 * d.clipped / d.steps if d.steps else None
        clean = d.clean_impacts
        if clipped_pct is not None and clipped_pct > self.config.max_clipped_for_impact_pct:
            clean = []  # the unclipped peaks are the lower ones: their median is biased
        first = d.first_ns if d.first_ns is not None else 0
        last = d.last_ns if d.last_ns is not None else first
        mean_cadence = None
        if d.steps >= 2 and d.first_step_ns is not None and d.last_step_ns is not None:
            span = (d.last_step_ns - d.first_step_ns) / NS
            mean_cadence = 60.0 * (d.steps - 1) * per_stride / span if span > 0 else None
        return DeviceSummary.derived(
            time_ns=last, start_ns=first, duration_s=(last - first) / NS,
            steps=d.steps if d.steps else (final.steps_total if final is not None else 0),
            source="imu" if d.steps else "rsc" if final is not None else None,
            placement=final.placement if final is not None else None,
            side=final.side if final is not None else None,
            strike=d.strike if d.steps else None,
            steps_both_legs_estimate=d.steps * per_stride if d.steps else None,
            cadence_spm=float(np.median(cadences)) if cadences else None,
            cadence_mean_spm=mean_cadence,
            cadence_baseline_spm=final.cadence_baseline_spm if final else None,
            cadence_final_spm=final.cadence_spm if final else None,
            cadence_change_pct=final.cadence_change_pct if final else None,
            cadence_speed_explained_pct=final.cadence_speed_explained_pct if final else None,
            cadence_drift_pct=final.cadence_drift_pct if final else None,
            cadence_trend_spm_per_min=final.cadence_trend_spm_per_min if final else None,
            impact_g=float(np.median(clean)) if clean else None,
            impact_baseline_g=final.impact_baseline_g if final else None,
            impact_final_g=final.impact_g if final else None,
            impact_drift_pct=final.impact_drift_pct if final else None,
            impact_axial_drift_pct=final.impact_axial_drift_pct if final else None,
            symmetry_pct=self._session.symmetry_pct if self._session else None,
            step_time_symmetry_pct=self._session.step_time_symmetry_pct if self._session
            else None,
            clipped_steps=d.clipped, clipped_pct=clipped_pct,
            packet_loss_pct=final.packet_loss_total_pct if final else None,
            speed_mps=final.speed_mps if final else None,
        )
