"""A processor killed mid-session goes on where it was: the journal, replayed at start, gives
the same steps (same detector state, sides and baseline) as a processor never stopped; its
one log for all sessions replays exactly the sessions still open, and frees the rest."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from footfall.config.settings import load_settings
from footfall.ingest.spool import Spool
from footfall.processing.router import Routed, SessionRouter
from footfall.recordings.session_file import iter_messages
from footfall.service.journal import Journal
from footfall.service.processor import ProcessorService
from footfall.wire import frame as wire_frame
from footfall.wire.events import FeedbackState, MetricsEvent, StepEvent
from footfall.wire.intake import Received
from footfall.wire.topics import INPUT_STREAMS, SESSION_DEVICE, Stream, Topic

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


def _replayed(folder: Path, **kw: int) -> list[tuple[str, bytes]]:
    journal = Journal(folder, max_bytes=10**9, **kw)
    try:
        return list(journal.replay())
    finally:
        journal.close()


@settings(max_examples=40, deadline=None)
@given(plan=st.lists(st.tuples(st.integers(0, 4), st.booleans()), min_size=1, max_size=120),
       kill_at=st.integers(0, 120))
def test_the_log_replays_exactly_the_open_sessions_and_frees_ended_segments(
        plan: list[tuple[int, bool]], kill_at: int) -> None:
    """One log for all sessions: batches of messages of five sessions, some ending (and some
    starting again under the same name); killed at any batch, the replay is every message of
    the sessions open then, in order, and no segment is kept that only ended sessions hold."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "journal"
        journal = Journal(folder, max_bytes=10**9, segment_bytes=600)
        open_since: dict[int, list[tuple[str, bytes]]] = {}
        written: list[int] = []  # each record's bytes, in order
        first: dict[int, int] = {}  # an open session's first record
        for step, (session, ends) in enumerate(plan[:kill_at]):
            key = ("a", f"s{session}")
            topic = f"footfall/v1/a/s{session}/d/imu"
            first.setdefault(session, len(written))
            for i in range(3):
                message = (topic, f"{step}.{i}".encode() * 5)
                journal.append(key, *message)
                open_since.setdefault(session, []).append(message)
                written.append(12 + len(topic) + len(message[1]))
            journal.flush()
            if ends:
                journal.remove(key)
                del open_since[session], first[session]
                written.append(12 + len(f"$journal/ended/a/s{session}"))
            # what is on disk: the log from the oldest open session's first record on
            kept = sum(written[min(first.values()):]) if first else 0
            assert len(list(folder.glob("*.spool"))) <= kept // 600 + 2
        journal.close()  # killed: the open sessions' messages are all in the log
        expected = sorted((m for ms in open_since.values() for m in ms),
                          key=lambda m: tuple(map(int, m[1][:m[1].index(b".") + 2]
                                                  .decode().split("."))))
        got = _replayed(folder, segment_bytes=600)
        assert sorted(got) == sorted(expected)
        assert [m for m in got if m[0].startswith("footfall/v1/a/s0/")] == \
            [m for m in expected if m[0].startswith("footfall/v1/a/s0/")]  # in order
        if not open_since:
            assert not list(folder.glob("*.spool"))


def test_journals_of_the_layout_before_are_replayed_and_moved(tmp_path: Path) -> None:
    folder = tmp_path / "journal"

    def legacy() -> None:
        old = Spool(folder / "anna" / "s1")
        old.append_many([(b"footfall/v1/anna/s1/tibia-left/imu", b"one"),
                         (b"footfall/v1/anna/s1/tibia-left/imu", b"two")])
        old.close()

    legacy()
    assert _replayed(folder) == [("footfall/v1/anna/s1/tibia-left/imu", b"one"),
                                 ("footfall/v1/anna/s1/tibia-left/imu", b"two")]
    assert not (folder / "anna").exists()
    legacy()  # as if the last start had stopped before deleting it: not moved twice
    # moved into the log: a second restart replays them again from there
    assert _replayed(folder) == [("footfall/v1/anna/s1/tibia-left/imu", b"one"),
                                 ("footfall/v1/anna/s1/tibia-left/imu", b"two")]


def test_a_damaged_segment_costs_its_records_only(tmp_path: Path) -> None:
    """A flipped byte (a disk fault) in the oldest segment: the processor still starts; the
    other segments' messages are replayed and journalled again, the damaged files kept aside."""
    folder = tmp_path / "journal"
    journal = Journal(folder, max_bytes=10**9, segment_bytes=300)
    sent = []
    for i in range(12):
        message = ("footfall/v1/anna/s1/tibia-left/imu", f"m{i:02d}".encode() * 20)
        journal.append(("anna", "s1"), *message)
        journal.flush()
        sent.append(message)
    journal.close()
    oldest = sorted(folder.glob("*.spool"))[0]
    damaged = bytearray(oldest.read_bytes())
    damaged[40] ^= 0xFF
    oldest.write_bytes(damaged)
    first = _replayed(folder, segment_bytes=300)
    assert first and first == sent[len(sent) - len(first):]  # the later segments, in order
    assert len(first) < len(sent)
    assert [p.name for p in folder.glob("unreadable-*/*.spool")]
    assert _replayed(folder, segment_bytes=300) == first  # journalled again


class _Batches:
    """The input connection as ``ProcessorService._consume`` reads it: given batches."""

    def __init__(self, batches: list[list[tuple[str, bytes]]]) -> None:
        self._batches = batches
        self.idle_s = 0.0  # (never waits: the batches are all there)

    async def batches(self, _max_messages: int) -> AsyncIterator[list[Received]]:
        for batch in self._batches:
            yield [Received(topic, payload, 1, 0, False) for topic, payload in batch]

    def ack_all(self, _batch: list[Received]) -> None:
        pass


def test_a_session_started_from_held_retained_messages_replays_them_first(
        tmp_path: Path) -> None:
    """Retained meta, status and feedback state come before the session runs here (they are
    held: a broker hands a restarted processor those of every session that ever ran), a tick
    ends the journals of sessions not running, then the data starts the session. Killed and
    restarted, the replay must give the session its meta (the sides) and its targets again."""
    messages = [(str(m.topic), m.payload) for m in iter_messages(SAMPLE, INPUT_STREAMS)]
    first_data = next(i for i, (t, _) in enumerate(messages) if t.endswith("/imu"))
    retained, data = messages[:first_data], messages[first_data:]
    athlete, session = retained[0][0].split("/")[2:4]
    t0_ns = wire_frame.decode(data[0][1]).utc_ns
    state = FeedbackState(time_ns=t0_ns - 10**9, command_ns=t0_ns - 10**9,
                          target_cadence_spm=180.0)
    retained.append((str(Topic(athlete, session, SESSION_DEVICE, Stream.FEEDBACK_STATE)),
                     state.to_json()))
    reference = SessionRouter()
    expected: list[Routed] = []
    for topic, payload in retained + data:
        expected += reference.handle(topic, payload)
    expected += reference.finish()

    settings = load_settings(state_dir=tmp_path)
    seen: list[Routed] = []
    first = ProcessorService(settings, writer=None, on_event=lambda t, e: seen.append((t, e)))
    cut = len(data) // 2
    asyncio.run(first._consume(_Batches([retained])))  # type: ignore[arg-type]
    assert first.router.sessions == {} and first.router.holds(athlete, session)
    first.tick()  # the journals of sessions not running end here
    asyncio.run(first._consume(_Batches([data[i:i + 500]  # type: ignore[arg-type]
                                         for i in range(0, cut, 500)])))
    first.journal.close()  # killed
    del first

    second = ProcessorService(settings, writer=None, on_event=lambda t, e: seen.append((t, e)))
    second._replay_journal()
    resumed = second.router.sessions[(athlete, session)]
    assert resumed.feedback.state().target_cadence_spm == 180.0
    for topic, payload in data[cut:]:
        second.handle(topic, payload)
    second._finish_all()

    def steps(out: list[Routed]) -> list[tuple[str, int, float, str]]:
        return sorted((t.device, e.time_ns, e.impact_g, e.side.value)
                      for t, e in out if isinstance(e, StepEvent))

    assert steps(seen) == steps(expected) and {s[3] for s in steps(seen)} == {"left", "right"}
