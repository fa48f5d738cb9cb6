"""One settings object, from a TOML file, ``FOOTFALL_*`` environment variables and CLI flags.

Precedence, highest first: flags, environment, file, defaults. The file is ``--config PATH``,
else ``$FOOTFALL_CONFIG``, else ``./footfall.toml`` if it exists. Validation errors name the
setting, the source and what to do.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from footfall.config.analysis import (
    AnalysisConfig,
    AnalysisConfigError,
    analysis_config,
)
from footfall.config.limits import Limits
from footfall.core.errors import FootfallError
from footfall.core.ids import check_id

DEFAULT_CONFIG_FILE = Path("footfall.toml")
#: what a sender publishes again after a lost connection: what the broker acknowledged in the
#: last this-many seconds, since a broker killed before its next save (≈ 2 s) loses it
DEFAULT_RESEND_WINDOW_S = 10.0


def default_state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "footfall"


def default_session_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


class ConfigError(FootfallError):
    """Settings could not be loaded; the message lists every problem and how to fix it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FOOTFALL_", extra="forbid")

    mqtt_url: str = Field(
        "mqtt://127.0.0.1:1883", description="broker URL, mqtt://host:port (mqtts:// for TLS)"
    )
    mqtt_username: str | None = None
    mqtt_password: SecretStr | None = None
    mqtt_ca_file: Path | None = Field(
        None, description="CA certificate that signed the broker's TLS certificate (mqtts://)")
    mqtt_resend_window_s: float = Field(
        DEFAULT_RESEND_WINDOW_S, ge=0.0, le=600.0,
        description="after a lost broker connection, publish again what the broker "
                    "acknowledged in the last S seconds (0 = off); docs/reliability.md")
    nats_url: str = Field(
        "nats://127.0.0.1:4222",
        description="NATS servers of the scale-out (`footfall process --engine nats`), "
                    "comma-separated: nats://n1:4222,nats://n2:4222")
    nats_partitions: int = Field(
        31, ge=2, le=1024, description="partitions of the NATS deployment: the servers' "
                                       "mapping says the same prime (docs/scaling.md)")
    nats_lease_s: float = Field(
        6.0, ge=1.0, le=120.0, description="a processor's claim on a partition lapses this "
                                           "long after its last renewal (takeover time)")
    influx_url: str = Field("http://127.0.0.1:8086", description="InfluxDB base URL")
    influx_database: str = Field("footfall", description="InfluxDB 1.x database / 2.x+ bucket")
    influx_token: SecretStr | None = Field(None, description="InfluxDB 2.x/3.x token")
    influx_username: str | None = None
    influx_password: SecretStr | None = None
    athlete: str = Field("demo", description="athlete id used in topics and tags")
    session: str = Field(default_factory=default_session_id, description="session id")
    state_dir: Path = Field(default_factory=default_state_dir, description="spool, stack data")
    #: the ``[analysis]`` table (warm-up, baseline, belt speed) and the ``[alerts]`` table, each
    #: with per-athlete overrides (``[analysis.athletes.<id>]``, ``[alerts.athletes.<id>]``);
    #: docs/metrics.md, docs/alerts.md. Read them through :meth:`analysis_for`.
    analysis: dict[str, Any] = Field(default_factory=dict, description="analysis settings")
    alerts: dict[str, Any] = Field(default_factory=dict, description="alert thresholds")
    #: the ``[limits]`` table: caps on what the network can make the processor hold
    limits: Limits = Field(default_factory=Limits, description="resource caps")

    @field_validator("athlete", "session")
    @classmethod
    def _valid_id(cls, value: str, info: Any) -> str:
        return check_id(info.field_name, value)

    @model_validator(mode="after")
    def _valid_analysis(self) -> Self:
        athletes = {*(self.analysis.get("athletes") or {}), *(self.alerts.get("athletes") or {})}
        try:
            for athlete in (None, *athletes):
                analysis_config(self.analysis, self.alerts, athlete)
        except AnalysisConfigError as exc:
            raise ValueError(str(exc)) from exc
        return self

    def analysis_for(self, athlete: str | None = None, *,
                     overrides: Mapping[str, Any] | None = None) -> AnalysisConfig:
        """The one analysis configuration of ``athlete`` (default: this settings' athlete):
        defaults, then the file's tables, then ``overrides`` (flags; ``None`` = not given)."""
        return analysis_config(self.analysis, self.alerts,
                               self.athlete if athlete is None else athlete, **(overrides or {}))

    @field_validator("mqtt_url")
    @classmethod
    def _valid_mqtt(cls, value: str) -> str:
        url = urlsplit(value)
        if url.scheme not in ("mqtt", "mqtts") or not url.hostname:
            raise ValueError("expected mqtt://host:port or mqtts://host:port")
        return value

    @field_validator("influx_url")
    @classmethod
    def _valid_influx(cls, value: str) -> str:
        url = urlsplit(value)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError("expected http://host:port or https://host:port")
        return value.rstrip("/")

    @property
    def mqtt_host(self) -> str:
        return urlsplit(self.mqtt_url).hostname or "127.0.0.1"

    @property
    def mqtt_port(self) -> int:
        url = urlsplit(self.mqtt_url)
        return url.port or (8883 if url.scheme == "mqtts" else 1883)

    @property
    def mqtt_tls(self) -> bool:
        return urlsplit(self.mqtt_url).scheme == "mqtts"

    @property
    def influx_port(self) -> int:
        url = urlsplit(self.influx_url)
        return url.port or (443 if url.scheme == "https" else 8086)

    @property
    def spool_dir(self) -> Path:
        return self.state_dir / "spool"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = _CONFIG_FILE.get("path")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_file))
        return tuple(sources)


_CONFIG_FILE: dict[str, Path | None] = {"path": None}


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build settings; ``overrides`` are CLI flags (``None`` values mean "not given")."""
    path = config_file or (Path(os.environ["FOOTFALL_CONFIG"]) if "FOOTFALL_CONFIG" in os.environ
                           else None)
    if path is None and DEFAULT_CONFIG_FILE.exists():
        path = DEFAULT_CONFIG_FILE
    if path is not None and not path.is_file():
        raise ConfigError(f"config file {path} does not exist: create it or drop --config")
    _CONFIG_FILE["path"] = path
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        lines = [f"invalid settings{f' (file {path})' if path else ''}:"]
        for err in exc.errors():
            name = ".".join(str(p) for p in err["loc"]) or "settings"
            if name.startswith("alerts") or name in ("analysis", "settings"):
                fix = ("the [analysis] and [alerts] tables of the config file, see "
                       "docs/metrics.md and docs/alerts.md")
            else:
                fix = (f"set it with --{name.replace('_', '-')}, FOOTFALL_{name.upper()}, or "
                       f"'{name} = ...' in the config file")
            lines.append(f"  - {name}: {err['msg']} ({fix})")
        raise ConfigError("\n".join(lines)) from exc
    finally:
        _CONFIG_FILE["path"] = None
