"""The Console's static files: its own (``static/``, shipped with Parley) and the
third-party libraries installed from the npm registry by ``npm ci`` in ``vendor/``
(pinned by its lock file, never copied into the repository). Only the files named in
``VENDOR`` are served from there, so ``node_modules`` is not browsable."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from parley.console.render import HERE, SECURITY_HEADERS
from parley.errors import NotFoundError

router = APIRouter(prefix="/console", include_in_schema=False)
STATIC = HERE / "static"
VENDOR_SOURCE = HERE / "vendor"
# URL name -> file inside node_modules.
VENDOR = {"chart.js": "chart.js/dist/chart.umd.min.js"}
TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}


def vendor_dir(configured: Path | None) -> Path:
    return configured if configured is not None else VENDOR_SOURCE / "node_modules"


def _file(path: Path) -> Response:
    headers = {**SECURITY_HEADERS, "cache-control": "public, max-age=3600"}
    return FileResponse(path, media_type=TYPES.get(path.suffix), headers=headers)


@router.get("/static/{name}")
async def static(name: str) -> Response:
    path = STATIC / name
    if "/" in name or name.startswith(".") or not path.is_file():
        raise NotFoundError(f"No Console file named {name!r}.")
    return _file(path)


@router.get("/vendor/{name}")
async def vendor(name: str, request: Request) -> Response:
    if name not in VENDOR:
        raise NotFoundError(f"No Console library named {name!r}.")
    root = vendor_dir(request.app.state.services.settings.console.assets_dir)
    path = root / VENDOR[name]
    if not path.is_file():
        raise NotFoundError(
            f"The Console's front-end library {name} is not installed: run `make install` "
            f"(npm ci --prefix {VENDOR_SOURCE}) or set console.assets_dir."
        )
    return _file(path)


def missing_libraries(configured: Path | None) -> list[str]:
    """Libraries the Console would serve that are not installed."""
    root = vendor_dir(configured)
    return [name for name, file in VENDOR.items() if not (root / file).is_file()]
