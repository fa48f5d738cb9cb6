"""Every MQTT client of footfall speaks TLS through the one connect (footfall.wire.mqtt): a
broker with a TLS-only listener and a throwaway CA, and the gateway, the simulator, replay,
the recorder, the processor and the monitor's connection all working over ``mqtts://``."""

from __future__ import annotations

import asyncio
import datetime as dt
import getpass
import ipaddress
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import aiomqtt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from footfall.config.settings import Settings, load_settings
from footfall.core.vocab import Side
from footfall.harness.emulated_gateway import plan_run, run_through_gateway
from footfall.recordings.recorder import record_session
from footfall.recordings.session_file import iter_messages
from footfall.service.processor import ProcessorService
from footfall.simulators.publish import publish_streams
from footfall.simulators.replay import replay_session
from footfall.simulators.runner import RunnerParams
from footfall.stack.servers import Server, find_binary, free_port
from footfall.wire import mqtt
from footfall.wire.topics import INPUT_STREAMS, Stream
from tests.conftest import _require
from tests.pipeline_helpers import streams_of, tibia_runs

pytestmark = pytest.mark.servers


def _key_and_cert(subject: str, issuer: tuple[ec.EllipticCurvePrivateKey, x509.Name] | None,
                  *, ca: bool) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    signer_key, signer_name = issuer if issuer is not None else (key, name)
    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(signer_name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(minutes=5))
               .not_valid_after(now + dt.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if not ca:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
    return key, builder.sign(signer_key, hashes.SHA256())


def _pem(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.fixture(scope="module")
def tls_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A Mosquitto whose only listener is TLS, with a CA made for it; yields (url, CA file)."""
    _require("mosquitto")
    home = tmp_path_factory.mktemp("tls-broker")
    ca_key, ca_cert = _key_and_cert("footfall test CA", None, ca=True)
    key, cert = _key_and_cert("127.0.0.1", (ca_key, ca_cert.subject), ca=False)
    ca = _pem(home / "ca.pem", ca_cert.public_bytes(serialization.Encoding.PEM))
    crt = _pem(home / "server.pem", cert.public_bytes(serialization.Encoding.PEM))
    keyfile = _pem(home / "server.key", key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    port = free_port()
    conf = home / "mosquitto.conf"
    # run as this user (as footfall stack does): mosquitto would drop to its own user, which
    # cannot read a test's private temporary directory
    conf.write_text(f"user {getpass.getuser()}\n"
                    f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                    f"cafile {ca}\ncertfile {crt}\nkeyfile {keyfile}\n"
                    "max_queued_messages 100000\n")
    binary = find_binary("mosquitto")
    assert binary is not None

    log = (home / "server.log").open("wb")
    process = subprocess.Popen([binary, "-c", str(conf)], stdout=log, stderr=log)
    probe = Server("mosquitto", home, "127.0.0.1", port)
    deadline = time.monotonic() + 20
    while not probe.ready():
        assert time.monotonic() < deadline, (home / "server.log").read_text()
        time.sleep(0.05)
    yield f"mqtts://127.0.0.1:{port}", ca
    process.terminate()
    process.wait(10)
    log.close()


def _settings(url: str, ca: Path | None, tmp_path: Path, influxdb: Server) -> Settings:
    return load_settings(mqtt_url=url, mqtt_ca_file=str(ca) if ca else None,
                         influx_url=influxdb.url, influx_database="tls", athlete="tls",
                         session=f"s{time.time_ns()}", state_dir=tmp_path / "state")


async def test_every_client_works_over_tls_with_the_clinics_ca(
        tls_broker: tuple[str, Path], influxdb: Server, tmp_path: Path) -> None:
    url, ca = tls_broker
    settings = _settings(url, ca, tmp_path, influxdb)
    streams = streams_of(tibia_runs(8.0, seed=3))
    # processor (persistent session), recorder and a plain client, all over mqtts://
    service = ProcessorService(settings, writer=None, athlete=settings.athlete,
                               session=settings.session, client_id="tls-processor")
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    await asyncio.wait_for(service.connected.wait(), 30)
    ready = asyncio.Event()
    recording = tmp_path / "tls.mcap"
    recorder = asyncio.create_task(record_session(
        settings, recording, athlete=settings.athlete, session=settings.session,
        stop_when_offline=True, ready=ready))
    await asyncio.wait_for(ready.wait(), 30)
    sent = await publish_streams(settings, streams, speed=None)  # the simulator's publisher
    await asyncio.wait_for(recorder, 60)
    deadline = time.monotonic() + 30
    while sum(service.stats.frames.values()) < sent.frames_sent:
        assert time.monotonic() < deadline, "the processor did not get every frame over TLS"
        await asyncio.sleep(0.05)
    assert service.stats.published["step"] > 0
    # the BLE gateway's spooled publisher (emulated devices through the real gateway)
    before = sum(service.stats.frames.values())
    plan = plan_run("footfall", RunnerParams(seed=4), 3.0, sides=[Side.LEFT])
    gateway = await run_through_gateway(settings.model_copy(update={"session": "gw"}), plan,
                                        speed=None)
    assert gateway.drained and gateway.published > 0
    # replay of what was recorded, again over TLS, into a second session
    again = settings.model_copy(update={"session": settings.session + "r"})
    stats = await replay_session(recording, again, speed=None)
    assert stats.frames_sent == sent.frames_sent
    deadline = time.monotonic() + 30
    while sum(service.stats.frames.values()) < before + gateway.published:
        assert time.monotonic() < deadline, "the gateway's frames did not arrive over TLS"
        await asyncio.sleep(0.05)
    stop.set()
    await task
    recorded = [m for m in iter_messages(recording, INPUT_STREAMS) if m.topic.stream is Stream.IMU]
    assert len(recorded) == sent.frames_sent
    # and the one connect used by the gateway and the monitor: a client from the settings
    async with mqtt.client(settings) as client:
        await client.publish("footfall/v1/tls/x/session/control", b"", qos=1)


async def test_tls_without_the_ca_is_refused_with_a_certificate_error(
        tls_broker: tuple[str, Path], influxdb: Server, tmp_path: Path) -> None:
    url, _ = tls_broker
    settings = _settings(url, None, tmp_path, influxdb)  # the system's CAs do not know it
    with pytest.raises(aiomqtt.MqttError, match=r"(?i)certificate"):
        async with mqtt.client(settings, timeout_s=5):
            pass
    plain = settings.model_copy(update={"mqtt_url": url.replace("mqtts", "mqtt")})
    with pytest.raises(aiomqtt.MqttError):  # the listener speaks TLS only
        async with mqtt.client(plain, timeout_s=5):
            pass
