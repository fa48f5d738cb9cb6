"""Settings: flags over environment over file over defaults, and errors that say what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from footfall.config.settings import ConfigError, load_settings


def test_precedence_flags_env_file_defaults(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "footfall.toml"
    config.write_text('athlete = "from-file"\nsession = "file-session"\n'
                      'influx_database = "clinic"\n')
    monkeypatch.setenv("FOOTFALL_SESSION", "env-session")
    monkeypatch.setenv("FOOTFALL_MQTT_URL", "mqtt://broker.example:1884")
    settings = load_settings(config, athlete="from-flag", mqtt_url=None)
    assert settings.athlete == "from-flag"  # flag beats file
    assert settings.session == "env-session"  # env beats file
    assert settings.influx_database == "clinic"  # file beats default
    assert (settings.mqtt_host, settings.mqtt_port) == ("broker.example", 1884)
    assert settings.influx_url == "http://127.0.0.1:8086"  # default


def test_config_file_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "elsewhere.toml"
    config.write_text('athlete = "bea"\n')
    monkeypatch.setenv("FOOTFALL_CONFIG", str(config))
    assert load_settings().athlete == "bea"


def test_every_problem_is_listed_with_how_to_fix_it(tmp_path: Path) -> None:
    config = tmp_path / "footfall.toml"
    config.write_text('athlete = "a/b"\nmqtt_url = "http://x"\nno_such_setting = 1\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    text = str(caught.value)
    assert "athlete" in text and "FOOTFALL_ATHLETE" in text and "--athlete" in text
    assert "mqtt://host:port" in text
    assert "no_such_setting" in text
    assert str(config) in text


def test_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")


def test_session_defaults_to_utc_start_time() -> None:
    session = load_settings().session
    assert len(session) == 16 and session.endswith("Z") and session[8] == "T"


def test_alert_thresholds_come_from_the_config_file(tmp_path: Path) -> None:
    from footfall.config.analysis import alert_config

    config = tmp_path / "footfall.toml"
    config.write_text("[alerts]\nimpact_rise_pct = 12\n"
                      "[alerts.athletes.ann]\ntarget_increase_pct = 7.5\n")
    settings = load_settings(config)
    assert alert_config(settings.alerts, "ann").target_increase_pct == 7.5
    assert alert_config(settings.alerts, "bob").impact_rise_pct == 12
    config.write_text("[alerts]\nimpact_rise_pctx = 12\n")
    with pytest.raises(ConfigError, match=r"impact_rise_pctx.*docs/alerts\.md"):
        load_settings(config)
