import pytest

from copilot.config import load_settings
from copilot.errors import ConfigError


def test_priority_file_then_env_then_overrides(tmp_path, monkeypatch):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[server]\nport = 9000\nhost = "0.0.0.0"\n[asr]\nbeam_size = 3\n')
    s = load_settings(cfg)
    assert (s.server.port, s.server.host, s.asr.beam_size) == (9000, "0.0.0.0", 3)
    monkeypatch.setenv("COPILOT_SERVER__PORT", "9100")
    assert load_settings(cfg).server.port == 9100
    assert load_settings(cfg, server={"port": 9200}).server.port == 9200
    assert load_settings(cfg, server={"port": 9200}).server.host == "0.0.0.0"


@pytest.mark.parametrize("text, words", [
    ("[server]\nport = 70000\n", "server.port"),
    ("[server]\nprot = 1\n", "prot"),
    ("[server\n", "not valid TOML"),
    ("[asr]\nlong_silence_ms = 0\n", "asr.long_silence_ms"),
    ("[asr]\nsoft_utterance_s = -1\n", "asr.soft_utterance_s"),
    ("[asr]\nvad_threshold = 1.5\n", "asr.vad_threshold"),
])
def test_bad_config_is_a_clear_error(tmp_path, text, words):
    cfg = tmp_path / "c.toml"
    cfg.write_text(text)
    with pytest.raises(ConfigError, match=words):
        load_settings(cfg)


def test_missing_config_file():
    with pytest.raises(ConfigError, match="not found"):
        load_settings("/nonexistent/copilot.toml")
