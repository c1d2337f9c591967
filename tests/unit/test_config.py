"""Settings: defaults, TOML file, environment precedence."""

from __future__ import annotations

from pathlib import Path

import pytest

from parley.config import BUNDLED_MODEL_ID, load_settings


def test_defaults_serve_the_bundled_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PARLEY_CONFIG", raising=False)
    settings = load_settings()
    assert [m.id for m in settings.models] == [BUNDLED_MODEL_ID]
    assert settings.models[0].options == {"gguf": "bundled:smollm2"}
    assert settings.server.port == 8080


def test_toml_then_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "parley.toml"
    config.write_text(
        '[server]\nport = 9001\nhost = "0.0.0.0"\n[aliases]\n"claude-*" = "m"\n'
        '[[models]]\nid = "m"\n[models.options]\ngguf = "/x.gguf"\n'
    )
    monkeypatch.setenv("PARLEY_SERVER__PORT", "9002")
    settings = load_settings(config)
    assert settings.server.port == 9002
    assert settings.server.host == "0.0.0.0"
    assert settings.aliases == {"claude-*": "m"}
    assert settings.models[0].options["gguf"] == "/x.gguf"


def test_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_settings(tmp_path / "absent.toml")


def test_unknown_setting_rejected(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[server]\nprot = 1\n")
    with pytest.raises(ValueError, match="prot"):
        load_settings(config)
