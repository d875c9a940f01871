"""Regenerates requirements/rasa.lock from Rasa's wheel metadata and requirements/rasa.in.

Rasa 3.6.21 declares Python <3.11. Its requirements are read from the wheel's
METADATA with the environment markers evaluated as for Python 3.10 on Linux
x86_64, `matplotlib<3.6` (no 3.11 wheels) is replaced by `>=3.6,<3.9`, and the
result is resolved in a scratch venv whose `pip freeze --all` becomes the lock.

usage: python3 scripts/lock_rasa.py
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
ENGINE = ROOT / "requirements" / "rasa-engine.txt"
EXTRA = ROOT / "requirements" / "rasa.in"
LOCK = ROOT / "requirements" / "rasa.lock"

PY310_LINUX = {
    "python_version": "3.10",
    "python_full_version": "3.10.13",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "platform_python_implementation": "CPython",
    "implementation_name": "cpython",
    "os_name": "posix",
    "extra": "",
}
REPLACED = {"matplotlib": "matplotlib>=3.6,<3.9"}
ENGINE_NAMES = {"rasa", "rasa-sdk"}


def requirement_lines(lines: list[str]) -> list[str]:
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def rasa_requirements(wheel: Path) -> list[str]:
    """Rasa's Requires-Dist, markers evaluated for Python 3.10, engine packages left out."""
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = archive.read(name).decode()
    result = []
    for line in metadata.splitlines():
        if not line.startswith("Requires-Dist:"):
            continue
        req = Requirement(line.split(":", 1)[1].strip())
        if req.marker is not None and not req.marker.evaluate(PY310_LINUX):
            continue
        name = req.name.lower()
        if name in ENGINE_NAMES:
            continue
        req.marker = None
        result.append(REPLACED.get(name, str(req)))
    return result


def main() -> None:
    engine = requirement_lines(ENGINE.read_text().splitlines())
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--ignore-requires-python",
             "-d", str(tmpdir), *engine],
            check=True,
        )
        wheel = next(tmpdir.glob("rasa-*.whl"))
        wanted = rasa_requirements(wheel) + requirement_lines(EXTRA.read_text().splitlines())
        (tmpdir / "wanted.txt").write_text("\n".join(wanted) + "\n")
        venv = tmpdir / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip"]
        subprocess.run([*pip, "install", "-r", str(tmpdir / "wanted.txt")], check=True)
        frozen = subprocess.run([*pip, "freeze", "--all"], check=True, capture_output=True, text=True)
    keep = [
        line for line in frozen.stdout.splitlines()
        if re.split(r"==| @ ", line)[0].strip().lower() not in ENGINE_NAMES | {"pip"}
    ]
    LOCK.write_text("\n".join(keep) + "\n")
    print(f"wrote {LOCK} ({len(keep)} packages)")


if __name__ == "__main__":
    main()
