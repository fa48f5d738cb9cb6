"""The one way footfall connects to the broker: every client (gateway, processor, replay,
simulator, recorder, monitor, coach) is made here, with the same TLS and credentials.

``mqtts://host:port`` in the settings turns on TLS: the server certificate is checked against
``mqtt_ca_file`` when given (a clinic's own CA), else the system's CAs.

Every connection sets ``TCP_NODELAY``: MQTT packets are small, and with Nagle's algorithm a
publish waits behind the previous packet's delayed ACK (up to 40 ms on Linux): it cost ~20 ms
median between the processor and a subscriber (docs/benchmarks.md, "Step → cue").
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass
from pathlib import Path

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
    return made


def ack(connected: aiomqtt.Client, message: aiomqtt.Message) -> None:
    """Acknowledge ``message`` of a ``manual_ack`` client (QoS 0 needs none)."""
    if message.qos > 0:
        connected._client.ack(message.mid, message.qos)
