"""The one way footfall connects to the broker: every client (gateway, processor, replay,
simulator, recorder, monitor, coach) is made here, with the same TLS and credentials.

``mqtts://host:port`` in the settings turns on TLS: the server certificate is checked against
``mqtt_ca_file`` when given (a clinic's own CA), else the system's CAs.
"""

from __future__ import annotations

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
           timeout_s: float = 10.0, keepalive_s: int = 30) -> aiomqtt.Client:
    """An aiomqtt client for ``broker`` (not yet connected: use ``async with``)."""
    config = broker if isinstance(broker, BrokerConfig) else BrokerConfig.from_settings(broker)
    return aiomqtt.Client(
        config.host, config.port, username=config.username, password=config.password,
        identifier=client_id, clean_session=clean_session, will=will,
        tls_context=config.tls_context(), timeout=timeout_s, keepalive=keepalive_s,
        max_queued_incoming_messages=max_queued_incoming_messages,
        max_inflight_messages=max_inflight_messages,
    )
