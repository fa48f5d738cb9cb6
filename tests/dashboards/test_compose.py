"""docker-compose.yml, checked without Docker: pinned images, health checks, mounts that exist,
no default passwords — and its Mosquitto configuration run for real (users, ACL, no anonymous).
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
import yaml

from footfall.config.settings import Settings
from footfall.stack.servers import deploy_file, find_binary, free_port, port_open
from footfall.views.dashboards import REPO_DASHBOARDS, provisioning
from footfall.wire.topics import Stream, subscription
from tests.conftest import IN_CI

REPO = REPO_DASHBOARDS.parent
COMPOSE_TEXT = (REPO / "docker-compose.yml").read_text()
COMPOSE: dict[str, Any] = yaml.safe_load(COMPOSE_TEXT)
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
ENV_EXAMPLE = dict(line.split("=", 1) for line in (REPO / ".env.example").read_text().splitlines()
                   if line and not line.startswith("#"))
MOSQUITTO_DIR = deploy_file("mosquitto")
_VARIABLE = re.compile(r"\$\{(\w+)(?::?([-?])([^}]*))?\}")


def test_services() -> None:
    default = {name for name, service in SERVICES.items() if not service.get("profiles")}
    assert default == {"mosquitto", "influxdb", "processor", "grafana"}
    # the scale-out (docs/scaling.md) only with `--profile scale`
    assert set(SERVICES) - default == {"nats1", "nats2", "nats3", "bridge",
                                       "processor-scale-a", "processor-scale-b"}


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_image_is_pinned(name: str) -> None:
    service = SERVICES[name]
    image = service["image"]
    repository, _, tag = image.rpartition(":")
    assert repository and tag, f"{name}: {image} has no tag"
    assert tag != "latest" and re.fullmatch(r"\d+\.\d+(\.\d+)?([-.][\w.]+)?", tag), \
        f"{name}: {image} is not pinned to a release"
    if "build" in service:  # built from this repository: tagged with footfall's version
        from importlib.metadata import version

        assert tag == version("footfall"), (image, version("footfall"))


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_health_checked_and_started_after_healthy_dependencies(name: str) -> None:
    service = SERVICES[name]
    test = service["healthcheck"]["test"]
    assert test[0] in ("CMD", "CMD-SHELL") and len(test) >= 2
    for key in ("interval", "timeout", "retries"):
        assert key in service["healthcheck"]
    for dependency, condition in (service.get("depends_on") or {}).items():
        assert dependency in SERVICES
        assert condition == {"condition": "service_healthy"}, (name, dependency)
    assert service.get("restart") == "unless-stopped"


def _bind_mounts() -> Iterator[tuple[str, str, str]]:
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            source, target, *_ = volume.split(":")
            yield name, source, target


def test_mounts_exist_and_named_volumes_are_declared() -> None:
    named = set(COMPOSE["volumes"])
    used = set()
    for name, source, target in _bind_mounts():
        assert target.startswith("/"), (name, target)
        if source.startswith("./"):
            assert (REPO / source).exists(), f"{name} mounts {source}, which is not in the repo"
        else:
            assert source in named, f"{name}: volume {source} is not declared"
            used.add(source)
    assert used == named


def test_the_stack_mounts_the_config_files_the_local_stack_uses() -> None:
    mounts = {(name, target): REPO / source for name, source, target in _bind_mounts()
              if source.startswith("./")}
    assert mounts["influxdb", "/etc/influxdb/influxdb.conf"] == \
        deploy_file("influxdb", "influxdb.conf")
    assert mounts["mosquitto", "/mosquitto/config/conf.d"] == deploy_file("mosquitto", "conf.d")
    assert mounts["grafana", "/etc/grafana/provisioning"] == REPO_DASHBOARDS / "provisioning"
    assert mounts["grafana", provisioning.DASHBOARDS_PATH] == REPO_DASHBOARDS / "json"
    # the datasource points at the influxdb service and the port its config listens on
    assert provisioning.INFLUX_URL == "http://influxdb:8086"
    assert 'bind-address = ":8086"' in deploy_file("influxdb", "influxdb.conf").read_text()
    conf = (MOSQUITTO_DIR / "mosquitto-compose.conf").read_text()
    for directive, path in re.findall(r"^(acl_file|include_dir|password_file) (\S+)", conf, re.M):
        if directive != "password_file":  # written by the entrypoint at start
            assert ("mosquitto", path) in mounts, (directive, path)


def test_no_default_passwords() -> None:
    referenced = set()
    for name, service in SERVICES.items():
        for key, value in (service.get("environment") or {}).items():
            text = str(value)
            referenced.update(v for v, _, _ in _VARIABLE.findall(text))
            if "PASSWORD" in key:
                match = _VARIABLE.fullmatch(text)
                assert match and match.group(2) == "?", \
                    f"{name}: {key} must be required from .env (${{VAR:?message}}), got {text!r}"
    assert not re.search(r"(?i)password\s*[:=]\s*['\"]?\w", json.dumps(SERVICES).replace(
        "${", "")), "a literal password in docker-compose.yml"
    assert referenced <= set(ENV_EXAMPLE), referenced - set(ENV_EXAMPLE)
    for variable, value in ENV_EXAMPLE.items():
        if "PASSWORD" in variable:
            assert value == "", f".env.example must not suggest a password for {variable}"


def test_processor_settings_are_real_settings() -> None:
    env = SERVICES["processor"]["environment"]
    fields = {f"FOOTFALL_{name.upper()}" for name in Settings.model_fields}
    assert set(env) <= fields, set(env) - fields
    assert env["FOOTFALL_MQTT_URL"] == "mqtt://mosquitto:1883"
    assert env["FOOTFALL_INFLUX_URL"] == provisioning.INFLUX_URL
    assert env["FOOTFALL_INFLUX_DATABASE"] == provisioning.INFLUX_DATABASE
    assert SERVICES["influxdb"]["environment"]["INFLUXDB_DB"] == provisioning.INFLUX_DATABASE
    # Grafana gets what its datasource file reads
    grafana = SERVICES["grafana"]["environment"]
    for variable in re.findall(r"\$(\w+)", json.dumps(provisioning.datasource())):
        assert variable in grafana, variable


def test_dockerfile_installs_footfall_and_runs_the_processor() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    base = re.search(r"^FROM (\S+)", dockerfile, re.M)
    assert base and re.search(r":\d+\.\d+\.\d+", base.group(1)), "pin the base image"
    assert "USER footfall" in dockerfile
    command = SERVICES["processor"]["command"]
    assert command[:2] == ["footfall", "process"]


# -- the compose broker configuration on a real Mosquitto --------------------------------------

USERS = {"ingest": "ingest-secret", "processor": "processor-secret",
         "healthcheck": "health-secret"}


@pytest.fixture(scope="module")
def compose_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """mosquitto-compose.conf + acl + entrypoint.sh, with host paths and a free port."""
    for binary in ("mosquitto", "mosquitto_passwd"):
        if find_binary(binary) is None:
            message = f"{binary} is not installed (Debian package mosquitto)"
            if IN_CI:
                pytest.fail(message)
            pytest.skip(message)
    home = tmp_path_factory.mktemp("compose-mosquitto")
    port = free_port()
    conf = (MOSQUITTO_DIR / "mosquitto-compose.conf").read_text()
    conf = (conf.replace("/mosquitto/config/acl", str(MOSQUITTO_DIR / "acl"))
            .replace("/mosquitto/config/conf.d", str(MOSQUITTO_DIR / "conf.d"))
            .replace("/mosquitto/data/passwd", str(home / "passwd"))
            .replace("/mosquitto/data/", f"{home}/")
            .replace("listener 1883", f"listener {port} 127.0.0.1"))
    (home / "mosquitto.conf").write_text(f"user {getpass.getuser()}\n{conf}")
    env = {**os.environ, "MOSQUITTO_CONFIG": str(home / "mosquitto.conf"),
           "MOSQUITTO_PASSWORD_FILE": str(home / "passwd"),
           "MQTT_INGEST_PASSWORD": USERS["ingest"],
           "MQTT_PROCESSOR_PASSWORD": USERS["processor"],
           "MQTT_HEALTHCHECK_PASSWORD": USERS["healthcheck"],
           "PATH": f"{os.environ.get('PATH', '')}:/usr/sbin:/usr/local/sbin"}
    with (home / "log").open("wb") as log:
        process = subprocess.Popen(["/bin/sh", str(MOSQUITTO_DIR / "entrypoint.sh")], env=env,
                                   stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(200):
            if port_open("127.0.0.1", port) or process.poll() is not None:
                break
            time.sleep(0.05)
        assert port_open("127.0.0.1", port), (home / "log").read_text()
        yield port
    finally:
        process.terminate()
        process.wait(10)


def test_entrypoint_refuses_to_start_without_passwords(tmp_path: Path) -> None:
    env = {"PATH": os.environ.get("PATH", ""), "MOSQUITTO_PASSWORD_FILE": str(tmp_path / "p"),
           "MQTT_INGEST_PASSWORD": "x"}
    result = subprocess.run(["/bin/sh", str(MOSQUITTO_DIR / "entrypoint.sh")], env=env,
                            capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 1
    assert "MQTT_PROCESSOR_PASSWORD is not set" in result.stderr
    assert not (tmp_path / "p").exists()


async def _received(port: int, reader: str, topic_filter: str,
                    publish: list[tuple[str, str]], publisher: str,
                    *, within_s: float | None = None) -> list[str]:
    """Topics ``reader`` gets on ``topic_filter`` while ``publisher`` sends ``publish``.

    By default the last message published must be one the reader may get: collecting stops at
    it, and a broker delivers one publisher's messages to a subscriber in order, so anything the
    ACL let through before it has arrived by then. With ``within_s`` (for a reader that may get
    nothing at all) it collects for that long instead.
    """
    got: list[str] = []
    last = publish[-1][0] if publish and within_s is None else None
    async with aiomqtt.Client("127.0.0.1", port, username=reader,
                              password=USERS[reader]) as sub, \
            aiomqtt.Client("127.0.0.1", port, username=publisher,
                           password=USERS[publisher]) as pub:
        await sub.subscribe(topic_filter, qos=1)
        for topic, payload in publish:
            await pub.publish(topic, payload, qos=1)

        async def collect() -> None:
            async for message in sub.messages:
                got.append(str(message.topic))
                if within_s is None and (last is None or str(message.topic) == last):
                    return

        if within_s is None:
            await asyncio.wait_for(collect(), 30)
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(collect(), within_s)
    return got


@pytest.mark.servers
def test_compose_broker_refuses_anonymous_and_wrong_passwords(compose_broker: int) -> None:
    async def connect(username: str | None, password: str | None) -> None:
        async with aiomqtt.Client("127.0.0.1", compose_broker, username=username,
                                  password=password):
            pass

    for username, password in ((None, None), ("ingest", "wrong"), ("nobody", "x")):
        with pytest.raises(aiomqtt.MqttError):
            asyncio.run(connect(username, password))
    asyncio.run(connect("ingest", USERS["ingest"]))


@pytest.mark.servers
def test_compose_broker_acl_lets_each_user_do_its_job_only(compose_broker: int) -> None:
    raw = "footfall/v1/ana/s1/tibia-left/imu"
    derived = "footfall/v1/ana/s1/tibia-left/step"
    # device data flows from ingest to the processor
    got = asyncio.run(_received(compose_broker, "processor", subscription(stream=Stream.IMU),
                                [(raw, "frame")], "ingest"))
    assert got == [raw]
    # ingest cannot forge a derived event (it could read one: it reads all of footfall/v1)
    got = asyncio.run(_received(compose_broker, "ingest", "footfall/v1/#",
                                [(derived, "forged"), (raw, "frame")], "ingest"))
    assert got == [raw]
    # the processor cannot forge device data
    derived2 = "footfall/v1/ana/s1/tibia-left/metrics"
    got = asyncio.run(_received(compose_broker, "ingest", "footfall/v1/#",
                                [(derived, "{}"), (raw, "forged"), (derived2, "{}")],
                                "processor"))
    assert got == [derived, derived2]
    # every stream the processor subscribes to and publishes is allowed
    for stream in Stream:
        device = "session" if stream is Stream.CONTROL else "dev"
        topic = f"footfall/v1/ana/s1/{device}/{stream.value}"
        # device data and the monitor's control commands come from ingest laptops
        publisher = "ingest" if stream in (Stream.IMU, Stream.RSC, Stream.META,
                                           Stream.STATUS, Stream.CONTROL) else "processor"
        reader = "processor" if publisher == "ingest" else "ingest"
        got = asyncio.run(_received(compose_broker, reader, topic, [(topic, "x")], publisher))
        assert got == [topic], stream
    # the health check reads the broker's version (retained) and nothing of footfall
    got = asyncio.run(_received(compose_broker, "healthcheck", "$SYS/broker/version", [],
                                "ingest"))
    assert got == ["$SYS/broker/version"]
    got = asyncio.run(_received(compose_broker, "healthcheck", "footfall/v1/#",
                                [(raw, "x")], "ingest", within_s=1.0))
    assert got == []
    # the processor cannot issue control commands (only people at a monitor do)
    control = "footfall/v1/ana/s1/session/control"
    got = asyncio.run(_received(compose_broker, "processor", control,
                                [(control, "{}")], "processor", within_s=1.0))
    assert got == []
