"""A processor killed mid-session goes on where it was: the journal, replayed at start, gives
the same steps (same detector state, sides and baseline) as a processor never stopped."""

from __future__ import annotations

from pathlib import Path

from footfall.config.settings import load_settings
from footfall.processing.router import Routed, SessionRouter
from footfall.recordings.session_file import iter_messages
from footfall.service.processor import ProcessorService
from footfall.wire.events import MetricsEvent, StepEvent
from footfall.wire.topics import INPUT_STREAMS

SAMPLE = Path(__file__).resolve().parents[1] / "footfall" / "data" / "sample-session.mcap"


def _consume(service: ProcessorService, topic: str, payload: bytes) -> None:
    """What the service's consumer does with a message, before it acknowledges it."""
    if service.handle(topic, payload):
        parts = topic.split("/")
        service.journal.append((parts[2], parts[3]), topic, payload)


def test_a_killed_processor_replays_its_journal_and_goes_on(tmp_path: Path) -> None:
    messages = [(str(m.topic), m.payload) for m in iter_messages(SAMPLE, INPUT_STREAMS)]
    reference = SessionRouter()
    expected: list[Routed] = []
    for topic, payload in messages:
        expected += reference.handle(topic, payload)
    expected += reference.finish()

    settings = load_settings(state_dir=tmp_path)
    seen: list[Routed] = []
    first = ProcessorService(settings, writer=None, on_event=lambda t, e: seen.append((t, e)))
    cut = len(messages) * 2 // 3  # 160 s in: the baseline is set, fatigue under way
    for topic, payload in messages[:cut]:
        _consume(first, topic, payload)
    first.journal.close()  # killed: nothing finished, nothing flushed
    del first

    second = ProcessorService(settings, writer=None, on_event=lambda t, e: seen.append((t, e)))
    second._replay_journal()
    assert second.stats.journal_replayed == cut
    for topic, payload in messages[cut:]:
        _consume(second, topic, payload)
    second._finish_all()

    def steps(out: list[Routed]) -> list[tuple[str, int, float, str]]:
        return sorted((t.device, e.time_ns, e.impact_g, e.side.value)
                      for t, e in out if isinstance(e, StepEvent))

    assert steps(seen) == steps(expected)  # no step lost, none twice, none phantom, sides
    last = [e for _, e in seen if isinstance(e, MetricsEvent)][-1]
    assert last.baseline_state == "set"  # the baseline survived the restart
    assert not list((tmp_path / "journal").rglob("*.spool"))  # finished: journal gone
