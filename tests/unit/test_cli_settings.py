"""A mistake in the settings ends a command with a message naming the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from parley.cli import main


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"PARLEY_SERVER__PORT": "eighty"}, "server.port"),
        (
            {"PARLEY_MODELS": json.dumps([{"id": "m", "options": {"cache_ram_mib": -5}}])},
            "model 'm': invalid llama_cpp options",
        ),
        (
            {"PARLEY_MODELS": json.dumps([{"id": "m", "options": {"slot": 2}}])},
            "slot",
        ),
        ({"PARLEY_MODELS": json.dumps([{"id": "m", "backend": "vllm"}])}, "unknown backend"),
    ],
)
def test_bad_settings_are_named_before_anything_starts(
    tmp_path: Path, env: dict[str, str], named: str
) -> None:
    result = CliRunner().invoke(main, ["serve"], env={"PARLEY_DATA_DIR": str(tmp_path), **env})
    assert result.exit_code == 1
    assert result.output.startswith("Error: invalid settings: ")
    assert named in result.output
    assert "Traceback" not in result.output
    assert not list(tmp_path.iterdir())  # no database created, no key announced
