"""The one way footfall connects to the broker: every client (gateway, processor, replay,
simulator, recorder, monitor, coach) is made here, with the same TLS and credentials.

``mqtts://host:port`` in the settings turns on TLS: the server certificate is checked against
``mqtt_ca_file`` when given (a clinic's own CA), else the system's CAs.

Every connection sets ``TCP_NODELAY``: MQTT packets are small, and with Nagle's algorithm a
publish waits behind the previous packet's delayed ACK (up to 40 ms on Linux): it cost ~20 ms
median between the processor and a subscriber (docs/benchmarks.md, "Step → cue"). The
broker's side of each connection is the broker's: the shipped Mosquitto config sets
``set_tcp_nodelay`` (deploy/mosquitto/conf.d), or each event to a view waited up to 50 ms
at 100 sensors and more (docs/benchmarks.md, "The tenth round").

paho reads a packet a few bytes at a time, a ``recv()`` system call for the command byte, each
length byte and the body, so every socket gets a :class:`_BufferedSocket` that serves those
reads from one large ``recv()`` (docs/benchmarks.md, "Sensors per processor").

The one exception is the processor's input connection, 40,000 messages a second at a thousand
sensors: footfall.wire.intake, a lean subscriber, because paho's per-message cost was most of
the budget. It takes its broker settings from :class:`BrokerConfig` here.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiomqtt

from footfall.config.settings import DEFAULT_RESEND_WINDOW_S, Settings


@dataclass(frozen=True, slots=True)
class BrokerConfig:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_file: Path | None = None
    #: senders publish again what the broker acknowledged this long before a lost connection
    #: (it may not have saved it: footfall.wire.delivery)
    resend_window_s: float = DEFAULT_RESEND_WINDOW_S

    @classmethod
    def from_settings(cls, settings: Settings) -> BrokerConfig:
        return cls(settings.mqtt_host, settings.mqtt_port, settings.mqtt_username,
                   settings.mqtt_password.get_secret_value() if settings.mqtt_password
                   else None, settings.mqtt_tls, settings.mqtt_ca_file,
                   settings.mqtt_resend_window_s)

    @property
    def url(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"

    def tls_context(self) -> ssl.SSLContext | None:
        if not self.tls:
            return None
        return ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)


def client(broker: BrokerConfig | Settings, *, client_id: str | None = None,
           clean_session: bool | None = None, will: aiomqtt.Will | None = None,
           max_queued_incoming_messages: int = 0, max_inflight_messages: int | None = None,
           timeout_s: float = 10.0, keepalive_s: int = 30,
           manual_ack: bool = False) -> aiomqtt.Client:
    """An aiomqtt client for ``broker`` (not yet connected: use ``async with``).

    ``manual_ack``: a QoS 1 message is acknowledged to the broker only by :func:`ack`, once
    the application has it safe — not on receipt, as by default, where a process killed with
    messages in its queue would lose them (the broker thinks they were delivered)."""
    config = broker if isinstance(broker, BrokerConfig) else BrokerConfig.from_settings(broker)
    made = aiomqtt.Client(
        config.host, config.port, username=config.username, password=config.password,
        identifier=client_id, clean_session=clean_session, will=will,
        tls_context=config.tls_context(), timeout=timeout_s, keepalive=keepalive_s,
        max_queued_incoming_messages=max_queued_incoming_messages,
        max_inflight_messages=max_inflight_messages,
        socket_options=((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),),
    )
    if manual_ack:
        made._client.manual_ack_set(True)  # paho's own switch; aiomqtt does not expose it
    # aiomqtt logs a warning for every publish made while more than this many wait for their
    # PUBACK (10 by default): a client that keeps a window in flight on purpose would log
    # one per message
    made.pending_calls_threshold = max(made.pending_calls_threshold, max_inflight_messages or 0)
    _buffer_reads(made)
    return made


#: one ``recv()`` takes up to this much of what the broker sent
RECV_BYTES = 1 << 16


class _BufferedSocket:
    """paho's socket, read ahead: paho's many small ``recv(n)`` calls are served from one
    ``recv(RECV_BYTES)``. What is buffered is reported by ``pending()``, the hook aiomqtt's
    reader callback already has for TLS sockets (which buffer too): it goes on reading while
    anything is pending, so no buffered byte waits for the next readable event."""

    __slots__ = ("_at", "_buffer", "_sock")

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._buffer = b""
        self._at = 0

    def recv(self, size: int) -> bytes:
        if self._at >= len(self._buffer):
            self._buffer = self._sock.recv(RECV_BYTES)  # BlockingIOError when nothing came
            self._at = 0
        chunk = self._buffer[self._at:self._at + size]
        self._at += len(chunk)
        return chunk

    def pending(self) -> int:
        # + what a TLS socket decrypted and holds (no readable event would announce it)
        inner = int(self._sock.pending()) if hasattr(self._sock, "pending") else 0
        return len(self._buffer) - self._at + inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def _buffer_reads(made: aiomqtt.Client) -> None:
    """Wrap paho's socket in a :class:`_BufferedSocket` as each connection opens, before
    aiomqtt registers its reader (paho calls ``on_socket_open`` right after it made the
    socket, TLS included)."""
    paho = made._client
    register = paho.on_socket_open

    def opened(client: Any, userdata: Any, sock: Any) -> None:
        client._sock = _BufferedSocket(sock)
        if register is not None:
            register(client, userdata, sock)

    paho.on_socket_open = opened


def ack(connected: aiomqtt.Client, message: aiomqtt.Message) -> None:
    """Acknowledge ``message`` of a ``manual_ack`` client (QoS 0 needs none)."""
    if message.qos > 0:
        connected._client.ack(message.mid, message.qos)
