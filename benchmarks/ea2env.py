"""ElastAlert2 in its own virtualenv (benchmarks/.venv-elastalert2), never imported here.

The newest elastalert2 needs Python >= 3.12; 2.19.0 is the newest that runs on 3.11.
The Python comes from pyenv (``pyenv root``/versions), falling back to python3.12+ on PATH.
It pins the elasticsearch client 7.10.1, which still talks to OpenSearch."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
VENV = BENCH / ".venv-elastalert2"
PIN_NEW = "elastalert2==2.31.0"  # needs Python >= 3.12
PIN_311 = "elastalert2==2.19.0"  # the newest for Python 3.11


def _version_of(python: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run([python, "-c", "import sys; print(sys.version_info[0], sys.version_info[1])"],
                             capture_output=True, text=True, timeout=30).stdout.split()
        return int(out[0]), int(out[1])
    except Exception:  # noqa: BLE001
        return None


def find_python() -> tuple[str, tuple[int, int]]:
    """The newest pyenv Python >= 3.12 (else 3.11), as (path, (major, minor))."""
    candidates: list[str] = []
    root = None
    if shutil.which("pyenv"):
        root = subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip() or None
    root = root or os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")
    versions = Path(root) / "versions"
    if versions.is_dir():
        for entry in versions.iterdir():
            exe = entry / "bin" / "python3"
            if exe.exists():
                candidates.append(str(exe))
    for name in ("python3.13", "python3.12", "python3.11"):
        found = shutil.which(name)
        if found:
            candidates.append(found)
    best: tuple[str, tuple[int, int]] | None = None
    for exe in candidates:
        version = _version_of(exe)
        if version and version >= (3, 11) and (best is None or version > best[1]):
            best = (exe, version)
    if best is None:
        raise SystemExit("no Python >= 3.11 found for ElastAlert2 (looked in pyenv's versions and on PATH)")
    # Prefer 3.12 over 3.13: it is what elastalert2's own CI uses.
    for exe in candidates:
        if _version_of(exe) == (3, 12):
            return exe, (3, 12)
    return best


def python() -> Path:
    return VENV / "bin" / "python"


def ensure(quiet: bool = True) -> tuple[Path, str]:
    """Create the virtualenv and install elastalert2 once; returns (python, elastalert2 version)."""
    stamp = VENV / ".installed"
    if not stamp.exists():
        exe, version = find_python()
        pin = PIN_NEW if version >= (3, 12) else PIN_311
        print(f"creating {VENV} with {exe} (Python {version[0]}.{version[1]}) and installing {pin} ...", file=sys.stderr)
        if VENV.exists():
            shutil.rmtree(VENV)
        subprocess.run([exe, "-m", "venv", str(VENV)], check=True)
        pip = [str(python()), "-m", "pip", "install"] + (["-q"] if quiet else [])
        subprocess.run(pip + ["--upgrade", "pip"], check=True)
        subprocess.run(pip + [pin], check=True)
        stamp.write_text(pin + "\n")
    version = subprocess.run([str(python()), "-c", "import importlib.metadata as m; print(m.version('elastalert2'))"],
                             capture_output=True, text=True, check=True).stdout.strip()
    return python(), version
