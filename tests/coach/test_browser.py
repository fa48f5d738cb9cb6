"""The coach in a real headless Chromium, on a live session through the real processor.

One scripted session (32 s at real time) drives every check, so the suite stays short: the
runner view and the therapist view are open from the start; the therapist sets the targets and
modes through the page's own controls; then the cadence target is raised (the metronome must
start by itself after N steps below the band) and lowered again (it must stop), and the impact
channel is put on a faded on/off schedule. The tests then compare what the page showed and
cued with what the processor emitted, stored and what the recording gives offline.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from footfall.processing.offline import analyze_messages
from footfall.recordings.recorder import record_session
from footfall.recordings.session_file import iter_messages
from footfall.simulators.publish import publish_streams
from footfall.storage.influx import InfluxClient, influx_target, rows
from footfall.storage.schema import event_from_row
from footfall.wire.events import (
    DeviceSummary,
    FeedbackEvent,
    MetricsEvent,
    SessionMetricsEvent,
    StepEvent,
)
from tests.coach.conftest import ANALYSIS, Stack, shots_dir, until
from tests.pipeline_helpers import streams_of, tibia_runs

pytestmark = pytest.mark.servers

RUN_S = 32.0
IMPACT_PCT = 100.0  # about half the steps are over the runner's own baseline
AUTO_STEPS = 4
BAND_PCT = 3.0
#: session times (s after the first sample) of the script
SET_UP_S, RAISE_S, LOWER_S, FADE_S, OFF_SAMPLE_S, SECOND_PAGE_S = 5.5, 10.0, 14.0, 17.0, 22.0, 24.5
BLOCK_MIN = 0.06  # faded: 3.6 s with impact feedback, 3.6 s without

PAGE_DATA = """() => ({cues: footfall.cues, steps: footfall.steps, stale: footfall.stale,
  missed: footfall.missed, ctx: footfall.ctx ? footfall.ctx.state : null})"""
SCREEN = """() => { footfall.paint(); const q = (s) => document.querySelector(s);
  const leg = (side) => { const el = q(`[data-testid=impact] [data-side=${side}]`);
    return {state: el.dataset.state, device: el.dataset.device,
            value: el.querySelector('.value').textContent}; };
  return {cadence: q('[data-testid=cadence]').textContent,
    cadenceState: q('.cadence').dataset.state,
    cadenceTarget: q('[data-testid=cadence-target]').textContent,
    impactTarget: q('[data-testid=impact-target]').textContent,
    mode: q('[data-testid=feedback-mode]').textContent, left: leg('left'), right: leg('right'),
    metrics: footfall.session.metrics, last: footfall.session.last,
    sessionMetrics: footfall.session.sessionMetrics,
    sessionCadence: footfall.sessionCadence()}; }"""


@dataclass
class Scenario:
    stack: Stack
    settings: Any
    start_ns: int = 0
    runner: dict[str, Any] = field(default_factory=dict)
    screens: dict[str, dict[str, Any]] = field(default_factory=dict)
    second: dict[str, Any] = field(default_factory=dict)
    recording: Path | None = None

    def steps(self) -> list[StepEvent]:
        return self.stack.of(self.settings, StepEvent)

    def feedback(self) -> list[FeedbackEvent]:
        return self.stack.of(self.settings, FeedbackEvent)

    def baseline_g(self) -> dict[str, float]:
        """Each device's baseline PTA, as the processor's metrics report it."""
        out: dict[str, float] = {}
        for topic, event in list(self.stack.events):
            if isinstance(event, MetricsEvent) and event.impact_baseline_g is not None and \
                    (topic.athlete, topic.session) == (self.settings.athlete,
                                                       self.settings.session):
                out[topic.device] = event.impact_baseline_g
        return out

    def device_of(self, step: StepEvent) -> str:
        return f"tibia-{step.side.value}"

    def step_id(self, step: StepEvent) -> str:
        """As the coach names a step (its exact time: a page's numbers hold it to ~256 ns)."""
        return f"{self.device_of(step)}:{step.time_ns}"


def js(ns: int | float) -> float:
    """A time in ns as the page holds it (a double)."""
    return float(ns)


def at(start: float, session_s: float) -> None:
    """Sleep until ``session_s`` after the session's start."""
    delay = start + session_s - time.monotonic()
    if delay > 0:
        time.sleep(delay)


@pytest.fixture(scope="module")
def scenario(stack: Stack, browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    settings = stack.session_settings()
    sc = Scenario(stack, settings)
    sc.recording = tmp_path_factory.mktemp("recording") / "session.mcap"
    runs = tibia_runs(RUN_S, cadence_spm=170.0, step_time_cv_pct=1.0, seed=11)
    recorder_ready = asyncio.Event()

    async def record() -> None:
        await record_session(settings, sc.recording, athlete=settings.athlete,
                             session=settings.session, ready=recorder_ready)

    recording = stack.thread.start(record())
    stack.thread.run(asyncio.wait_for(recorder_ready.wait(), 10))
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    errors: list[str] = []
    runner = context.new_page()
    therapist = context.new_page()
    for page in (runner, therapist):
        page.on("pageerror", lambda exc: errors.append(str(exc)))
    query = f"?athlete={settings.athlete}"
    runner.goto(f"{stack.coach_url}/runner{query}")
    therapist.set_viewport_size({"width": 1100, "height": 900})
    therapist.goto(f"{stack.coach_url}/{query}")
    runner.wait_for_function("footfall.ctx && footfall.ctx.state === 'running'")
    sc.start_ns = time.time_ns()
    start = time.monotonic()
    publisher = stack.thread.spawn(publish_streams(settings, streams_of(runs), speed=1.0))

    # the therapist, through the page's controls, once the baseline is known
    at(start, SET_UP_S)
    therapist.wait_for_function("Object.values(footfall.session.metrics).filter("
                                "m => m.impact_baseline_g).length === 2", timeout=10_000)
    therapist.fill("#imp-pct", str(IMPACT_PCT))
    therapist.click("#imp-set")
    impact = therapist.locator(".channel[data-channel=impact]")
    impact.locator("[name=mode]").select_option("continuous")
    impact.locator(".apply").click()
    therapist.fill("#cad-spm", "170")
    therapist.click("#cad-set")
    cadence = therapist.locator(".channel[data-channel=cadence]")
    cadence.locator("[name=mode]").select_option("continuous")
    cadence.locator("[name=metronome]").select_option("auto")
    cadence.locator("[name=auto_steps]").fill(str(AUTO_STEPS))
    cadence.locator("[name=band_pct]").fill(str(BAND_PCT))
    cadence.locator(".apply").click()
    runner.wait_for_function("footfall.channelAt('impact', Infinity) && "
                             "footfall.channelAt('cadence', Infinity)", timeout=5000)
    at(start, SET_UP_S + 2.5)
    sc.screens["continuous"] = runner.evaluate(SCREEN)
    sc.screens["therapist"] = therapist.evaluate(SCREEN)
    shots = shots_dir()
    if shots is not None:
        therapist.screenshot(path=str(shots / "coach-therapist.png"), full_page=True)

    at(start, RAISE_S)  # the runner is now below the band: the metronome starts by itself
    stack.post(settings, {"action": "set_target", "cadence_spm": 190.0})
    at(start, RAISE_S + 2.5)
    sc.screens["low"] = runner.evaluate(SCREEN)
    if shots is not None:  # below the band, the metronome playing, a leg over its target
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        with contextlib.suppress(PlaywrightTimeout):
            runner.wait_for_function("document.querySelector('[data-testid=impact] "
                                     "[data-state=over]')", timeout=1500)
        runner.screenshot(path=str(shots / "coach-runner.png"))
        cdp = context.new_cdp_session(runner)
        for deficiency in ("deuteranopia", "achromatopsia"):  # colour-blind safe? (not kept)
            cdp.send("Emulation.setEmulatedVisionDeficiency", {"type": deficiency})
            runner.screenshot(path=str(shots / f"check-{deficiency}.png"))
        cdp.send("Emulation.setEmulatedVisionDeficiency", {"type": "none"})
    at(start, LOWER_S)  # back in the band: it stops
    stack.post(settings, {"action": "set_target", "cadence_spm": 170.0})
    at(start, FADE_S)
    therapist.evaluate("() => footfall.send({action: 'set_feedback', channel: 'impact', "
                       f"mode: 'faded', schedule: 'blocks', on_min: {BLOCK_MIN}, "
                       f"off_min: {BLOCK_MIN}}}, 'impact')")
    at(start, OFF_SAMPLE_S)
    sc.screens["faded_off"] = runner.evaluate(SCREEN)
    at(start, SECOND_PAGE_S)  # a page that joins late learns the settings from the snapshot
    second = context.new_page()
    second.on("pageerror", lambda exc: errors.append(str(exc)))
    second.goto(f"{stack.coach_url}/{query}")
    second.wait_for_function("footfall.channelAt('impact', Infinity) !== null", timeout=5000)
    sc.second = {"late": second.evaluate(SCREEN), "first": therapist.evaluate(SCREEN),
                 "fields": second.evaluate("() => footfall.channelCommand(document."
                                           "querySelector('.channel[data-channel=impact]'))")}
    publisher.result(RUN_S + 30)
    until(lambda: len(sc.stack.of(settings, DeviceSummary)) == 2, 15, "the session's end")
    expected = len(sc.steps())  # published just after the processor emitted them
    until(lambda: runner.evaluate("footfall.steps.length") >= expected, 5, "the last steps")
    time.sleep(0.5)  # they reach the page, and the recorder takes the last messages
    sc.runner = runner.evaluate(PAGE_DATA)
    stack.thread.stop(recording)  # the file is finished once this returns
    context.close()
    assert errors == []
    return sc


def test_the_runner_view_shows_the_processors_numbers(scenario: Scenario) -> None:
    steps = {scenario.step_id(s): s for s in scenario.steps()}
    metrics = {(t.device, js(e.time_ns)): e for t, e in list(scenario.stack.events)
               if isinstance(e, MetricsEvent) and t.session == scenario.settings.session}
    session_metrics = {js(e.time_ns): e for e in scenario.stack.of(scenario.settings,
                                                                    SessionMetricsEvent)}
    baselines = scenario.baseline_g()
    for name in ("continuous", "low"):
        screen = scenario.screens[name]
        shown = screen["metrics"]
        assert set(shown) == {"tibia-left", "tibia-right"}
        for device, event in shown.items():  # the page holds the processor's own events
            assert metrics[(device, js(event["time_ns"]))].to_dict() | {
                "time_ns": js(event["time_ns"])} == event | {"time_ns": js(event["time_ns"])}
        # the cadence shown is the processor's session cadence
        session = screen["sessionMetrics"]
        assert session_metrics[js(session["time_ns"])].cadence_spm == session["cadence_spm"]
        assert screen["cadence"] == str(round(session["cadence_spm"]))
        for side in ("left", "right"):
            last = screen["last"][f"tibia-{side}"]
            assert steps[last["id"]].impact_g == last["impact_g"]
            assert screen[side]["value"] == f"{last['impact_g']:.1f}"
            assert screen[side]["state"] == ("over" if last["impact_g"] > baselines[
                f"tibia-{side}"] * IMPACT_PCT / 100 else "in")
        assert screen["impactTarget"] == (
            f"{IMPACT_PCT:.0f} %" + f"L {baselines['tibia-left'] * IMPACT_PCT / 100:.1f} g · "
            f"R {baselines['tibia-right'] * IMPACT_PCT / 100:.1f} g")
    assert scenario.screens["continuous"]["cadenceTarget"] == "170 ± 5"
    assert scenario.screens["continuous"]["cadenceState"] == "in"
    assert scenario.screens["low"]["cadenceTarget"] == "190 ± 6"
    assert scenario.screens["low"]["cadenceState"] == "low"
    assert scenario.screens["continuous"]["mode"] == "cadence: continuous · impact: continuous"
    assert scenario.screens["therapist"]["cadence"] == scenario.screens["continuous"]["cadence"] \
        or abs(int(scenario.screens["therapist"]["cadence"])
               - int(scenario.screens["continuous"]["cadence"])) <= 1


def _impact_on(events: list[FeedbackEvent], t_ns: int) -> bool:
    state = False
    for e in events:
        if e.channel == "impact" and e.time_ns <= t_ns:
            state = e.feedback_on
    return state


def test_impact_cues_fire_for_exactly_the_steps_over_target_in_time(
        scenario: Scenario) -> None:
    data = scenario.runner
    assert data["ctx"] == "running"
    # steps too old to cue when the server sent them (a late cue would answer the wrong step):
    # those the processor flushed at the session's end, and rare spikes of a loaded machine
    last_ns = max(s.time_ns for s in scenario.steps())
    stale = {s["id"] for s in data["stale"]}
    late = [s for s in data["stale"] if s["time_ns"] < js(last_ns - 10**9)]
    assert all(s["age"] > 300 for s in data["stale"])
    assert len(late) <= max(2, len(data["steps"]) // 10), late
    received = {s["id"] for s in data["steps"] if s["id"] not in stale}
    feedback = scenario.feedback()
    baselines = scenario.baseline_g()
    over = {scenario.step_id(s) for s in scenario.steps()
            if scenario.step_id(s) in received and _impact_on(feedback, s.time_ns)
            and s.impact_g > baselines[scenario.device_of(s)] * IMPACT_PCT / 100}
    cues = [c for c in data["cues"] if c["kind"] == "impact"]
    cued = [c["step"]["id"] for c in cues]
    assert len(cued) == len(set(cued))
    assert set(cued) == over
    assert len(over) >= 15  # the run had steps over target to cue (the test can fail)
    # every step the processor emitted while the page was listening reached it
    first = min(s["time_ns"] for s in data["steps"])
    assert {scenario.step_id(s) for s in scenario.steps() if js(s.time_ns) >= first} <= {
        s["id"] for s in data["steps"]}
    page = {s["id"]: s for s in data["steps"]}
    for c in cues:
        # in time: scheduled as the step arrived, and sounding within the step it answers
        # (before the runner's next step: 60 / cadence s, ~350 ms at 170 spm; retraining.md)
        peak_ms = c["step"]["time_ns"] / 1e6
        assert 0 <= c["scheduledAtMs"] - page[c["step"]["id"]]["recvMs"] < 50, c
        assert c["audibleMs"] - peak_ms < 60_000 / (c["step"]["cadence_spm"] or 170.0), c
        # it starts 15 ms after scheduling (on the audio clock, which moves per callback)
        assert 0 < c["lead"] <= 0.0155
        assert 1 <= c["level"] <= 6
        target = baselines[c["step"]["device"]] * IMPACT_PCT / 100
        assert c["targetG"] == pytest.approx(target)
        assert c["level"] == min(6, 1 + int(100 * (c["step"]["impact_g"] - target) / target // 5))


def test_the_metronome_auto_mode_starts_and_stops_as_specified(scenario: Scenario) -> None:
    data = scenario.runner
    beats = [c for c in data["cues"] if c["kind"] == "metronome"]
    assert data["missed"] == []
    runs = sorted({b["run"] for b in beats})
    assert len(runs) == 1, "one run of beats: started once when the runner fell below the band"
    steps = data["steps"]
    start_step = beats[0]["step"]
    i = next(k for k, s in enumerate(steps) if s["id"] == start_step["id"])
    lower = 190.0 * (1 - BAND_PCT / 100)
    # the N steps up to the one that started it were below the band, and started it at once
    assert all(s["cadence_spm"] is not None and s["cadence_spm"] < lower
               for s in steps[i - AUTO_STEPS + 1:i + 1])
    assert steps[i]["autoBelow"] == AUTO_STEPS and steps[i - 1]["autoActive"] is False
    assert 0 <= beats[0]["scheduledAtMs"] - steps[i]["recvMs"] < 60
    # at the target rate, on the audio clock, beat k exactly at t0 + k * 60 / spm: no drift;
    # the lowered target re-anchors the grid at the next beat (the runner is not back yet)
    assert [b["spm"] for b in beats] == sorted((b["spm"] for b in beats), reverse=True)
    assert {b["spm"] for b in beats} <= {190.0, 170.0} and beats[0]["spm"] == 190.0
    for b in beats:
        assert b["t"] == pytest.approx(b["t0"] + b["k"] * 60 / b["spm"], abs=1e-9)
    for a, b in itertools.pairwise(beats):
        assert b["t"] - a["t"] == pytest.approx(60 / a["spm"] if b["spm"] == a["spm"] or
                                                b["k"] == 0 else 60 / b["spm"], abs=1e-9)
    assert [b["beat"] for b in beats] == list(range(beats[0]["beat"], beats[-1]["beat"] + 1))
    # it stopped once the runner had been back in the band for N steps
    stop = next(k for k, s in enumerate(steps) if k > i and s.get("autoActive") is False)
    assert all(s["cadence_spm"] >= 170.0 * (1 - BAND_PCT / 100)
               for s in steps[stop - AUTO_STEPS + 1:stop + 1])
    assert beats[-1]["scheduledAtMs"] <= steps[stop]["recvMs"] + 5
    assert steps[stop]["recvMs"] - beats[-1]["scheduledAtMs"] < 60_000 / 190 + 130
    span_s = (steps[stop]["recvMs"] - beats[0]["scheduledAtMs"]) / 1000
    assert len(beats) == pytest.approx(span_s * 190 / 60, abs=2)


def test_a_faded_schedule_switches_feedback_off_when_it_should(scenario: Scenario) -> None:
    faded = [e for e in scenario.feedback() if e.channel == "impact" and e.mode == "faded"]
    since = faded[0].since_ns
    block_ns = round(BLOCK_MIN * 60e9)
    assert faded[0].reason == "therapist" and faded[0].feedback_on
    switches = faded[1:]
    assert len(switches) >= 3
    for k, e in enumerate(switches, start=1):  # exactly at the block boundaries, alternating
        assert (e.time_ns - since, e.feedback_on, e.reason) == (k * block_ns, k % 2 == 0,
                                                                "schedule")
    # no cue for a step over target while the schedule had feedback off, though there were some
    baselines = scenario.baseline_g()
    cued = {c["step"]["id"] for c in scenario.runner["cues"] if c["kind"] == "impact"}
    off_over = [s for s in scenario.steps() if s.time_ns >= since
                and not _impact_on(scenario.feedback(), s.time_ns)
                and s.impact_g > baselines[scenario.device_of(s)] * IMPACT_PCT / 100]
    assert off_over and not cued & {scenario.step_id(s) for s in off_over}
    screen = scenario.screens["faded_off"]  # and the runner sees no impact feedback
    assert screen["mode"] == "cadence: continuous · impact: faded off (50 %)"
    assert screen["left"]["state"] == screen["right"]["state"] == "hidden"
    assert screen["left"]["value"] == "—"


def test_a_second_page_learns_the_settings_in_force(scenario: Scenario) -> None:
    late, first = scenario.second["late"], scenario.second["first"]
    assert late["mode"] == first["mode"] and late["mode"].startswith("cadence: continuous · "
                                                                     "impact: faded")
    assert late["cadenceTarget"] == first["cadenceTarget"] == "170 ± 5"
    assert late["impactTarget"].startswith(f"{IMPACT_PCT:.0f} %")
    fields = scenario.second["fields"]  # its controls show what is set
    assert (fields["mode"], fields["schedule"], fields["on_min"], fields["off_min"]) == (
        "faded", "blocks", BLOCK_MIN, BLOCK_MIN)


def test_feedback_is_stored_and_the_recording_gives_the_same_events(
        scenario: Scenario) -> None:
    live = scenario.feedback()
    assert scenario.recording is not None
    offline = analyze_messages(((m.topic, m.payload) for m in iter_messages(scenario.recording)),
                               config=ANALYSIS)
    assert offline["session"].feedback == live
    stack = scenario.stack

    async def stored() -> list[dict[str, Any]]:
        async with InfluxClient(influx_target(stack.base)) as influx:
            assert stack.writer is not None
            await stack.writer.flush(30)
            return rows(await influx.query(
                f"SELECT * FROM \"feedback\" WHERE \"session\" = '{scenario.settings.session}'"))

    found = [event_from_row(FeedbackEvent, r) for r in stack.thread.run(stored())]
    key = lambda e: (e.time_ns // 1_000_000, e.channel)  # noqa: E731
    assert sorted(found, key=key) == sorted(
        (e.model_copy(update={"time_ns": e.time_ns // 1_000_000 * 1_000_000}) for e in live),
        key=key)
