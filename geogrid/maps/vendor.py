"""Re-fetch the vendored browser assets: ``python -m maps.vendor [package ...]``.

Every file listed in :data:`maps.assets.VENDORED` comes from its package on the npm registry
(``npm pack name@version``) or, for folium's own CSS, from folium's source archive on PyPI
(``pip download --no-binary``). Files land in ``maps/static/vendor/<package>/<version>/`` in
the package's own layout, with the package's licence files, and ``maps/static/vendor/
LICENSES.md`` lists what came from where. Needs ``npm`` and network access to the registries;
nothing here runs at build or serve time.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from geogrid.maps.assets import PACKAGES, STATIC_DIR, VENDORED, Package


def _files_by_package() -> dict[Package, set[str]]:
    wanted: dict[Package, set[str]] = defaultdict(set)
    for asset in VENDORED.values():
        wanted[asset.package].update((asset.path, *asset.extra))
    for package in PACKAGES:
        wanted[package].update(package.licence_files)
    return wanted


def _archive(package: Package, into: Path) -> tuple[Path, str]:
    """Download ``package``; return the archive and the folder its files sit under."""
    if package.registry == "npm":
        out = subprocess.run(
            ["npm", "pack", "--silent", f"{package.name}@{package.version}"],
            cwd=into,
            check=True,
            capture_output=True,
            text=True,
        )
        return into / out.stdout.strip().splitlines()[-1], "package"
    if package.registry == "pypi-sdist":
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--no-binary",
                ":all:",
                "--dest",
                str(into),
                f"{package.name}=={package.version}",
            ],
            check=True,
        )
        [found] = into.glob(f"{package.name}-{package.version}.tar.gz")
        return found, f"{package.name}-{package.version}"
    raise ValueError(f'registry was "{package.registry}" but must be "npm" or "pypi-sdist"')


def vendor(target: Path = STATIC_DIR, only: Iterable[str] | None = None) -> list[Path]:
    """Fetch every vendored file into ``target``; returns the files written.

    ``only``: names of the packages to fetch (default all); LICENSES.md is rewritten anyway.
    """
    written = []
    chosen = None if only is None else set(only)
    for package, files in _files_by_package().items():
        if chosen is not None and package.name not in chosen:
            continue
        folder = target / package.folder
        shutil.rmtree(folder, ignore_errors=True)
        with tempfile.TemporaryDirectory() as tmp:
            archive, root = _archive(package, Path(tmp))
            with tarfile.open(archive) as tar:
                for name in sorted(files):
                    member = tar.extractfile(f"{root}/{name}")
                    if member is None:
                        raise FileNotFoundError(f"{name} is not in {archive.name}")
                    out = folder / name
                    out.parent.mkdir(parents=True, exist_ok=True)
                    out.write_bytes(member.read())
                    written.append(out)
    (target / "vendor" / "LICENSES.md").write_text(licences(), encoding="utf-8")
    return written


def licences() -> str:
    """The LICENSES.md text: each package, its source and licence, its files."""
    lines = [
        "# Vendored browser assets",
        "",
        "Fetched by `python -m maps.vendor` (see maps/assets.py); served by the API under",
        "`/static/vendor/` and inlined into map files written by `geogrid map`.",
        "",
        "| package | version | from | licence | licence file |",
        "|---|---|---|---|---|",
    ]
    for package in PACKAGES:
        source = "npm registry" if package.registry == "npm" else "PyPI (source archive)"
        files = (
            ", ".join(f"`{package.folder}/{f}`" for f in package.licence_files)
            or "none shipped; MIT per the package's package.json"
        )
        lines.append(
            f"| {package.name} | {package.version} | {source} | {package.licence} | {files} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    for path in vendor(only=sys.argv[1:] or None):
        print(path.relative_to(STATIC_DIR))
