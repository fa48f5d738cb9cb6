"""The coach command and the processor around it: a restart resumes the feedback schedule,
Ctrl-C ends the server at once, and hostile input is refused with a reason."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import aiomqtt
import pytest

from footfall.config.settings import Settings, load_settings
from footfall.simulators.publish import publish_streams
from footfall.stack.servers import Server, free_port
from footfall.wire.events import FeedbackEvent
from tests.coach.conftest import Stack, post_json, until
from tests.pipeline_helpers import streams_of, tibia_runs

pytestmark = pytest.mark.servers
BLOCK_MIN = 0.05  # 3 s on, 3 s off


def test_a_restarted_processor_resumes_the_feedback_schedule(stack: Stack) -> None:
    """Stopped mid-session and started again, the processor learns the targets and the faded
    schedule from its retained feedback state, and switches exactly where it would have."""
    settings = stack.session_settings()
    runs = tibia_runs(18.0, cadence_spm=172.0, seed=5)
    start = time.monotonic()
    publisher = stack.thread.spawn(publish_streams(settings, streams_of(runs), speed=1.0))
    until(lambda: time.monotonic() - start > 3.0, 5, "the first seconds")
    assert stack.post(settings, {"action": "set_impact_target", "impact_pct": 90.0})["status"] \
        == 200
    assert stack.post(settings, {"action": "set_feedback", "channel": "impact", "mode": "faded",
                                 "schedule": "blocks", "on_min": BLOCK_MIN,
                                 "off_min": BLOCK_MIN})["status"] == 200
    until(lambda: len(stack.of(settings, FeedbackEvent)) >= 2, 5, "the feedback events")
    time.sleep(4.0 - (time.monotonic() - start - 3.0))
    stack.stop_processor()  # it finishes the session as it is
    restarted_at = time.time_ns()
    time.sleep(1.5)  # the broker queues the data meanwhile (persistent session)
    stack.start_processor()
    publisher.result(30)
    until(lambda: any(e.time_ns > restarted_at + 6 * 10**9
                      for e in stack.of(settings, FeedbackEvent)), 10, "switches after it")
    events = stack.of(settings, FeedbackEvent)
    assert events[0].reason == "therapist" and events[0].mode == "faded"
    since = events[0].since_ns
    block_ns = round(BLOCK_MIN * 60e9)
    switches = [e for e in events if e.reason == "schedule"]
    assert [e.time_ns - since for e in switches] == [k * block_ns
                                                     for k in range(1, len(switches) + 1)]
    assert [e.feedback_on for e in switches] == [k % 2 == 0 for k in range(1, len(switches) + 1)]
    after = [e for e in switches if e.time_ns > restarted_at]
    assert len(after) >= 2, "the restarted processor switched too"
    assert {e.impact_target_pct for e in after} == {90.0}
    assert [e.reason for e in events].count("therapist") == 1  # nothing replayed as a command


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read().decode()


@pytest.fixture
def coach_process(mosquitto: Server, tmp_path: Path) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "footfall", "coach", "--port", str(port), "--mqtt-url",
         mosquitto.url, "--state-dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"

    def connected() -> bool:
        try:
            return bool(json.loads(_get(f"{url}/api/health")[1])["connected"])
        except OSError:
            return False

    until(connected, 20, "footfall coach to answer")
    yield proc, url
    if proc.poll() is None:
        proc.kill()
        proc.wait(5)


def test_footfall_coach_serves_both_views_and_stops_within_a_second(
        coach_process: tuple[subprocess.Popen[str], str], mosquitto: Server,
        tmp_path: Path) -> None:
    proc, url = coach_process
    for path, hooks in (("/", ("feedback-mode", "cadence-target", "impact-target")),
                        ("/runner", ("cadence", "cadence-target", "impact", "impact-target",
                                     "feedback-mode"))):
        status, html = _get(url + path)
        assert status == 200 and all(f'data-testid="{h}"' in html for h in hooks)
    assert _get(url + "/static/coach.js")[0] == 200
    stream = urllib.request.urlopen(f"{url}/events", timeout=5)  # a page, listening
    assert b"waiting" in stream.readline() + stream.readline()
    port = url.rsplit(":", 1)[1]
    taken = subprocess.run([sys.executable, "-m", "footfall", "coach", "--port", port,
                            "--mqtt-url", mosquitto.url, "--state-dir", str(tmp_path)],
                           capture_output=True, text=True, timeout=30)
    assert taken.returncode == 2 and "pick another --port" in taken.stderr
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=10)
    took_s = time.monotonic() - sent
    stream.close()
    assert proc.returncode == 0 and "coach stopped" in out
    assert took_s < 1.0, f"Ctrl-C took {took_s:.2f} s with a page connected"


@pytest.mark.parametrize(("body", "headers", "status", "reason"), [
    (b"{not json", {}, 400, "not JSON"),
    ({"athlete": "ann", "session": "s1"}, {}, 400, "expected"),
    ({"athlete": "ann/#", "session": "s1", "command": {"action": "note", "pain_score": 2}}, {},
     400, "athlete id"),
    ({"athlete": "ann", "session": "s1", "command": {"action": "launch"}}, {}, 400, "action"),
    ({"athlete": "ann", "session": "s1", "command": {"action": "note", "pain_score": "2"}}, {},
     400, "pain_score"),
    ({"athlete": "ann", "session": "s1",
      "command": {"action": "probe", "probe_min": 5, "impact_pct": 80}}, {}, 400, "takes no"),
    ({"athlete": "ann", "session": "s1", "command": {"action": "note", "text": "x" * 9000}}, {},
     413, "at most"),
    ({"athlete": "ann", "session": "s1", "command": {"action": "mark_baseline"}},
     {"origin": "http://evil.example"}, 403, "own pages"),
])
def test_bad_commands_are_refused_with_a_reason(
        coach_process: tuple[subprocess.Popen[str], str], body: object,
        headers: dict[str, str], status: int, reason: str) -> None:
    _, url = coach_process
    if isinstance(body, bytes):
        request = urllib.request.Request(f"{url}/api/control", data=body, method="POST",
                                         headers={"content-type": "application/json"})
        try:
            urllib.request.urlopen(request, timeout=5)
            answer = {"status": 200}
        except urllib.error.HTTPError as exc:
            answer = {"status": exc.code, **json.loads(exc.read())}
    else:
        answer = post_json(f"{url}/api/control", body, headers)
    assert answer["status"] == status and reason in answer["error"], answer


def test_hostile_broker_messages_are_set_aside_and_pages_go_on(
        coach_process: tuple[subprocess.Popen[str], str], mosquitto: Server,
        tmp_path: Path) -> None:
    _, url = coach_process
    settings: Settings = load_settings(mqtt_url=mosquitto.url)
    garbage = {"footfall/v1/ann/s1/tibia-left/step": b'{"v":1,"type":"step","impact_g":"9"}',
               "footfall/v1/ann/s1/session/feedback_state": b"\xff\xfe",
               "footfall/v1/ann/s1/session/alerts": b'{"not": "a list"}',
               "footfall/v1/ann/s1/session/feedback": b'{"v":1,"type":"feedback"}'}

    async def publish() -> None:
        async with aiomqtt.Client(settings.mqtt_host, settings.mqtt_port) as client:
            for topic, payload in garbage.items():
                await client.publish(topic, payload, qos=1)

    asyncio.run(publish())
    until(lambda: json.loads(_get(f"{url}/api/health")[1])["malformed"] == len(garbage), 10,
          "the messages to be set aside")
    kept = "".join(p.read_text() for p in (tmp_path / "quarantine" / "coach").glob("*.jsonl"))
    assert "impact_g" in kept and "not JSON" in kept and "not a JSON list" in kept
    status, _ = _get(f"{url}/api/sessions")
    assert status == 200
