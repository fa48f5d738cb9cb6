"""A retraining programme of six weekly visits, built for the report tests.

Each visit is a synthetic 6-minute treadmill run (two tibia IMUs, 200 Hz, ±16 g) analysed by
the processor (the same router as ``footfall process``) and stored in a real InfluxDB exactly
as the live service stores it (``storage.lineprotocol.to_line``): steps, metrics, alerts and
the per-session ``summary``. The protocol of each visit:

- 0–60 s warm-up, 60–120 s baseline: no feedback, the runner's own cadence and impact;
- 120–300 s feedback on (cadence target baseline +7.5 % from the second visit on): cadence
  rises to the target, impact falls;
- 300–360 s a no-feedback retention probe: part of the change is kept.

Over the visits the runner's own (baseline) cadence rises, impact falls, asymmetry shrinks and
pain eases. The coach's session notes and feedback changes are written as the processor
stores them (``note`` and ``feedback`` events); the first visit (the
assessment) has neither feedback nor a target.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from footfall.config.analysis import AlertConfig, AnalysisConfig
from footfall.core.vocab import Placement, Side
from footfall.processing.offline import analyze_messages
from footfall.recordings.tracks import track_messages
from footfall.simulators.runner import RunnerParams, render, simulate_gait
from footfall.simulators.synthetic import synthetic_tracks
from footfall.storage.influx import InfluxClient, InfluxTarget
from footfall.storage.lineprotocol import to_line
from footfall.wire.events import AlertEvent, DeviceMeta, FeedbackEvent, SessionNote
from footfall.wire.topics import SESSION_DEVICE

#: Monday 5 January 2026, 09:00 UTC; a visit every week
FIRST_VISIT_NS = 1_767_603_600_000_000_000
WEEK_NS = 7 * 86_400 * 10**9
DURATION_S = 360.0
BELT_MPS = 3.0  # 10.8 km/h


@dataclass(frozen=True)
class VisitPlan:
    cadence_spm: float  # the runner's own, in the baseline
    impact_g: float  # the baseline PTA (mean of both legs)
    asymmetry_pct: float
    feedback_gain: float  # the fraction of the target change reached with feedback
    retained: float  # the fraction of it kept in the probe
    pain: float
    target: bool


PLANS = (
    VisitPlan(160.0, 12.0, 12.0, 0.0, 0.0, 6, False),
    VisitPlan(161.5, 11.6, 10.0, 0.8, 0.3, 5, True),
    VisitPlan(163.0, 11.0, 8.0, 0.9, 0.45, 4, True),
    VisitPlan(164.5, 10.4, 6.5, 1.0, 0.6, 3, True),
    VisitPlan(166.0, 10.0, 5.0, 1.0, 0.7, 2, True),
    VisitPlan(167.0, 9.6, 4.0, 1.0, 0.8, 2, True),
)
INCREASE_PCT = 7.5
IMPACT_CUT = 0.2  # feedback lowers PTA by up to 20 %


def session_id(k: int) -> str:
    return f"visit{k + 1}"


def config_for(plan: VisitPlan) -> AnalysisConfig:
    alerts = AlertConfig(target_increase_pct=INCREASE_PCT if plan.target else None)
    return replace(AnalysisConfig(), alerts=alerts, treadmill_speed_mps=BELT_MPS)


def params(plan: VisitPlan, seed: int) -> RunnerParams:
    c0 = plan.cadence_spm
    c_fb = c0 * (1 + INCREASE_PCT / 100 * plan.feedback_gain)
    c_probe = c0 + (c_fb - c0) * plan.retained
    p0 = plan.impact_g
    p_fb = p0 * (1 - IMPACT_CUT * plan.feedback_gain)
    p_probe = p0 + (p_fb - p0) * plan.retained
    return RunnerParams(
        cadence_spm=((0, c0), (120, c0), (140, c_fb), (300, c_fb), (310, c_probe),
                     (DURATION_S, c_probe)),
        pta_g=((0, p0), (120, p0), (140, p_fb), (300, p_fb), (310, p_probe),
               (DURATION_S, p_probe)),
        speed_mps=BELT_MPS, asymmetry_pct=plan.asymmetry_pct, sample_rate_hz=200.0,
        accel_range_g=16, placement=Placement.TIBIA, seed=100 + seed)


def _meta_tags(meta: dict[str, DeviceMeta], device: str) -> dict[str, str]:
    m = meta.get(device)
    return {} if m is None else {"placement": m.placement.value, "side": m.side.value}


def visit_lines(k: int, athlete: str) -> list[str]:
    """Every InfluxDB line of visit ``k``, as ``footfall process`` would write them."""
    plan = PLANS[k]
    start = FIRST_VISIT_NS + k * WEEK_NS
    base = params(plan, k)
    gait = simulate_gait(base, DURATION_S)
    runs = {"tibia-left": render(gait, replace(base, side=Side.LEFT)),
            "tibia-right": render(gait, replace(base, side=Side.RIGHT))}
    tracks = synthetic_tracks(runs, start)
    meta = {t.device: t.meta for t in tracks}
    messages = [(topic, payload) for _, topic, payload in
                track_messages(tracks, athlete=athlete, session=session_id(k))]
    results = analyze_messages(messages, config=config_for(plan))
    lines: list[str] = []
    for device, result in results.items():
        tags = {"athlete": athlete, "session": session_id(k), "device": device}
        events: Iterable[object] = [*result.steps, *result.metrics, *result.session_metrics,
                                    *result.alerts,
                                    *([result.device_summary] if result.device_summary else [])]
        for event in events:
            extra = _meta_tags(meta, device) if isinstance(event, AlertEvent) else {}
            line = to_line(event, tags | extra)  # type: ignore[arg-type]
            if line is not None:
                lines.append(line)
    lines += coach_lines(k, athlete, start)
    return lines


def coach_lines(k: int, athlete: str, start_ns: int) -> list[str]:
    """The coach's notes and feedback changes, as the processor stores them (the wire's own
    events through the one line encoder)."""
    plan = PLANS[k]
    tags = {"athlete": athlete, "device": SESSION_DEVICE, "session": session_id(k)}
    note = SessionNote(time_ns=start_ns, pain_score=round(plan.pain), shoes="Pegasus 40",
                       belt_speed_kmh=round(BELT_MPS * 3.6, 1), text=f"visit {k + 1}")
    lines = [to_line(note, tags)]
    if plan.target:  # the assessment (first visit): no feedback at all, nothing recorded
        for at_s, on, reason, probe in ((0, False, "baseline", False),
                                        (120, True, "schedule", False),
                                        (300, False, "probe", True)):
            for channel in ("cadence", "impact"):
                at_ns = start_ns + at_s * 10**9
                lines.append(to_line(FeedbackEvent(
                    time_ns=at_ns, channel=channel, mode="continuous", feedback_on=on,
                    reason=reason, probe=probe, since_ns=start_ns), tags))
    return [line for line in lines if line is not None]


async def write_history(target: InfluxTarget, athlete: str, visits: int = len(PLANS)) -> None:
    loop = asyncio.get_running_loop()
    async with InfluxClient(target, timeout_s=60) as client:
        await client.create_database()
        for k in range(visits):
            lines = await loop.run_in_executor(None, visit_lines, k, athlete)
            for i in range(0, len(lines), 5000):
                await client.write(("\n".join(lines[i:i + 5000]) + "\n").encode())


#: the runner's own outdoor runs between visits, per week: distances in km (week 4 is a
#: jump of more than 30 % on week 3, which the load section must flag)
WATCH_WEEKS_KM = ((5.0, 5.0), (5.5, 5.5), (6.0, 6.0), (6.0, 6.0, 6.0), (6.0, 6.0), (6.5, 6.5))
WATCH_SPEED_MPS = 2.9
WATCH_RECORD_S = 5  # "smart recording"-like spacing


def watch_fit(start_ns: int, distance_km: float, cadence_spm: float) -> bytes:
    """A watch's running activity as a FIT file, written with Garmin's own SDK encoder:
    file_id, one record per 5 s (distance, speed, cadence in strides/min), session, activity."""
    from datetime import UTC, datetime, timedelta

    from garmin_fit_sdk import Encoder, Profile

    mesg = Profile["mesg_num"]
    start = datetime.fromtimestamp(start_ns // 10**9, tz=UTC)
    n = round(distance_km * 1000 / WATCH_SPEED_MPS / WATCH_RECORD_S) + 1
    strides = cadence_spm / 2
    encoder = Encoder()
    encoder.write_mesg({"mesg_num": mesg["FILE_ID"], "type": "activity",
                        "manufacturer": "development", "product": 0, "serial_number": 1,
                        "time_created": start})
    for i in range(n):
        encoder.write_mesg({
            "mesg_num": mesg["RECORD"], "timestamp": start + timedelta(seconds=i * WATCH_RECORD_S),
            "distance": i * WATCH_RECORD_S * WATCH_SPEED_MPS, "speed": WATCH_SPEED_MPS,
            "enhanced_speed": WATCH_SPEED_MPS, "cadence": int(strides),
            "fractional_cadence": strides - int(strides)})
    end = start + timedelta(seconds=(n - 1) * WATCH_RECORD_S)
    elapsed = float((n - 1) * WATCH_RECORD_S)
    encoder.write_mesg({"mesg_num": mesg["SESSION"], "timestamp": end, "start_time": start,
                        "sport": "running", "total_elapsed_time": elapsed,
                        "total_timer_time": elapsed,
                        "total_distance": (n - 1) * WATCH_RECORD_S * WATCH_SPEED_MPS})
    encoder.write_mesg({"mesg_num": mesg["ACTIVITY"], "timestamp": end, "num_sessions": 1,
                        "type": "manual"})
    data: bytes = encoder.close()
    return data


def write_watch_runs(folder: Path) -> list[Path]:
    """The runner's watch files: runs on Wednesday, Saturday (and Sunday) of each visit week."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for week, runs in enumerate(WATCH_WEEKS_KM):
        monday_7am = FIRST_VISIT_NS - 2 * 3600 * 10**9 + week * WEEK_NS
        for day, km in zip((2, 5, 6), runs, strict=False):
            start = monday_7am + day * 86_400 * 10**9
            path = folder / f"run-w{week + 1}-d{day + 1}.fit"
            path.write_bytes(watch_fit(start, km, PLANS[week].cadence_spm))
            paths.append(path)
    return paths
