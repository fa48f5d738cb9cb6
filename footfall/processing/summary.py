"""Whole-session figures per device, accumulated from the processor's own events.

The same builder runs inside every :class:`~footfall.processing.session.SessionProcessor`, so
``footfall analyze``, the live service (which stores the result as the ``summary``
measurement when a session ends), ``footfall demo --json`` and the report give the same
numbers for the same data. Definitions (docs/metrics.md, "Summary"):

- ``cadence_spm``: median of the per-strike cadences (a foot pod: of its samples);
- ``impact_g``: median of the unclipped impacts, withheld when more than
  ``max_clipped_for_impact_pct`` of the strikes clipped (the unclipped ones are then the
  lower ones);
- the end of the run (``cadence_final_spm``, ``impact_final_g``, ``speed_final_mps``) and the
  change, speed-explained change and drift against the baseline: the stream's end-of-run
  window (:meth:`~footfall.processing.metrics.MetricsTracker.run_figures`), handed over by the
  processor when the stream ends, with the running, walking and stopped times;
- baseline, trend, speed: the device's final metrics;
- symmetry: the session's last combined figures (both legs);
- ``time_in_target_pct``: the share of the device's per-second metrics with a cadence, taken
  while a cadence target was known, whose cadence lay in the target band (the target ±
  ``AlertConfig.cadence_below_target_pct``, the tolerance the ``cadence_target`` alert allows
  below it); ``cadence_target_spm`` is the target at the end. No target: both None.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

import numpy as np

from footfall.config.analysis import AlertConfig, AnalysisConfig
from footfall.core.units import NS
from footfall.processing.alerts import AlertEngine
from footfall.processing.metrics import RunFigures, pct_change
from footfall.processing.tuning import CADENCE_SPEED_SLOPE_SPM_PER_MPS
from footfall.wire.events import (
    AlertEvent,
    DerivedEvent,
    DeviceSummary,
    MetricsEvent,
    PauseEvent,
    SessionMetricsEvent,
    StepEvent,
)

Event = DerivedEvent
#: the cadence target given a baseline (None: no target, or its baseline is not known yet)
TargetFn = Callable[[float | None], float | None]


def target_band_spm(target_spm: float, alerts: AlertConfig) -> tuple[float, float]:
    """The cadence target band: the target ± the ``cadence_target`` alert's tolerance."""
    half = target_spm * alerts.cadence_below_target_pct / 100
    return target_spm - half, target_spm + half
#: the order clipping rules are listed in (docs/metrics.md, "Clipping")
CLIP_RULES: Final = ("full_scale", "rail", "flat")


@dataclass(slots=True)
class _Device:
    # the whole session's medians need every value: packed doubles, 8 bytes each
    cadences: array[float] = field(default_factory=lambda: array("d"))  # per strike (IMU)
    pod_cadences: array[float] = field(default_factory=lambda: array("d"))  # per second (pod)
    clean_impacts: array[float] = field(default_factory=lambda: array("d"))
    steps: int = 0
    clipped: int = 0
    first_step_ns: int | None = None
    last_step_ns: int | None = None
    strike: str | None = None
    first_ns: int | None = None
    last_ns: int | None = None
    final: MetricsEvent | None = None
    seconds_with_target: int = 0  # metrics events with a cadence while a target was known
    seconds_in_band: int = 0
    target_spm: float | None = None
    clip_rules: set[str] = field(default_factory=set)
    run: RunFigures | None = None
    leg: int | None = None


class SummaryBuilder:
    """Feed it every (device, event) the processor emits; ask for :meth:`summary`.

    ``target`` is the cadence target at each moment; by default the configured one
    (``AlertConfig.target_cadence_spm`` / ``target_increase_pct``, read by the alert rules'
    own logic). The session processor can pass its alert engine's ``target_spm``, which also
    knows a target set live.
    """

    def __init__(self, config: AnalysisConfig | None = None,
                 target: TargetFn | None = None) -> None:
        self.config = config or AnalysisConfig()
        self._target = target or AlertEngine(self.config.alerts).target_spm
        self._devices: dict[str, _Device] = {}
        self._session: SessionMetricsEvent | None = None  # the latest combined figures

    def _device(self, device: str) -> _Device:
        d = self._devices.get(device)
        if d is None:  # (not setdefault: this runs per frame and event, and makes 3 arrays)
            d = self._devices[device] = _Device()
        return d

    def started(self, device: str, first_sample_ns: int) -> None:
        """A stream's first sample: where the device's session starts."""
        d = self._device(device)
        if d.first_ns is None or first_sample_ns < d.first_ns:
            d.first_ns = first_sample_ns

    def set_leg(self, device: str, leg: int | None) -> None:
        """The multisport run leg the device replays (from its meta)."""
        self._device(device).leg = leg

    def set_run(self, device: str, run: RunFigures) -> None:
        """The stream's end-of-run figures, when it ends."""
        self._device(device).run = run

    def add(self, device: str, event: Event) -> None:
        if isinstance(event, AlertEvent | PauseEvent | DeviceSummary):
            return
        if isinstance(event, SessionMetricsEvent):  # symmetry is the session's, not a device's
            self._session = event
            return
        d = self._device(device)
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
                if event.clip_rule is not None:
                    d.clip_rules.add(event.clip_rule)
            else:
                d.clean_impacts.append(event.impact_g)
        else:
            d.final = event
            if event.source == "rsc" and event.cadence_spm is not None:
                d.pod_cadences.append(event.cadence_spm)
            self._time_in_target(d, event)

    def _time_in_target(self, d: _Device, event: MetricsEvent) -> None:
        target = self._target(event.cadence_baseline_spm)
        if target is None:
            return
        d.target_spm = target
        if event.cadence_spm is None or event.final:  # the final one repeats the last second
            return
        low, high = target_band_spm(target, self.config.alerts)
        d.seconds_with_target += 1
        d.seconds_in_band += low <= event.cadence_spm <= high

    def devices(self) -> list[str]:
        """Devices with data (steps or metrics), in the order they first reported."""
        return [name for name, d in self._devices.items() if d.first_ns is not None]

    def summaries(self) -> dict[str, DeviceSummary]:
        return {device: self.summary(device) for device in self.devices()}

    def summary(self, device: str) -> DeviceSummary:
        d = self._devices[device]
        final = d.final
        per_stride = 2 if d.strike == "stride" else 1
        cadences = d.cadences if d.steps else d.pod_cadences
        clipped_pct = 100.0 * d.clipped / d.steps if d.steps else None
        clean = d.clean_impacts
        if clipped_pct is not None and clipped_pct > self.config.max_clipped_for_impact_pct:
            clean = array("d")  # the unclipped peaks are the lower ones: their median is biased
        first = d.first_ns if d.first_ns is not None else 0
        last = d.last_ns if d.last_ns is not None else first
        mean_cadence = None
        if d.steps >= 2 and d.first_step_ns is not None and d.last_step_ns is not None:
            span = (d.last_step_ns - d.first_step_ns) / NS
            mean_cadence = 60.0 * (d.steps - 1) * per_stride / span if span > 0 else None
        base_cadence = final.cadence_baseline_spm if final else None
        base_speed = final.speed_baseline_mps if final else None
        run = d.run
        end_cadence = run.cadence_spm if run else None
        end_speed = run.speed_mps if run else None
        change = pct_change(end_cadence, base_cadence)
        explained = None
        if change is not None and base_cadence and end_speed is not None \
                and base_speed is not None:
            explained = 100.0 * CADENCE_SPEED_SLOPE_SPM_PER_MPS * (end_speed - base_speed) \
                / base_cadence
        drift = None if change is None else change - (explained or 0.0)
        base_impact = final.impact_baseline_g if final else None
        base_axial = final.impact_axial_baseline_g if final else None
        seconds = run.seconds if run else {}
        breaks = run.breaks if run else {}
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
            cadence_baseline_spm=base_cadence,
            cadence_final_spm=end_cadence,
            cadence_change_pct=change,
            cadence_speed_explained_pct=explained,
            cadence_drift_pct=drift,
            cadence_trend_spm_per_min=final.cadence_trend_spm_per_min if final else None,
            impact_g=float(np.median(clean)) if clean else None,
            impact_baseline_g=base_impact,
            impact_final_g=run.impact_g if run else None,
            impact_drift_pct=pct_change(run.impact_g if run else None, base_impact),
            impact_axial_drift_pct=pct_change(run.impact_axial_g if run else None, base_axial),
            symmetry_pct=self._session.symmetry_pct if self._session else None,
            step_time_symmetry_pct=self._session.step_time_symmetry_pct if self._session
            else None,
            clipped_steps=d.clipped, clipped_pct=clipped_pct,
            clipping_rules=",".join(r for r in CLIP_RULES if r in d.clip_rules) or None,
            packet_loss_pct=final.packet_loss_total_pct if final else None,
            speed_mps=final.speed_mps if final else None,
            cadence_target_spm=d.target_spm,
            time_in_target_pct=100.0 * d.seconds_in_band / d.seconds_with_target
            if d.seconds_with_target else None,
            speed_baseline_mps=base_speed, speed_final_mps=end_speed,
            final_window_s=run.final_window_s if run else None,
            running_s=seconds.get("running"), walking_s=seconds.get("walking"),
            paused_s=seconds.get("stopped"), unrecorded_s=seconds.get("unrecorded"),
            pauses=breaks.get("stop"), walks=breaks.get("walk"), leg=d.leg,
        )
