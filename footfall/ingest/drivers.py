"""Per-profile device drivers: start commands, and notification bytes → wire messages.

A driver is the per-device streaming state (trackers, clock fit, reassembly buffers) plus the
logic that advances it; it never touches BLE or MQTT itself. ``start`` issues the device's
start commands through the client it is given (called again after every reconnect), and
``handle`` turns one notification into zero or more :class:`ImuFrame` / :class:`RscSample`,
raising :class:`ParseError` for a malformed packet.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np
from pydantic import ValidationError

from footfall.core.errors import SettingError
from footfall.core.vocab import worn
from footfall.devices import footfall_open, movesense, polar_pmd, rsc, witmotion
from footfall.devices.capabilities import DEVICE_MODELS
from footfall.devices.errors import ParseError
from footfall.ingest import clock as clk
from footfall.ingest.errors import DeviceError
from footfall.wire.events import DeviceMeta, RscSample
from footfall.wire.frame import FLAG_GAP_BEFORE, INT16_FULL_SCALE, ImuFrame

log = logging.getLogger(__name__)

CadenceMultiplier = Literal["auto", "1", "2"]
#: the walking/running cut of the auto cadence mode: a running cadence below it is per-leg
AUTO_PER_LEG_BELOW_SPM = 120
#: RSC optional fields beyond these are garbage (a u32 distance is up to 429,496 km)
MAX_STRIDE_M = 10.0
MAX_DISTANCE_M = 100_000.0


class GattClient(Protocol):
    """The slice of ``bleak.BleakClient`` footfall uses (the seam tests plug into)."""

    @property
    def is_connected(self) -> bool: ...

    async def disconnect(self) -> Any: ...

    async def start_notify(self, char_specifier: str, callback: Callable[..., Any],
                           **kwargs: Any) -> None: ...

    async def write_gatt_char(self, char_specifier: str, data: bytes | bytearray,
                              response: bool | None = None) -> None: ...

    async def read_gatt_char(self, char_specifier: str, **kwargs: Any) -> bytearray: ...


@dataclass(frozen=True, slots=True)
class DeviceSpec:
    """One device to stream: where it is and how it is worn."""

    address: str
    profile: str
    placement: str
    side: str
    device_id: str = ""  # the topic id; default "<placement>-<side>" (or the address)
    sample_rate_hz: int | None = None  # requested rate, profile default if None
    accel_range_g: int | None = None
    cadence_multiplier: CadenceMultiplier = "auto"
    name: str = ""

    @property
    def id(self) -> str:
        if self.device_id:
            return self.device_id
        return f"{self.placement}-{self.side}" if self.side != "none" else self.placement


@dataclass
class DeviceStats:
    """Counters per device; every discarded or missing item lands in one of them."""

    notifications: int = 0
    frames: int = 0
    samples: int = 0
    rsc_samples: int = 0
    rejected: int = 0  # malformed packets, set aside in the quarantine
    duplicates: int = 0  # late or repeated notifications, dropped
    gaps: int = 0  # frames published with FLAG_GAP_BEFORE
    lost_samples: int = 0  # samples known to be missing before those frames
    clock_resets: int = 0
    connects: int = 0
    disconnects: int = 0
    queue_overflows: int = 0


Reject = Callable[[str, bytes], None]


DriverOutput = ImuFrame | RscSample


def _log_only(reason: str, data: bytes) -> None:
    log.warning("dropped a malformed packet: %s (%d bytes)", reason, len(data))


class Driver:
    """Base: frame numbering, clock mapping, and the meta event."""

    profile = ""
    notify_uuids: tuple[str, ...] = ()
    channels = 3

    def __init__(self, spec: DeviceSpec, *, set_aside: Reject | None = None,
                 stats: DeviceStats | None = None, mapper: clk.ClockMapper | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.spec = spec
        self.stats = stats or DeviceStats()
        self.set_aside: Reject = set_aside or _log_only
        self.mapper = mapper or clk.ClockMapper()
        self.sleep = sleep
        usual = DEVICE_MODELS.get(self.profile)
        self.rate_hz = spec.sample_rate_hz or (usual.default_rate_hz if usual else 0)
        self.range_g = spec.accel_range_g or (usual.default_range_g if usual else 0)
        self.gyro_dps = 0
        self.seq = 0
        self._gap_pending = False
        #: set when the rate/range in the published meta no longer hold (the caller republishes)
        self.meta_dirty = False
        self._offset_us = 0.0  # added to sensor time after sensor clock resets
        self._end_us: float | None = None  # published sensor time just after the last frame
        self._published: tuple[float, int, int] | None = None  # in the latest frame
        self._announced: tuple[float, int, int] | None = None  # in the latest meta()

    # -- lifecycle
    async def start(self, client: GattClient) -> None:
        """Issue the device's start commands (after start_notify)."""

    def on_reconnect(self) -> None:
        """The link dropped and came back: the next frame may not follow the last one."""
        self._gap_pending = True

    def mark_discontinuity(self) -> None:
        """The next frame gets ``FLAG_GAP_BEFORE`` whatever the counters say."""
        self._gap_pending = True

    def meta(self) -> DeviceMeta:
        rate, range_g, gyro = self._published or (float(self.rate_hz), self.range_g,
                                                   self.gyro_dps)
        self._announced = (rate, range_g, gyro)
        placement, side = worn(self.spec.placement, self.spec.side)
        return DeviceMeta(profile=self.profile, placement=placement, side=side,
                          sample_rate_hz=rate, accel_range_g=range_g, gyro_range_dps=gyro,
                          model=self.spec.name, address=self.spec.address)

    # -- data
    def reject(self, reason: str, data: bytes) -> None:
        """Count a malformed packet and hand it to ``set_aside`` (the quarantine)."""
        self.stats.rejected += 1
        self.set_aside(reason, data)

    def handle(self, char_uuid: str, data: bytes, recv_utc_ns: int) -> list[DriverOutput]:
        raise NotImplementedError

    def flush(self) -> list[DriverOutput]:
        """Whatever a driver holds back to batch small notifications (at stop or reconnect)."""
        return []

    def _frame(self, first_us: float, newest_us: float, counts: np.ndarray[Any, Any],
               rate_hz: float, recv_utc_ns: int, *, gap: bool, lost: int,
               clock_us: tuple[float, float] | None = None) -> ImuFrame:
        """``clock_us`` = (first, newest) on the mapper's scale when it differs from the
        published sensor time (WitMotion)."""
        map_first, map_newest = clock_us or (first_us, newest_us)
        self.mapper.observe(map_newest, recv_utc_ns)
        # published sensor time never runs backwards: after a sensor clock reset it continues
        # from where the previous frame ended (the frame is flagged by the caller)
        period_us = 1e6 / rate_hz
        if self._end_us is not None and first_us + self._offset_us < self._end_us - period_us:
            self._offset_us = self._end_us - first_us
            gap = True
        first_us += self._offset_us
        self._end_us = first_us + counts.shape[0] * period_us
        self._published = (float(rate_hz), self.range_g, self.gyro_dps)
        if self._published != self._announced:
            self.meta_dirty = True
        flags = 0
        if gap or self._gap_pending:
            flags |= FLAG_GAP_BEFORE
            self.stats.gaps += 1
            self.stats.lost_samples += max(lost, 0)
            log.info("%s: gap before frame %d, %d sample(s) lost", self.spec.id, self.seq, lost)
        self._gap_pending = False
        frame = ImuFrame(seq=self.seq, sensor_time_us=round(first_us),
                         utc_ns=self.mapper.to_utc_ns(map_first), sample_rate_hz=rate_hz,
                         accel_range_g=self.range_g, counts=counts,
                         gyro_range_dps=self.gyro_dps, flags=flags)
        self.seq = (self.seq + 1) & 0xFFFFFFFF
        self.stats.frames += 1
        self.stats.samples += frame.n_samples
        return frame

    def _to_counts(self, values_g: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        scaled = np.rint(values_g * (INT16_FULL_SCALE / self.range_g))
        return np.clip(scaled, -INT16_FULL_SCALE, INT16_FULL_SCALE - 1).astype(np.int16)


async def _await_answer(fut: asyncio.Future[Any], device: str, what: str,
                        timeout_s: float) -> Any:
    try:
        return await asyncio.wait_for(fut, timeout_s)
    except TimeoutError as exc:
        raise DeviceError(device, f"no answer to {what} within {timeout_s:.0f} s") from exc


class OpenFrameDriver(Driver):
    profile = footfall_open.PROFILE
    notify_uuids = (footfall_open.DATA_UUID,)

    def __init__(self, spec: DeviceSpec, **kwargs: Any) -> None:
        super().__init__(spec, **kwargs)
        self.seq_tracker = clk.SeqTracker(footfall_open.SEQ_MODULUS)
        self.unwrapper = clk.Unwrapper(32)
        self.next_first_us: int | None = None

    async def start(self, client: GattClient) -> None:
        await client.write_gatt_char(footfall_open.CONTROL_UUID, footfall_open.build_start(),
                                     response=True)

    def on_reconnect(self) -> None:
        # the counter tells exactly whether anything was missed: no blanket gap flag
        self.seq_tracker.resync()

    def handle(self, char_uuid: str, data: bytes, recv_utc_ns: int) -> list[DriverOutput]:
        f = footfall_open.parse(data)
        verdict, _lost_notifications = self.seq_tracker.check(f.seq)
        if verdict is clk.Verdict.DUPLICATE:
            self.stats.duplicates += 1
            log.warning("%s: dropped late or repeated notification seq %d", self.spec.id, f.seq)
            return []
        period_us = 1e6 / f.sample_rate_hz
        step = self.unwrapper.step(f.t_us)
        if step < 0 and self.next_first_us is not None:
            # the sensor clock went back: the board restarted. Keep sensor time increasing.
            self.stats.clock_resets += 1
            log.warning("%s: sensor clock went back by %d µs: treated as a reset", self.spec.id,
                        -step)
            self.unwrapper.rebase(f.t_us, self.next_first_us)
            self.mapper.reset()
            verdict = clk.Verdict.RESYNC
        first = self.unwrapper.unwrap(f.t_us)
        lost = 0
        if self.next_first_us is not None and verdict in (clk.Verdict.GAP, clk.Verdict.RESYNC):
            lost = round((first - self.next_first_us) / period_us)
        n = len(f.samples)
        self.next_first_us = first + round(n * period_us)
        self.rate_hz, self.range_g, self.gyro_dps = f.sample_rate_hz, f.accel_range_g, \
            f.gyro_range_dps
        counts = np.asarray(f.samples, dtype=np.int16)
        return [self._frame(first, first + (n - 1) * period_us, counts, float(f.sample_rate_hz),
                            recv_utc_ns, gap=verdict in (clk.Verdict.GAP, clk.Verdict.RESYNC),
                            lost=lost)]


class PolarPmdDriver(Driver):
    profile = polar_pmd.PROFILE
    notify_uuids = (polar_pmd.CONTROL_POINT_UUID, polar_pmd.DATA_UUID)
    answer_timeout_s = 5.0

    def __init__(self, spec: DeviceSpec, **kwargs: Any) -> None:
        super().__init__(spec, **kwargs)
        self.timeline = clk.Timeline(1e6 / self.rate_hz, anchor="last")
        self.rate = clk.StableRate(self.rate_hz)
        self._answer: asyncio.Future[polar_pmd.PmdControlResponse] | None = None

    async def start(self, client: GattClient) -> None:
        self._answer = asyncio.get_running_loop().create_future()
        cmd = polar_pmd.build_start(sample_rate_hz=self.rate_hz, resolution_bits=16,
                                    range_g=self.range_g)
        await client.write_gatt_char(polar_pmd.CONTROL_POINT_UUID, cmd, response=True)
        answer = await _await_answer(self._answer, self.spec.id, "the PMD start command",
                                     self.answer_timeout_s)
        if not answer.ok:
            raise DeviceError(self.spec.id, f"PMD start refused with status {answer.status} "
                                            f"(rate {self.rate_hz} Hz, range {self.range_g} g)")

    def handle(self, char_uuid: str, data: bytes, recv_utc_ns: int) -> list[DriverOutput]:
        if char_uuid == polar_pmd.CONTROL_POINT_UUID:
            msg = polar_pmd.parse_control(data)
            if isinstance(msg, polar_pmd.PmdStreamStopped):
                log.warning("%s: the device stopped the PMD stream on its own", self.spec.id)
            elif self._answer is not None and not self._answer.done():
                self._answer.set_result(msg)
            return []
        f = polar_pmd.parse_data(data)  # accelerometer frames only (the parser checks)
        n = len(f.samples)
        place = self.timeline.place(f.timestamp_ns / 1000.0, n)
        if place.verdict is clk.Verdict.DUPLICATE:
            self.stats.duplicates += 1
            log.warning("%s: dropped late or repeated PMD frame (timestamp %d ns)", self.spec.id,
                        f.timestamp_ns)
            return []
        if place.verdict is clk.Verdict.RESYNC:
            self.stats.clock_resets += 1
            self.mapper.reset()
        counts = self._to_counts(np.asarray(f.samples, dtype=np.float64) / 1000.0)
        newest = place.first_us + (n - 1) * place.period_us
        rate = self.rate.update(1e6 / self.timeline.period_us)
        return [self._frame(place.first_us, newest, counts, rate, recv_utc_ns,
                            gap=place.verdict in (clk.Verdict.GAP, clk.Verdict.RESYNC),
                            lost=place.lost_samples)]


class MovesenseDriver(Driver):
    profile = movesense.PROFILE
    notify_uuids = (movesense.NOTIFY_UUID,)
    answer_timeout_s = 5.0

    def __init__(self, spec: DeviceSpec, **kwargs: Any) -> None:
        super().__init__(spec, **kwargs)
        if self.rate_hz not in movesense.ACC_RATES_HZ:
            raise SettingError(f"Movesense Acc runs at {movesense.ACC_RATES_HZ} Hz, "
                               f"not {self.rate_hz}")
        self.timeline = clk.Timeline(1e6 / self.rate_hz, anchor="first")
        self.rate = clk.StableRate(self.rate_hz)
        self.unwrapper = clk.Unwrapper(32)
        self.assembler = movesense.GspAssembler()
        self.ref = 0
        self._answers: dict[int, asyncio.Future[movesense.GspMessage]] = {}

    async def start(self, client: GattClient) -> None:
        self.ref = (self.ref % 250) + 1
        self.assembler = movesense.GspAssembler()
        fut: asyncio.Future[movesense.GspMessage] = asyncio.get_running_loop().create_future()
        self._answers[self.ref] = fut
        cmd = movesense.build_subscribe(self.ref, movesense.acc_path(self.rate_hz))
        await client.write_gatt_char(movesense.WRITE_UUID, cmd, response=True)
        answer = await _await_answer(fut, self.spec.id, "the GSP subscribe", self.answer_timeout_s)
        if answer.status != movesense.STATUS_OK:
            raise DeviceError(self.spec.id, f"GSP subscribe to {movesense.acc_path(self.rate_hz)}"
                                            f" answered status {answer.status}")

    def handle(self, char_uuid: str, data: bytes, recv_utc_ns: int) -> list[DriverOutput]:
        msg = movesense.parse(data)
        if msg.type == movesense.MSG_RESULT:
            fut = self._answers.pop(msg.ref, None)
            if fut is not None and not fut.done():
                fut.set_result(msg)
            return []
        complete, errors = self.assembler.feed(msg)
        for reason in errors:
            self.reject(reason, data)
        out: list[DriverOutput] = []
        for ref, payload in complete:
            if self.ref == 0:  # not subscribed by us (offline replay): adopt the recording's
                self.ref = ref
            if ref != self.ref:
                self.reject(f"data for reference {ref}, subscribed as {self.ref}", payload)
                continue
            acc = movesense.parse_acc(payload)
            n = len(acc.samples)
            t_us = self.unwrapper.unwrap(acc.timestamp_ms) * 1000.0
            place = self.timeline.place(t_us, n)
            if place.verdict is clk.Verdict.DUPLICATE:
                self.stats.duplicates += 1
                log.warning("%s: dropped late or repeated GSP data (timestamp %d ms)",
                            self.spec.id, acc.timestamp_ms)
                continue
            if place.verdict is clk.Verdict.RESYNC:
                self.stats.clock_resets += 1
                self.mapper.reset()
            counts = self._to_counts(np.asarray(acc.samples, dtype=np.float64)
                                     / movesense.STANDARD_GRAVITY)
            rate = self.rate.update(1e6 / self.timeline.period_us)
            out.append(self._frame(place.first_us, place.first_us + (n - 1) * place.period_us,
                                   counts, rate, recv_utc_ns,
                                   gap=place.verdict in (clk.Verdict.GAP, clk.Verdict.RESYNC),
                                   lost=place.lost_samples))
        return out


class WitMotionDriver(Driver):
    """No counter, no timestamp: the sensor clock is the sample count.

    The rate the module really delivers over BLE is unconfirmed, so it is measured: the clock
    fit (allowed ±``max_rate_error``) maps the sample count at the *requested* rate to receive
    times, its slope gives the real rate, and the published rate and sensor time follow it
    (:class:`~footfall.ingest.clock.StableRate`). Gaps can only be inferred from receive times:
    once the fit is established, a notification arriving more than ``late_threshold_s`` after
    the mapped time of its samples means samples were lost (their number estimated from the
    lateness); across a reconnect, from the host time that passed.
    """

    profile = witmotion.PROFILE
    notify_uuids = (witmotion.NOTIFY_UUID,)
    channels = 6
    command_spacing_s = 0.1
    late_threshold_s = 0.3
    max_rate_error = 0.2
    batch_ms = 50.0  # samples per published frame: 50 ms of data (10 at 200 Hz)

    def __init__(self, spec: DeviceSpec, **kwargs: Any) -> None:
        kwargs.setdefault("mapper", clk.ClockMapper(max_drift_ppm=self.max_rate_error * 1e6,
                                                    min_span_s=2.0))
        super().__init__(spec, **kwargs)
        if float(self.rate_hz) not in witmotion.RATE_CODES:
            raise SettingError(f"WitMotion rates are {sorted(witmotion.RATE_CODES)} Hz, "
                               f"not {self.rate_hz}")
        self.range_g = witmotion.ACC_RANGE_G  # fixed by the firmware's scaling
        self.gyro_dps = witmotion.GYRO_RANGE_DPS
        self.stream = witmotion.WitStream()
        self.rate = clk.StableRate(self.rate_hz, tolerance=0.01, settle=100)
        self.index = 0  # samples so far, lost ones included: the clock the mapper fits
        self.next_us = 0.0  # published sensor time of the next sample
        self.last_recv_ns: int | None = None
        self._resume = False
        #: one sample per notification is one MQTT message per sample: batch them
        self.batch_samples = max(1, round(self.rate_hz * self.batch_ms / 1000))
        self._pending: list[tuple[int, ...]] = []
        self._pending_first = (0.0, 0.0)
        self._pending_gap, self._pending_lost, self._pending_recv_ns = False, 0, 0

    async def start(self, client: GattClient) -> None:
        self.stream = witmotion.WitStream()
        for cmd in (witmotion.CMD_UNLOCK, witmotion.build_rate_command(self.rate_hz),
                    witmotion.CMD_SAVE):
            # response=None: bleak picks what the ffe9 characteristic allows
            await client.write_gatt_char(witmotion.WRITE_UUID, cmd, response=None)
            await self.sleep(self.command_spacing_s)

    def handle(self, char_uuid: str, data: bytes, recv_utc_ns: int) -> list[DriverOutput]:
        frames, skipped = self.stream.feed(data)
        if skipped:
            self.reject(f"{skipped} byte(s) outside 55 61 frames skipped", data)
        if not frames:
            return []
        n = len(frames)
        nominal_us = 1e6 / self.rate_hz  # the mapper's scale
        real_us = nominal_us * self.mapper.slope  # best estimate of the true period
        lost = 0
        if self._resume and self.last_recv_ns is not None:
            missing_us = (recv_utc_ns - self.last_recv_ns) / 1000 - n * real_us
            lost = max(0, round(missing_us / real_us))
        elif self.mapper.fitted:
            due_ns = self.mapper.to_utc_ns((self.index + n - 1) * nominal_us)
            if recv_utc_ns - due_ns > self.late_threshold_s * 1e9:
                lost = round((recv_utc_ns - due_ns) / 1000 / real_us)
        out: list[DriverOutput] = []
        resumed, self._resume = self._resume, False
        if (lost or resumed) and self._pending:
            out += self.flush()  # what came before the gap goes out unflagged
        pub_period_us = 1e6 / self.rate.published_hz
        self.index += lost
        self.next_us += lost * pub_period_us
        if not self._pending:
            self._pending_first = (self.next_us, self.index * nominal_us)
            self._pending_gap, self._pending_lost = lost > 0 or resumed, lost
        self._pending += [f.acc_raw + f.gyro_raw for f in frames]
        self.index += n
        self.next_us += n * pub_period_us
        self.last_recv_ns = recv_utc_ns
        self._pending_recv_ns = recv_utc_ns
        if len(self._pending) >= self.batch_samples:
            out += self.flush()
        return out

    def flush(self) -> list[DriverOutput]:
        if not self._pending:
            return []
        n = len(self._pending)
        first_us, clock_first = self._pending_first
        pub_period_us = 1e6 / self.rate.published_hz
        nominal_us = 1e6 / self.rate_hz
        counts = np.asarray(self._pending, dtype=np.int16)
        self._pending = []
        frame = self._frame(first_us, first_us + (n - 1) * pub_period_us, counts,
                            self.rate.published_hz, self._pending_recv_ns,
                            gap=self._pending_gap, lost=self._pending_lost,
                            clock_us=(clock_first, clock_first + (n - 1) * nominal_us))
        if self.mapper.fitted:
            before = self.rate.published_hz
            if self.rate.update(self.rate_hz / self.mapper.slope) != before:
                log.info("%s: WitMotion delivers %.2f Hz (asked %d Hz): publishing that rate",
                         self.spec.id, self.rate.published_hz, self.rate_hz)
                # samples already timed at the old rate: keep published time continuous
                self.next_us = first_us + n * pub_period_us
        return [frame]

    def on_reconnect(self) -> None:
        # not the base's blanket flag: a batch from before the drop may still be pending
        self._resume = True
        self.mapper.reset()


class RscDriver(Driver):
    """Foot pod: ~1 Hz RSC measurements, cadence converted to steps/min."""

    profile = rsc.PROFILE
    notify_uuids = (rsc.MEASUREMENT_UUID,)

    def __init__(self, spec: DeviceSpec, **kwargs: Any) -> None:
        super().__init__(spec, **kwargs)
        if spec.cadence_multiplier not in ("auto", "1", "2"):
            raise SettingError(f"cadence multiplier must be auto, 1 or 2, "
                               f"not {spec.cadence_multiplier!r}")
        self.multiplier: int | None = (None if spec.cadence_multiplier == "auto"
                                       else int(spec.cadence_multiplier))
        self.feature: int | None = None

    async def start(self, client: GattClient) -> None:
        try:
            raw = await client.read_gatt_char(rsc.FEATURE_UUID)
            self.feature = int.from_bytes(raw[:2], "little") if len(raw) >= 2 else None
        except Exception as exc:  # optional characteristic: absence is not an error
            log.debug("%s: no RSC feature characteristic (%s)", self.spec.id, exc)

    def cadence_spm(self, m: rsc.RscMeasurement) -> float:
        """Auto rule: the first running measurement decides (< 120 ⇒ per-leg, ×2) for good."""
        if self.multiplier is None and m.running and m.cadence_raw > 0:
            self.multiplier = 2 if m.cadence_raw < AUTO_PER_LEG_BELOW_SPM else 1
            log.info("%s: foot pod cadence looks %s (%d/min while running): ×%d", self.spec.id,
                     "per-leg" if self.multiplier == 2 else "steps/min", m.cadence_raw,
                     self.multiplier)
        return float(m.cadence_raw * (self.multiplier or 1))

    def handle(self, char_uuid: str, data: bytes, recv_utc_ns: int) -> list[DriverOutput]:
        m = rsc.parse(data)
        stride, distance = m.stride_length_m, m.total_distance_m
        if stride is not None and not 0 <= stride <= MAX_STRIDE_M:
            stride = None  # an optional field out of any human range: dropped, not the sample
        if distance is not None and not 0 <= distance <= MAX_DISTANCE_M:
            distance = None
        try:
            sample = RscSample(time_ns=recv_utc_ns, speed_mps=m.speed_mps,
                               cadence_spm=self.cadence_spm(m), running=m.running,
                               stride_length_m=stride, total_distance_m=distance, seq=self.seq)
        except ValidationError as exc:
            raise ParseError(self.profile, "not a running measurement: " + "; ".join(
                f"{e['loc'][0]} {e['input']}: {e['msg']}" for e in exc.errors())) from None
        self.seq += 1
        self.stats.rsc_samples += 1
        return [sample]

    def meta(self) -> DeviceMeta:
        meta = super().meta()
        return meta.model_copy(update={"sample_rate_hz": 0.0, "accel_range_g": 0,
                                       "gyro_range_dps": 0,
                                       "cadence_multiplier": self.spec.cadence_multiplier})


DRIVERS: dict[str, type[Driver]] = {
    d.profile: d
    for d in (OpenFrameDriver, PolarPmdDriver, MovesenseDriver, WitMotionDriver, RscDriver)
}


def make_driver(spec: DeviceSpec, **kwargs: Any) -> Driver:
    try:
        cls = DRIVERS[spec.profile]
    except KeyError:
        raise SettingError(f"unknown profile {spec.profile!r}; choose from "
                           f"{', '.join(sorted(DRIVERS))}") from None
    return cls(spec, **kwargs)

