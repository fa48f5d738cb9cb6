"""``footfall decode``, ``scan`` and ``ingest`` through the real CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from bleak import BleakScanner
from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakBluetoothNotAvailableReason,
    BleakDBusError,
)

from footfall import cli, commands
from footfall.core.errors import SettingError
from footfall.ingest.devices import load_devices_file, parse_device_arg
from footfall.recordings.session_file import SessionWriter, read_info

MINE = ["decode", "scan", "ingest"]


@pytest.fixture(autouse=True)
def _registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """Until the lead adds them to footfall.commands.COMMANDS."""
    registered = [c for c in commands.COMMANDS if c not in MINE]
    monkeypatch.setattr(cli, "COMMANDS", [*registered, *MINE])


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_decode_rsc_golden(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "decode", "rsc", "07 00 03 12 56 00 01 00 00 F0")
    assert code == 0
    got = json.loads(out)
    notes = got.pop("notes")
    assert got == {
        "profile": "rsc", "flags": 7, "running": True, "speed_raw": 768, "speed_mps": 3.0,
        "cadence_raw": 18, "stride_length_raw": 86, "stride_length_m": 0.86,
        "total_distance_raw": 0xF0000001, "total_distance_m": 0xF0000001 / 10}
    # the test vector's odd values are explained, not just printed
    assert any("402,653 km" in n for n in notes) and any("18/min" in n for n in notes)


def test_decode_explains_a_per_leg_cadence(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "decode", "rsc", "07 00 03 55 56 00 39 30 00 00")
    got = json.loads(out)
    assert code == 0 and got["total_distance_m"] == 1234.5
    assert got["notes"] == ["cadence 85/min is per leg (strides): 170 steps/min; footfall "
                            "ingest's cadence=auto doubles it"]


def test_decode_rsc_polar_vector(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "decode", "rsc", "07:34:12:56:89:07:04:03:02:01")
    got = json.loads(out)
    assert code == 0
    assert (got["speed_raw"], got["cadence_raw"], got["stride_length_raw"],
            got["total_distance_raw"]) == (0x1234, 86, 0x0789, 0x01020304)


def test_decode_hand_made_rsc_walking(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "decode", "rsc", "00 80 02 3C")
    assert code == 0
    got = json.loads(out)
    assert (got["running"], got["speed_mps"], got["cadence_raw"], got["stride_length_m"]) == \
        (False, 2.5, 60, None)


def test_decode_polar_raw_and_delta(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "decode", "polar-pmd", "02 00 94 35 77 00 00 00 00 01",
                       "F7 FF FF FF E7 03")
    assert code == 0
    got = json.loads(out)
    assert (got["timestamp_ns"], got["compressed"], got["samples_mg"]) == \
        (2_000_000_000, False, [[-9, -1, 999]])
    code, out, _ = run(capsys, "decode", "polar-pmd",
                       "0200943577000000008 1F1FF1400F003 06017B0F08")
    assert code == 0
    assert json.loads(out)["samples_mg"] == [[-15, 20, 1008], [-20, 17, 1008]]


def test_decode_polar_control_response(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "decode", "polar-pmd", "F0 02 02 00 00")
    assert code == 0 and json.loads(out)["status"] == 0


def test_decode_witmotion_hand_made(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "decode", "witmotion",
                       "55 61 00 08 00 FC FF 7F 00 00 00 00 00 40 00 00 00 00 00 40")
    got = json.loads(out)
    assert code == 0
    assert got["acc_g"][:2] == [1.0, -0.5] and got["gyro_dps"][2] == 1000.0
    assert got["angle_deg"][2] == 90.0 and got["clipped"] is True


def test_decode_footfall_and_movesense(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "decode", "footfall",
                       "01002A0040420F00C8001002000000080000000000F8FF7F0080")
    assert code == 0 and json.loads(out)["samples"] == [[2048, 0, 0], [-2048, 32767, -32768]]
    code, out, _ = run(capsys, "decode", "movesense", "02 05 E8 03 00 00 00 00 80 3F 00 00 00 C0"
                       " 00 00 00 00")
    assert code == 0 and json.loads(out)["samples_mps2"] == [[1.0, -2.0, 0.0]]


@pytest.mark.parametrize("argv,msg", [
    (["decode", "rsc", "07 00"], "not a valid rsc packet (2 bytes): 2 bytes, a measurement"),
    (["decode", "witmotion", "55 61 00"], "not a valid witmotion packet"),
    (["decode", "polar-pmd", "zz"], "is not hexadecimal"),
])
def test_decode_bad_input_exits_2(capsys: pytest.CaptureFixture[str], argv: list[str],
                                  msg: str) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 2 and msg in err


def _raise(exc: BaseException) -> Any:
    async def discover(*_a: Any, **_k: Any) -> Any:
        raise exc
    return discover


@pytest.mark.parametrize("exc,msg", [
    (FileNotFoundError(2, "No such file or directory"), "cannot reach the system D-Bus"),
    (BleakDBusError("org.freedesktop.DBus.Error.ServiceUnknown", []), "BlueZ is not running"),
    (BleakBluetoothNotAvailableError("No Bluetooth adapters found.",
                                     BleakBluetoothNotAvailableReason.NO_BLUETOOTH),
     "no Bluetooth adapter found"),
    (BleakBluetoothNotAvailableError("off", BleakBluetoothNotAvailableReason.POWERED_OFF),
     "powered off"),
])
def test_scan_without_bluetooth_says_why(capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch,
                                         exc: BaseException, msg: str) -> None:
    monkeypatch.setattr(BleakScanner, "discover", _raise(exc))
    code, _, err = run(capsys, "scan", "--timeout", "0.1")
    assert code == 2
    assert "cannot scan:" in err and msg in err
    assert "`footfall simulate`" in err  # what to do without sensors


@pytest.mark.skipif(Path("/run/dbus/system_bus_socket").exists(),
                    reason="this machine has a system D-Bus: the real no-adapter path differs")
def test_scan_and_ingest_on_this_machine_fail_clearly(capsys: pytest.CaptureFixture[str],
                                                     tmp_path: Path) -> None:
    code, _, err = run(capsys, "scan", "--timeout", "0.5")
    assert code == 2 and "No Bluetooth adapter is reachable" in err
    code, _, err = run(capsys, "ingest", "--device", "AA:BB:CC:DD:EE:FF:footfall:tibia:left",
                       "--state-dir", str(tmp_path))
    assert code == 2 and "cannot ingest:" in err and "D-Bus" in err


def test_ingest_without_devices_exits_2(capsys: pytest.CaptureFixture[str],
                                        tmp_path: Path) -> None:
    code, _, err = run(capsys, "ingest", "--state-dir", str(tmp_path))
    assert code == 2 and "no device given" in err
    code, _, err = run(capsys, "ingest", "--device", "AA:BB:footfall:knee:left",
                       "--state-dir", str(tmp_path))
    assert code == 2 and "placement must be one of" in err


def test_device_specs_from_flags_and_toml(tmp_path: Path) -> None:
    spec = parse_device_arg("C4:7C:8D:6A:11:22:polar-pmd:chest:none,rate=100,range=4,id=strap")
    assert (spec.address, spec.profile, spec.placement, spec.side, spec.id,
            spec.sample_rate_hz, spec.accel_range_g) == (
        "C4:7C:8D:6A:11:22", "polar-pmd", "chest", "none", "strap", 100, 4)
    assert parse_device_arg("AA:BB:CC:DD:EE:FF:rsc:foot:right,cadence=2").id == "foot-right"
    with pytest.raises(SettingError, match="unknown option"):
        parse_device_arg("AA:rsc:foot:right,speed=2")
    toml = tmp_path / "devices.toml"
    toml.write_text('[[device]]\naddress = "AA:BB"\nprofile = "footfall"\nplacement = "tibia"\n'
                    'side = "left"\nrate_hz = 400\n\n[[device]]\naddress = "CC:DD"\n'
                    'profile = "rsc"\nplacement = "foot"\nside = "right"\n'
                    'cadence_multiplier = 2\n')
    a, b = load_devices_file(toml)
    assert (a.id, a.sample_rate_hz, b.id, b.cadence_multiplier) == ("tibia-left", 400,
                                                                    "foot-right", "2")


def test_ingest_emulate_streams_without_bluetooth(capsys: pytest.CaptureFixture[str],
                                                  ingest_broker: Any, tmp_path: Path) -> None:
    code, out, err = run(capsys, "ingest", "--emulate", "--emulate-speed", "4", "--duration", "2",
                         "--mqtt-url", ingest_broker.url, "--state-dir", str(tmp_path),
                         "--athlete", "cli", "--session", "emu",
                         "--device", "EE:00:00:00:00:01:footfall:tibia:left",
                         "--device", "EE:00:00:00:00:02:rsc:foot:right",
                         "--record", str(tmp_path / "raw.mcap"))
    assert code == 0, err
    lines = {line.split(":")[0]: line for line in out.splitlines()}
    frames = int(lines["tibia-left"].split()[1])
    assert frames >= 100  # ≈ 8 s of a 200 Hz sensor in 10-sample frames, at ×4
    assert "0 rejected" in lines["tibia-left"] and "0 still spooled" in lines["tibia-left"]
    assert "rsc" in lines["foot-right"]
    assert read_info(tmp_path / "raw.mcap").notification_count >= frames
    # the recording replays through the same parsers into the same frames
    code, out2, err = run(capsys, "ingest", "--replay", str(tmp_path / "raw.mcap"),
                          "--replay-speed", "0", "--mqtt-url", ingest_broker.url,
                          "--state-dir", str(tmp_path), "--athlete", "cli", "--session", "re")
    assert code == 0, err
    again = {line.split(":")[0]: line for line in out2.splitlines()}
    assert again["tibia-left"].split()[:5] == lines["tibia-left"].split()[:5]
    assert again["foot-right"].split("/")[2] == lines["foot-right"].split("/")[2]  # rsc count


def test_replay_needs_a_recording(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    empty = tmp_path / "x.mcap"
    with SessionWriter(empty, source="test"):
        pass
    code, _, err = run(capsys, "ingest", "--replay", str(empty), "--state-dir", str(tmp_path))
    assert code == 2 and "holds no device" in err


def test_scan_lists_supported_devices_with_battery(capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from bleak.backends.device import BLEDevice
    from bleak.backends.scanner import AdvertisementData

    from footfall.devices import footfall_open, rsc
    from footfall.ingest import ble
    from footfall.simulators.devices.ble import EmulatorHub
    from footfall.simulators.devices.footfall_open import OpenImu
    from footfall.simulators.devices.rsc import RscPod

    def adv(name: str, uuids: list[str], rssi: int,
            service_data: dict[str, bytes] | None = None) -> AdvertisementData:
        return AdvertisementData(name, {}, service_data or {}, uuids, None, rssi, ())

    seen = {
        "AA:00:00:00:00:01": (BLEDevice("AA:00:00:00:00:01", "footfall-imu-0001", None),
                              adv("footfall-imu-0001", [footfall_open.SERVICE_UUID], -60)),
        "AA:00:00:00:00:02": (BLEDevice("AA:00:00:00:00:02", "Stryd", None),
                              adv("Stryd", [rsc.SERVICE_UUID], -70,
                                  {ble.BATTERY_SERVICE_UUID: bytes([55])})),
        "AA:00:00:00:00:03": (BLEDevice("AA:00:00:00:00:03", "Polar H10 1234", None),
                              adv("Polar H10 1234", [], -50)),
        "AA:00:00:00:00:04": (BLEDevice("AA:00:00:00:00:04", "kettle", None),
                              adv("kettle", ["0000180a-0000-1000-8000-00805f9b34fb"], -40)),
    }

    async def discover(*_a: Any, **_k: Any) -> Any:
        return seen

    monkeypatch.setattr(BleakScanner, "discover", discover)
    hub = EmulatorHub()
    hub.add("AA:00:00:00:00:01", OpenImu()).battery_pct = 64
    hub.add("AA:00:00:00:00:02", RscPod())
    hub.add("AA:00:00:00:00:03", RscPod()).battery_pct = None  # no Battery Service
    import asyncio

    found = asyncio.run(ble.scan(0.1, battery=True, client_class=hub.client_class()))
    assert [r.to_dict() for r in found] == [
        {"name": "Polar H10 1234", "address": "AA:00:00:00:00:03", "rssi": -50,
         "profile": "polar-pmd", "battery_pct": None},
        {"name": "footfall-imu-0001", "address": "AA:00:00:00:00:01", "rssi": -60,
         "profile": "footfall", "battery_pct": 64},
        {"name": "Stryd", "address": "AA:00:00:00:00:02", "rssi": -70, "profile": "rsc",
         "battery_pct": 55},  # advertised: no connection needed
    ]
    code, out, _ = run(capsys, "scan", "--timeout", "0.1", "--json")
    assert code == 0 and len(out.splitlines()) == 3 and '"battery_pct": null' in out
