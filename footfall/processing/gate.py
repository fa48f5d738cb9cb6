"""What stands between the network and a sensor's stream: its data in ``seq`` order, and none
before the sensor's ``meta``.

- **Reorder window.** BLE delivers in order, but a broker, a spool replay or a flaky link can
  swap neighbours. A frame that arrives ahead of a missing one waits for it, up to
  ``reorder_window_frames`` later frames or ``reorder_wait_s`` of arrival time; then the
  missing one counts as lost (processing/quality.py) and a straggler after that is dropped as
  late. A stream in order never waits.
- **Meta first.** Placement and side come from the retained ``meta``. After a processor
  restart the broker delivers the queued frames *before* the retained messages, so data of a
  sensor without meta is held (``meta_wait_messages``, ``meta_wait_s``) and analysed once the
  meta is there: steps are tagged right from the first frame.

Pure and clock-free: the router passes arrival times in, so a file and a live stream give the
same results (a file holds meta first and frames in order, so nothing waits there).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from footfall.config.limits import Limits
from footfall.wire.events import RscSample
from footfall.wire.frame import ImuFrame

log = logging.getLogger(__name__)

SEQ_MODULO: Final = 1 << 32

Data = ImuFrame | RscSample


@dataclass(slots=True)
class _Held:
    item: Data
    arrived_ns: int


@dataclass(slots=True)
class DeviceGate:
    """The gate of one sensor of one session."""

    limits: Limits
    device: str
    has_meta: bool = False
    next_seq: int | None = None
    #: frames that overtook a missing one, by seq
    ahead: dict[int, _Held] = field(default_factory=dict)
    #: data in arrival order (already in seq order) waiting for the meta
    before_meta: list[_Held] = field(default_factory=list)
    gave_up_on_meta: bool = False

    # -- in ----------------------------------------------------------------------------------

    def push(self, item: Data, arrived_ns: int) -> list[Data]:
        """One decoded message; what may go to the analysis now, in order."""
        if isinstance(item, ImuFrame) and self.take_next(item):
            return [item]
        return self._after_meta(self._in_order(item, arrived_ns), arrived_ns)

    def take_next(self, frame: ImuFrame) -> bool:
        """(Most frames) ``frame`` is the next in line, nothing is held and the meta is known:
        it goes to the analysis, as :meth:`push` would send it. False: nothing changed (push
        it)."""
        if frame.seq != self.next_seq or self.ahead \
                or not (self.has_meta or self.gave_up_on_meta):
            return False
        self.next_seq = (frame.seq + 1) % SEQ_MODULO
        return True

    def meta_arrived(self) -> list[Data]:
        """The sensor's meta is known: everything held for it, in order."""
        self.has_meta = True
        out = [h.item for h in self.before_meta]
        self.before_meta.clear()
        return out

    def due(self, now_ns: int) -> list[Data]:
        """Live: what waited too long (a lost frame, a meta that does not come)."""
        out: list[Data] = []
        wait_ns = round(self.limits.reorder_wait_s * 1e9)
        if self.ahead and min(h.arrived_ns for h in self.ahead.values()) + wait_ns <= now_ns:
            out += self._release_ahead(all_of_them=True)
        released = self._after_meta(out, now_ns)
        meta_ns = round(self.limits.meta_wait_s * 1e9)
        if self.before_meta and self.before_meta[0].arrived_ns + meta_ns <= now_ns:
            released += self._give_up_on_meta(f"for {self.limits.meta_wait_s:g} s")
        return released

    def drain(self) -> list[Data]:
        """The end (a file's, the sensor went offline, the session finishes): everything."""
        out = self._release_ahead(all_of_them=True)
        held = [h.item for h in self.before_meta] + out
        self.before_meta.clear()
        return held

    @property
    def held(self) -> int:
        return len(self.ahead) + len(self.before_meta)

    # -- order -------------------------------------------------------------------------------

    def _in_order(self, item: Data, arrived_ns: int) -> list[Data]:
        if not isinstance(item, ImuFrame):
            return [item]  # a foot pod's samples carry their own time, checked downstream
        seq = item.seq
        if self.next_seq is None:
            self.next_seq = seq
        d = (seq - self.next_seq) % SEQ_MODULO
        if d >= SEQ_MODULO // 2:
            return [item]  # behind: quality drops and counts it as late or duplicate
        if d == 0:
            self.next_seq = (seq + 1) % SEQ_MODULO
            return [item, *self._release_ahead()]
        if seq not in self.ahead:
            self.ahead[seq] = _Held(item, arrived_ns)
        if len(self.ahead) > self.limits.reorder_window_frames:
            return self._release_ahead(skip_to_first=True)
        return []

    def _release_ahead(self, *, skip_to_first: bool = False,
                       all_of_them: bool = False) -> list[Data]:
        """Held frames that are next in line; ``skip_to_first``: give up on the missing
        frame(s) before the first held one; ``all_of_them``: give up on every gap."""
        out: list[Data] = []
        while self.ahead:
            if self.next_seq in self.ahead:
                seq = self.next_seq
            elif skip_to_first or all_of_them:
                expected = self.next_seq or 0
                seq = min(self.ahead, key=lambda s: (s - expected) % SEQ_MODULO)
                log.info("%s: frame(s) %d–%d did not come within the reorder window",
                         self.device, expected, (seq - 1) % SEQ_MODULO)
                skip_to_first = False
            else:
                break
            out.append(self.ahead.pop(seq).item)
            self.next_seq = (seq + 1) % SEQ_MODULO
        return out

    # -- meta --------------------------------------------------------------------------------

    def _after_meta(self, items: Iterable[Data], arrived_ns: int) -> list[Data]:
        if self.has_meta or self.gave_up_on_meta:
            return list(items)
        self.before_meta += [_Held(item, arrived_ns) for item in items]
        if len(self.before_meta) > self.limits.meta_wait_messages:
            return self._give_up_on_meta(f"after {self.limits.meta_wait_messages} messages")
        return []

    def _give_up_on_meta(self, why: str) -> list[Data]:
        log.warning("%s: no meta (placement, side) %s: analysing its data with the default "
                    "placement", self.device, why)
        self.gave_up_on_meta = True
        out = [h.item for h in self.before_meta]
        self.before_meta.clear()
        return out
