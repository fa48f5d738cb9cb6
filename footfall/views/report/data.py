"""The report's inputs: the one adapter from where data lives to typed in-memory sessions.

A :class:`Session` (one run, every step) comes from InfluxDB (:func:`session_from_influx`) or
from a file's offline analysis (:func:`session_from_analysis`: a session file or a FIT file, run
through the same processor as ``footfall analyze``). A :class:`Visit` (one session's headline
figures) comes from the ``summary`` measurement only (:func:`visits_from_influx`), never from
months of raw steps: InfluxDB 3 Core limits a query to about 72 hours of data.

Besides the steps and metrics it reads what the processor records of a session's retraining
and running, as the same typed events in both sources:

- feedback periods and session notes (``footfall coach``): the ``feedback`` and ``note``
  events (:class:`~footfall.wire.events.FeedbackEvent`,
  :class:`~footfall.wire.events.SessionNote`); absent, they are ``None`` and the report says
  "not recorded";
- pauses and walking breaks: the ``pause`` events (:class:`~footfall.wire.events.PauseEvent`).
"""

from __future__ import annotations

import contextlib
import statistics
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from footfall.config.analysis import AnalysisConfig
from footfall.config.settings import Settings
from footfall.core.errors import CommandError
from footfall.core.ids import check_id
from footfall.core.units import NS
from footfall.core.vocab import Placement, Side
from footfall.processing.load import Activity, session_steps, treadmill_activity
from footfall.processing.offline import AnalysisResult
from footfall.processing.summary import target_band_spm
from footfall.storage.influx import InfluxClient, InfluxError, influx_target, rows
from footfall.storage.schema import event_from_row
from footfall.wire.events import (
    AlertEvent,
    DeviceSummary,
    FeedbackEvent,
    MetricsEvent,
    PauseEvent,
    SessionMetricsEvent,
    SessionNote,
    StepEvent,
    WireEvent,
)

E = TypeVar("E", bound=WireEvent)

#: the measurements of a feedback channel's changes and of the therapist's notes
FEEDBACK = FeedbackEvent.TYPE
NOTES = SessionNote.TYPE


# -- what a session is made of --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Period:
    start_ns: int
    end_ns: int

    @property
    def duration_s(self) -> float:
        return (self.end_ns - self.start_ns) / NS

    def contains(self, time_ns: int) -> bool:
        return self.start_ns <= time_ns < self.end_ns


def union(periods: Iterable[Period]) -> list[Period]:
    """Overlapping or touching periods merged, in time order."""
    out: list[Period] = []
    for p in sorted(periods, key=lambda p: p.start_ns):
        if out and p.start_ns <= out[-1].end_ns:
            out[-1] = Period(out[-1].start_ns, max(out[-1].end_ns, p.end_ns))
        else:
            out.append(Period(p.start_ns, p.end_ns))
    return out


@dataclass(frozen=True, slots=True)
class Pause(Period):
    """A break in running: a stop, or a walk (docs/metrics.md, "Running, walking, pauses")."""

    kind: str = "stop"


@dataclass(frozen=True, slots=True)
class FeedbackPeriod(Period):
    """Feedback on one channel switched on or off, from ``start_ns`` to ``end_ns``."""

    channel: str = ""
    on: bool = False
    reason: str = ""
    probe: bool = False  # a no-feedback retention probe is running


@dataclass(frozen=True, slots=True)
class Notes:
    """What the therapist wrote down; any field may be unknown."""

    pain_0_10: float | None = None
    shoes: str | None = None
    belt_speed_kmh: float | None = None
    text: str | None = None

    def updated(self, other: Notes | None) -> Notes:
        """These notes with every field ``other`` knows taking precedence."""
        if other is None:
            return self
        return Notes(
            pain_0_10=other.pain_0_10 if other.pain_0_10 is not None else self.pain_0_10,
            shoes=other.shoes if other.shoes is not None else self.shoes,
            belt_speed_kmh=other.belt_speed_kmh if other.belt_speed_kmh is not None
            else self.belt_speed_kmh,
            text=other.text if other.text is not None else self.text)

    def values(self) -> tuple[float | str | None, ...]:
        return (self.pain_0_10, self.shoes, self.belt_speed_kmh, self.text)

    @property
    def empty(self) -> bool:
        return all(v is None for v in self.values())


@dataclass(slots=True)
class Device:
    """One sensor of a session: its summary, steps and per-second metrics."""

    name: str
    summary: DeviceSummary
    steps: list[StepEvent] = field(default_factory=list)
    metrics: list[MetricsEvent] = field(default_factory=list)
    accel_range_g: int | None = None  # None: not known here (InfluxDB stores no meta)

    @property
    def label(self) -> str:
        return device_label(self.summary, self.name)


def device_label(summary: DeviceSummary, name: str) -> str:
    """``left tibia``, ``sacrum``, ``foot pod``: where the sensor was, for people."""
    if summary.source == "rsc":
        return "foot pod"
    placement, side = summary.placement, summary.side
    if placement is None:
        return name
    if side in (Side.LEFT, Side.RIGHT):
        return f"{side} {placement}"
    return str(placement)


# -- whole-session figures, one rule each ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class LegImpact:
    label: str
    side: str
    steps: int
    impact_g: float | None
    baseline_g: float | None
    final_g: float | None
    drift_pct: float | None
    clipped_steps: int
    clipped_pct: float | None


def _mean(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.fmean(known) if known else None


@dataclass(frozen=True, slots=True)
class Headline:
    """A session's figures for people, from its device summaries (analyze's ``summary``).

    Cadence-type figures are the mean over the sensors that report them (two tibia sensors
    each measure the same step rate); impact is per sensor; symmetry is (R − L) / max(R, L)
    × 100 of the left and right median impacts at the same placement.
    """

    start_ns: int
    end_ns: int
    steps: int | None
    cadence_spm: float | None
    cadence_baseline_spm: float | None
    cadence_final_spm: float | None
    cadence_change_pct: float | None
    cadence_speed_explained_pct: float | None
    cadence_drift_pct: float | None
    cadence_target_spm: float | None
    time_in_target_pct: float | None
    impacts: tuple[LegImpact, ...]
    symmetry_pct: float | None
    speed_mps: float | None
    packet_loss_pct: float | None
    has_impact_sensor: bool

    @property
    def duration_s(self) -> float:
        return (self.end_ns - self.start_ns) / NS

    def impact(self, side: str) -> LegImpact | None:
        return next((i for i in self.impacts if i.side == side), None)


def impact_symmetry_pct(summaries: Iterable[DeviceSummary]) -> float | None:
    """(R − L) / max(R, L) × 100 of the median impacts of a left and right sensor at the
    same placement (positive: the right leg lands harder)."""
    by_key = {(s.placement, s.side): s.impact_g for s in summaries
              if s.placement is not None and s.placement.is_leg}
    for placement in (Placement.TIBIA, Placement.FOOT):
        left, right = by_key.get((placement, Side.LEFT)), by_key.get((placement, Side.RIGHT))
        if left is not None and right is not None and max(left, right) > 0:
            return 100.0 * (right - left) / max(left, right)
    return None


def headline(summaries: Mapping[str, DeviceSummary]) -> Headline:
    found = [s for s in summaries.values() if s.steps or s.source]
    if not found:
        raise CommandError("the session has no data: no sensor reported steps or cadence")
    impacts = tuple(
        LegImpact(device_label(s, name), str(s.side or "none"), s.steps, s.impact_g,
                  s.impact_baseline_g, s.impact_final_g, s.impact_drift_pct,
                  s.clipped_steps, s.clipped_pct)
        for name, s in sorted(summaries.items(), key=lambda kv: _side_order(kv[1]))
        if s.source == "imu")
    return Headline(
        start_ns=min(s.start_ns for s in found), end_ns=max(s.time_ns for s in found),
        steps=session_steps(found),
        cadence_spm=_mean(s.cadence_spm for s in found),
        cadence_baseline_spm=_mean(s.cadence_baseline_spm for s in found),
        cadence_final_spm=_mean(s.cadence_final_spm for s in found),
        cadence_change_pct=_mean(s.cadence_change_pct for s in found),
        cadence_speed_explained_pct=_mean(s.cadence_speed_explained_pct for s in found),
        cadence_drift_pct=_mean(s.cadence_drift_pct for s in found),
        cadence_target_spm=_mean(s.cadence_target_spm for s in found),
        time_in_target_pct=_mean(s.time_in_target_pct for s in found),
        impacts=impacts, symmetry_pct=impact_symmetry_pct(found),
        speed_mps=_mean(s.speed_mps for s in found),
        packet_loss_pct=max((s.packet_loss_pct for s in found if s.packet_loss_pct is not None),
                            default=None),
        has_impact_sensor=any(s.source == "imu" for s in found))


def _side_order(s: DeviceSummary) -> tuple[int, str]:
    return ({"left": 0, "right": 1}.get(str(s.side), 2), str(s.placement))


# -- a session and a visit -------------------------------------------------------------------


@dataclass(slots=True)
class Session:
    """One run with every step, as the report draws it."""

    athlete: str
    session: str
    source: str  # where it came from, for people
    devices: dict[str, Device]
    #: (device, alert) in time order; session-wide rules under ``session``
    alerts: list[tuple[str, AlertEvent]]
    config: AnalysisConfig
    feedback: list[FeedbackPeriod] | None = None  # None: not recorded
    pauses: list[Pause] | None = None  # None: not recorded
    notes: Notes | None = None
    #: the belt speed the analysis was told (flag or config), m/s
    belt_speed_mps: float | None = None
    #: a watch's run (a FIT file): its own distance and running time
    watch: Activity | None = None
    #: the session's combined figures once a second (left/right symmetry, session cadence)
    session_metrics: list[SessionMetricsEvent] = field(default_factory=list)

    @property
    def headline(self) -> Headline:
        return headline({name: d.summary for name, d in self.devices.items()})

    @property
    def start_ns(self) -> int:
        return self.headline.start_ns

    def belt_speed(self) -> float | None:
        """The belt speed in m/s: the therapist's note, else what the analysis used, else a
        foot pod's."""
        if self.notes is not None and self.notes.belt_speed_kmh is not None:
            return self.notes.belt_speed_kmh / 3.6
        return self.belt_speed_mps or self.headline.speed_mps

    def activity(self) -> Activity:
        """The session as training load: a watch's run as the watch counted it, else a
        treadmill session."""
        if self.watch is not None:
            return self.watch
        return treadmill_activity(self.session, [d.summary for d in self.devices.values()],
                                  self.belt_speed())

    def baseline_window(self) -> Period | None:
        """When the baseline was taken (the first sensor's metrics say so)."""
        for device in self.devices.values():
            collecting = [m.time_ns for m in device.metrics if m.baseline_state == "collecting"]
            done = [m.time_ns for m in device.metrics if m.baseline_state == "set"]
            if collecting and done:
                return Period(collecting[0], done[0])
        return None

    def target_band_spm(self) -> tuple[float, float] | None:
        target = self.headline.cadence_target_spm
        return None if target is None else target_band_spm(target, self.config.alerts)

    def target_from_ns(self) -> int:
        """Since when the target applied: an absolute one from the start, one relative to the
        baseline (or set live) once the baseline was taken."""
        window = self.baseline_window()
        if self.config.alerts.target_cadence_spm is not None or window is None:
            return self.start_ns
        return window.end_ns

    def probes(self) -> list[Period]:
        """The no-feedback retention probes (every channel off for the probe)."""
        return union(Period(p.start_ns, p.end_ns) for p in self.feedback or [] if p.probe)

    def feedback_on(self) -> list[Period]:
        """When feedback was on, on any channel."""
        return union(Period(p.start_ns, p.end_ns) for p in self.feedback or [] if p.on)


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """How the runner ran in a no-feedback retention probe, against the baseline."""

    duration_s: float
    cadence_spm: float | None
    cadence_vs_baseline_pct: float | None
    #: per leg label: median unclipped impact in the probe vs the baseline, %
    impact_vs_baseline_pct: dict[str, float]


@dataclass(slots=True)
class Visit:
    """One session's headline figures, from the ``summary`` measurement."""

    athlete: str
    session: str
    summaries: dict[str, DeviceSummary]
    notes: Notes | None = None
    probe: ProbeResult | None = None  # None: no probe recorded
    feedback_recorded: bool = False

    @property
    def headline(self) -> Headline:
        return headline(self.summaries)

    @property
    def start_ns(self) -> int:
        return self.headline.start_ns

    def belt_speed(self) -> float | None:
        """m/s: the therapist's note, else the speed the processor knew (pod or config)."""
        if self.notes is not None and self.notes.belt_speed_kmh is not None:
            return self.notes.belt_speed_kmh / 3.6
        return self.headline.speed_mps

    def activity(self) -> Activity:
        """The session as training load."""
        return treadmill_activity(self.session, list(self.summaries.values()),
                                  self.belt_speed())


def probe_result(session: Session) -> ProbeResult | None:
    """The first probe's cadence and impact against the session's baseline."""
    probes = session.probes()
    if not probes:
        return None
    probe = probes[0]
    head = session.headline
    cadences = [m.cadence_spm for d in session.devices.values() for m in d.metrics
                if m.cadence_spm is not None and probe.contains(m.time_ns)]
    cadence = statistics.median(cadences) if cadences else None
    impacts: dict[str, float] = {}
    for device in session.devices.values():
        base = device.summary.impact_baseline_g
        values = [s.impact_g for s in device.steps if not s.clipped and probe.contains(s.time_ns)]
        if base and values:
            impacts[device.label] = 100.0 * (statistics.median(values) / base - 1)
    base_cadence = head.cadence_baseline_spm
    return ProbeResult(
        probe.duration_s, cadence,
        100.0 * (cadence / base_cadence - 1) if cadence and base_cadence else None, impacts)


# -- from a file's offline analysis ---------------------------------------------------------


def session_from_analysis(results: Mapping[str, AnalysisResult], *, athlete: str,
                          session: str, source: str, config: AnalysisConfig,
                          ranges_g: Mapping[str, int] | None = None,
                          notes: Notes | None = None) -> Session:
    """A session from ``footfall analyze``'s results (the same processor, fed a file)."""
    devices = {name: Device(name, r.device_summary, list(r.steps), list(r.metrics),
                            (ranges_g or {}).get(name) or None)
               for name, r in results.items() if r.device_summary is not None}
    if not devices:
        raise CommandError(f"{source} has no steps or cadence to report on")
    alerts = sorted(((name, a) for name, r in results.items() for a in r.alerts),
                    key=lambda x: x[1].time_ns)
    combined = [m for r in results.values() for m in r.session_metrics]
    end_ns = max(s.summary.start_ns + round(s.summary.duration_s * NS)
                 for s in devices.values())
    changes = [e for r in results.values() for e in r.feedback]
    recorded = notes_from_events([n for r in results.values() for n in r.notes])
    return Session(athlete, session, source, devices, alerts, config,
                   notes=recorded.updated(notes) if recorded else notes,
                   feedback=feedback_periods(changes, end_ns) if changes else None,
                   pauses=pause_periods(p for r in results.values() for p in r.pauses),
                   belt_speed_mps=config.treadmill_speed_mps,
                   session_metrics=sorted(combined, key=lambda m: m.time_ns))


# -- from InfluxDB --------------------------------------------------------------------------


def _where(athlete: str, session: str | None = None) -> str:
    check_id("athlete", athlete)  # ids are [A-Za-z0-9_.-]: safe inside a string literal
    where = f"\"athlete\" = '{athlete}'"
    if session is not None:
        check_id("session", session)
        where += f" AND \"session\" = '{session}'"
    return where


def _between(start_ns: int, end_ns: int) -> str:
    # a second of margin: the summary's times are at millisecond precision
    return f"time >= {start_ns - NS} AND time <= {end_ns + NS}"


@contextlib.asynccontextmanager
async def connect(settings: Settings, instead: str) -> AsyncIterator[InfluxClient]:
    """A client for the settings' InfluxDB; unreachable, it is a :class:`CommandError` that
    says how to start it and what to do ``instead``."""
    async with InfluxClient(influx_target(settings)) as client:
        try:
            yield client
        except InfluxError as exc:
            if "database not found" in str(exc):
                raise CommandError(f"InfluxDB at {settings.influx_url} has no database "
                                   f"{settings.influx_database!r}: check --influx-database "
                                   "(the one footfall process writes to)") from exc
            if exc.status != 0:
                raise
            raise CommandError(f"InfluxDB at {settings.influx_url} is unreachable: start it "
                               f"(footfall stack up), point --influx-url at it, or {instead}"
                               ) from exc


async def _rows(client: InfluxClient, query: str) -> list[dict[str, Any]]:
    return rows(await client.query(query))


def _events(cls: type[E], found: Iterable[dict[str, Any]]) -> list[tuple[str, E]]:
    out = [(str(row.get("device", "")), event_from_row(cls, row)) for row in found]
    return sorted(out, key=lambda x: x[1].time_ns)  # type: ignore[attr-defined]


async def summaries_from_influx(client: InfluxClient, athlete: str,
                                session: str | None = None
                                ) -> dict[str, dict[str, DeviceSummary]]:
    """Every session's device summaries (or one session's), by session then device."""
    found = await _rows(client, f'SELECT * FROM "summary" WHERE {_where(athlete, session)} '
                                "GROUP BY *")
    out: dict[str, dict[str, DeviceSummary]] = {}
    for row in found:
        out.setdefault(str(row["session"]), {})[str(row["device"])] = \
            event_from_row(DeviceSummary, row)
    return out


async def _measurements(client: InfluxClient) -> set[str]:
    return {str(r["name"]) for r in await _rows(client, "SHOW MEASUREMENTS")}


def notes_from_events(found: Sequence[SessionNote]) -> Notes | None:
    """The latest value of each note field (a therapist may correct a note)."""
    if not found:
        return None
    latest: dict[str, Any] = {}
    for note in sorted(found, key=lambda n: n.time_ns):
        latest.update({k: v for k, v in note.model_dump().items() if v is not None})
    pain = latest.get("pain_score")
    return Notes(float(pain) if pain is not None else None, latest.get("shoes"),
                 latest.get("belt_speed_kmh"), latest.get("text"))


def feedback_periods(found: Sequence[FeedbackEvent], end_ns: int) -> list[FeedbackPeriod]:
    """Each change on a channel lasts until that channel's next change, or the session end."""
    out: list[FeedbackPeriod] = []
    by_channel: dict[str, list[FeedbackEvent]] = {}
    for event in sorted(found, key=lambda e: e.time_ns):
        by_channel.setdefault(event.channel, []).append(event)
    for channel, changes in by_channel.items():
        for i, event in enumerate(changes):
            stop = changes[i + 1].time_ns if i + 1 < len(changes) else end_ns
            if stop > event.time_ns:
                out.append(FeedbackPeriod(event.time_ns, stop, channel, event.feedback_on,
                                          event.reason, event.probe))
    return sorted(out, key=lambda p: (p.start_ns, p.channel))


def pause_periods(found: Iterable[PauseEvent]) -> list[Pause]:
    """Stops and walking breaks; both legs' sensors see the same one: it is listed once."""
    events = list(found)
    out: list[Pause] = []
    for kind in ("stop", "walk"):
        out += [Pause(p.start_ns, p.end_ns, kind) for p in union(
            Period(e.start_ns, e.start_ns + round(e.duration_s * NS))
            for e in events if e.kind == kind)]
    return sorted(out, key=lambda p: p.start_ns)


async def _extras(client: InfluxClient, athlete: str, session: str, start_ns: int,
                  end_ns: int, present: set[str]
                  ) -> tuple[Notes | None, list[FeedbackPeriod] | None]:
    where = _where(athlete, session)
    notes = None
    if NOTES in present:
        notes = notes_from_events([e for _, e in _events(SessionNote, await _rows(
            client, f'SELECT * FROM "{NOTES}" WHERE {where} GROUP BY *'))])
    feedback = None
    if FEEDBACK in present:
        found = [e for _, e in _events(FeedbackEvent, await _rows(
            client, f'SELECT * FROM "{FEEDBACK}" WHERE {where} AND '
                    f"{_between(start_ns, end_ns)} GROUP BY *"))]
        feedback = feedback_periods(found, end_ns) if found else None
    return notes, feedback


def latest_session(summaries: Mapping[str, Mapping[str, DeviceSummary]]) -> str:
    return max(summaries, key=lambda s: min(x.start_ns for x in summaries[s].values()))


async def session_from_influx(client: InfluxClient, athlete: str, session: str | None,
                              config: AnalysisConfig) -> Session:
    """One session (default: the athlete's latest) with every step, metric and alert."""
    summaries = await summaries_from_influx(client, athlete, session)
    if not summaries:
        what = f"session {session!r} of athlete {athlete!r}" if session else \
            f"any session of athlete {athlete!r}"
        raise CommandError(f"InfluxDB at {client.target.url} has no summary for {what}: a "
                           "session's summary is written when it ends (footfall process); "
                           "`footfall sessions --athlete ID` lists what there is")
    name = session or latest_session(summaries)
    devices_summary = summaries[name]
    head = headline(devices_summary)
    where = f"{_where(athlete, name)} AND {_between(head.start_ns, head.end_ns)}"
    steps = _events(StepEvent, await _rows(
        client, f'SELECT * FROM "step" WHERE {where} GROUP BY *'))
    metrics = _events(MetricsEvent, await _rows(
        client, f'SELECT * FROM "metrics" WHERE {where} GROUP BY *'))
    alerts = _events(AlertEvent, await _rows(
        client, f'SELECT * FROM "alert" WHERE {where} GROUP BY *'))
    combined = _events(SessionMetricsEvent, await _rows(
        client, f'SELECT * FROM "{SessionMetricsEvent.TYPE}" WHERE {where} GROUP BY *'))
    devices = {d: Device(d, s, [e for dev, e in steps if dev == d],
                         [m for dev, m in metrics if dev == d])
               for d, s in devices_summary.items()}
    present = await _measurements(client)
    notes, feedback = await _extras(client, athlete, name, head.start_ns, head.end_ns, present)
    pauses = pause_periods(e for _, e in _events(PauseEvent, await _rows(
        client, f'SELECT * FROM "{PauseEvent.TYPE}" WHERE {where} GROUP BY *'))) \
        if PauseEvent.TYPE in present else []
    return Session(athlete, name, f"InfluxDB {client.target.url}, database "
                   f"{client.target.database}", devices, alerts, config, feedback=feedback,
                   notes=notes, pauses=pauses, belt_speed_mps=config.treadmill_speed_mps,
                   session_metrics=[m for _, m in combined])


async def visits_from_influx(client: InfluxClient, athlete: str, last: int | None = None,
                             config: AnalysisConfig | None = None, *,
                             probes: bool = True) -> list[Visit]:
    """The athlete's sessions, oldest first (the ``last`` ones), from the ``summary``
    measurement. A probe result needs the probe's own steps: only those minutes are read
    (``probes=False``: not at all)."""
    summaries = await summaries_from_influx(client, athlete)
    order = sorted(summaries, key=lambda s: min(x.start_ns for x in summaries[s].values()))
    if last is not None:
        order = order[-last:]
    present = await _measurements(client)
    visits = []
    for name in order:
        head = headline(summaries[name])
        notes, feedback = await _extras(client, athlete, name, head.start_ns, head.end_ns,
                                        present)
        visit = Visit(athlete, name, summaries[name], notes, feedback_recorded=feedback
                      is not None)
        if probes and feedback and any(p.probe for p in feedback):
            visit.probe = probe_result(await _probe_session(
                client, athlete, name, summaries[name], feedback, config or AnalysisConfig()))
        visits.append(visit)
    return visits


async def _probe_session(client: InfluxClient, athlete: str, name: str,
                         summaries: dict[str, DeviceSummary], feedback: list[FeedbackPeriod],
                         config: AnalysisConfig) -> Session:
    """The session reduced to its probes' steps and metrics."""
    devices = {d: Device(d, s) for d, s in summaries.items()}
    for probe in (p for p in feedback if p.probe):
        where = f"{_where(athlete, name)} AND {_between(probe.start_ns, probe.end_ns)}"
        for cls, attr in ((StepEvent, "steps"), (MetricsEvent, "metrics")):
            for device, event in _events(cls, await _rows(
                    client, f'SELECT * FROM "{cls.TYPE}" WHERE {where} GROUP BY *')):
                if device in devices:
                    getattr(devices[device], attr).append(event)
    return Session(athlete, name, "InfluxDB", devices, [], config, feedback=feedback)


def with_notes(session: Session, notes: Notes | None) -> Session:
    """The session with ``notes`` (e.g. from the command line) over its recorded ones."""
    if notes is None or notes.empty:
        return session
    return replace(session, notes=(session.notes or Notes()).updated(notes))

