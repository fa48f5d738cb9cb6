"""Caps on what the network can make the processor hold, each with its one default.

Every message from the broker is hostile until validated (docs/wire.md), and a client with the
``ingest`` login can publish on any athlete's topics. These bound the memory and disk such a
client can grow, and how long the processor waits for what is missing. The ``[limits]`` table
of footfall.toml changes them; docs/reliability.md says what happens when each is hit (a log
line, and what is kept).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Limits(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    #: frames of one sensor that may overtake a missing one: the missing frame is waited for
    #: until this many later frames have arrived (or ``reorder_wait_s`` passed), then counted
    #: lost. In-order streams never wait. 8 frames ≈ 0.2 s of 25 ms frames.
    reorder_window_frames: int = Field(8, ge=0, le=10_000)
    reorder_wait_s: float = Field(0.5, gt=0, le=60)
    #: a sensor's data held until its retained ``meta`` (placement, side) arrives — after a
    #: restart the broker delivers the queued frames first — at most this many messages or
    #: ``meta_wait_s`` of arrival time; then they are analysed as the default placement
    meta_wait_messages: int = Field(8000, ge=0, le=1_000_000)
    meta_wait_s: float = Field(10.0, gt=0, le=3600)
    #: sessions open at once; a message of a new session beyond it is set aside
    max_sessions: int = Field(200, ge=1, le=100_000)
    #: a session with no message for this long is finished (summaries written) and freed
    session_idle_s: float = Field(1800.0, gt=0)
    #: the quarantine folder: files rotate at ``quarantine_file_mb``; the oldest are deleted
    #: beyond ``quarantine_max_mb`` in total
    quarantine_max_mb: float = Field(100.0, gt=0)
    quarantine_file_mb: float = Field(10.0, gt=0)
    #: the processor's journal of one session's inputs (replayed after a restart): beyond
    #: this the session is no longer journalled (a restart then starts it afresh)
    journal_max_mb: float = Field(512.0, gt=0)
