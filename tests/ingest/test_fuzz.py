"""Random bytes into every parser and every driver: only ParseError escapes a parser, nothing
escapes the gateway's handler, and every rejected packet is counted and set aside."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from footfall.devices import footfall_open, movesense, polar_pmd, rsc, witmotion
from footfall.devices.errors import ParseError
from footfall.devices.registry import BLE_PROFILES
from footfall.ingest import ble
from footfall.ingest.drivers import DeviceSpec
from footfall.ingest.gateway import DeviceSession, SessionConfig
from footfall.wire.mqtt import BrokerConfig

PARSERS = {
    "rsc": rsc.parse,
    "polar_data": polar_pmd.parse_data,
    "polar_control": polar_pmd.parse_control,
    "polar_settings": polar_pmd.parse_settings,
    "witmotion": witmotion.parse,
    "witmotion_split": witmotion.split,
    "movesense": movesense.parse,
    "movesense_acc": movesense.parse_acc,
    "footfall": footfall_open.parse,
}


def _header_biased() -> st.SearchStrategy[bytes]:
    """Random bytes, often starting like a real frame so parsing gets past the first check."""
    prefixes = st.sampled_from([b"", b"\x02\x00\x94\x35\x77\x00\x00\x00\x00\x81",
                                b"\x02\x00\x94\x35\x77\x00\x00\x00\x00\x01", b"\x55\x61",
                                b"\x01\x01\x2a\x00", b"\x02\x05", b"\x03\x05", b"\xf0\x02\x02",
                                b"\x07"])
    return st.builds(lambda p, b: p + b, prefixes, st.binary(max_size=300))


@pytest.mark.parametrize("name", sorted(PARSERS))
@settings(max_examples=300, deadline=None)
@given(data=_header_biased())
def test_parsers_raise_only_parse_error(name: str, data: bytes) -> None:
    try:
        PARSERS[name](data)
    except ParseError as exc:
        assert exc.reason


@settings(max_examples=300, deadline=None)
@given(profile=st.sampled_from(sorted(BLE_PROFILES)), data=_header_biased())
def test_decode_json_only_parse_error(profile: str, data: bytes) -> None:
    with contextlib.suppress(ParseError):
        BLE_PROFILES[profile].decode(data)


def _session(profile: str, folder: Path) -> DeviceSession:
    spec = DeviceSpec("EE:00:00:00:00:09", profile, "tibia", "left")
    config = SessionConfig("fuzz", "s1", BrokerConfig("127.0.0.1", 1), folder)
    return DeviceSession(spec, config, ble.BleakConnector())


SINGLE_PACKET = {  # profiles where one notification is one parse: rejections are exact
    "footfall": (footfall_open.DATA_UUID, footfall_open.parse),
    "rsc": (rsc.MEASUREMENT_UUID, rsc.parse),
    "polar-pmd": (polar_pmd.DATA_UUID, polar_pmd.parse_data),
}


@pytest.mark.parametrize("profile", sorted(SINGLE_PACKET))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(packets=st.lists(_header_biased(), max_size=20))
def test_every_rejection_is_counted(profile: str, packets: list[bytes]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        session = _session(profile, Path(tmp))
        uuid, parse = SINGLE_PACKET[profile]
        bad = 0
        for i, p in enumerate(packets):
            try:
                parse(p)
            except ParseError:
                bad += 1
            session.handle(uuid, p, 1_795_000_000_000_000_000 + i * 10_000_000)
        st_ = session.stats
        # the parser's rejections are counted; the driver may reject more (e.g. a PMD frame
        # of another measurement type); every notification is accounted for exactly once
        assert st_.rejected >= bad
        assert st_.notifications == st_.frames + st_.rsc_samples + st_.duplicates + st_.rejected
        assert session.quarantine.total == st_.rejected
        assert session.publisher.spool.pending == session.stats.frames + session.stats.rsc_samples
        session.publisher.spool.close()


@pytest.mark.parametrize("profile,uuid", [("witmotion", witmotion.NOTIFY_UUID),
                                          ("movesense", movesense.NOTIFY_UUID)])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(packets=st.lists(_header_biased(), max_size=20))
def test_stream_profiles_never_raise(profile: str, uuid: str, packets: list[bytes]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        session = _session(profile, Path(tmp))
        for i, p in enumerate(packets):
            session.handle(uuid, p, 1_795_000_000_000_000_000 + i * 10_000_000)
        assert session.stats.rejected == session.quarantine.total
        session.publisher.spool.close()
