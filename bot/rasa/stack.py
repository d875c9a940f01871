"""Starting, watching and stopping the three processes: action server, Rasa, bot.

Used by `scripts/run.py` (make run), the end-to-end tests and the benchmark, so
all three start the stack the same way. Standard library only.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

from bot.config import ROOT, Settings

RASA_VENV = ROOT / ".venv-rasa"
BOT_VENV = ROOT / ".venv"

# Quiet TensorFlow, no telemetry (this machine reaches nothing but loopback).
QUIET_ENV = {
    "RASA_TELEMETRY_ENABLED": "false",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    "PYTHONWARNINGS": "ignore",
    "PYTHONUNBUFFERED": "1",
}


# One thread for each process's numeric libraries (OpenMP for the sentence vectors,
# TensorFlow's pools for Rasa), unless set otherwise: the processes of a stack share the
# machine's cores, and their idle threads spinning for work cost more CPU than they save
# (bench.load at saturation on 2 cores: 17.9 -> 22.0 msg/s; the scaled topology with two
# Rasa workers and two action servers 10.2 -> 28.6 msg/s).
ONE_THREAD = {
    "OMP_NUM_THREADS": "1",
    "TF_INTRA_OP_PARALLELISM_THREADS": "1",
    "TF_INTER_OP_PARALLELISM_THREADS": "1",
}


class StackError(RuntimeError):
    """A process did not start or did not become ready."""


def _get_json(url: str, timeout: float = 1.0) -> dict | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            if response.status != 200:
                return None
            return json.loads(response.read() or b"{}")
    except (urllib.error.URLError, OSError, ValueError):
        return None


@dataclass
class Service:
    name: str
    argv: list[str]
    log_path: Path | None
    env: dict[str, str] = field(default_factory=dict)
    ready: Callable[[], bool] = lambda: True
    own_session: bool = True  # started in its own session: Ctrl-C reaches it only through us
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    ready_after: float | None = None
    _log: IO | None = None

    def start(self, stdin: int | IO | None = subprocess.DEVNULL) -> None:
        env = {**ONE_THREAD, **os.environ, **QUIET_ENV, "PYTHONPATH": str(ROOT), **self.env}
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = open(self.log_path, "ab")
            out = self._log
        else:
            out = None
        self.started_at = time.monotonic()
        self.process = subprocess.Popen(
            self.argv, cwd=ROOT, env=env, stdin=stdin, stdout=out, stderr=out,
            start_new_session=self.own_session,
        )

    def wait_ready(self, timeout: float) -> float:
        """Seconds from start to ready; raises `StackError` if it dies or times out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise StackError(f"{self.name} exited during start-up; see {self.log_path}\n"
                                 f"{self.log_tail()}")
            if self.ready():
                self.ready_after = time.monotonic() - self.started_at
                return self.ready_after
            time.sleep(0.2)
        raise StackError(f"{self.name} was not ready after {timeout:.0f} s; see {self.log_path}\n"
                         f"{self.log_tail()}")

    def log_tail(self, lines: int = 15) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        text = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 15.0, sig: int = signal.SIGTERM) -> None:
        if self.alive():
            try:
                os.killpg(self.process.pid, sig) if self.own_session else self.process.send_signal(sig)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        if self._log is not None:
            self._log.close()
            self._log = None

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.alive():
            try:
                os.killpg(self.process.pid, signal.SIGKILL) if self.own_session else self.process.kill()
            except ProcessLookupError:
                pass
            self.process.wait(10)

    def rss_mb(self) -> float | None:
        """Resident memory of the process and its children, in MiB."""
        if not self.alive():
            return None
        return rss_mb_of_tree(self.process.pid)


def rss_mb_of_tree(pid: int, children: bool = True) -> float:
    """Resident memory of `pid` (and of its direct children), in MiB."""
    total_kb = 0
    pids = [pid]
    children_file = Path(f"/proc/{pid}/task/{pid}/children")
    if children and children_file.exists():
        pids += [int(p) for p in children_file.read_text().split()]
    for one in pids:
        try:
            for line in Path(f"/proc/{one}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
        except OSError:
            continue
    return total_kb / 1024


def action_server(settings: Settings, log_dir: Path | None = None) -> Service:
    port = settings.action_port
    return Service(
        name="action server",
        argv=[str(RASA_VENV / "bin" / "python"), "-m", "actions", "--actions", "actions",
              "--port", str(port)],
        log_path=(log_dir or settings.log_dir) / "actions.log",
        env={**hotline_env(settings), "SANIC_HOST": "127.0.0.1",
             "ACTION_SERVER_SANIC_WORKERS": str(settings.action_workers)},
        ready=lambda: _get_json(f"http://127.0.0.1:{port}/health") is not None,
    )


def rasa_server(settings: Settings, model: Path, log_dir: Path | None = None) -> Service:
    """Rasa: with its SQL tracker store in the data folder, or (`redis_url` set) with its
    conversations and locks in Redis and `rasa_workers` Sanic workers."""
    port = settings.rasa_port
    endpoints, scaled_env = "endpoints.yml", {}
    if settings.redis_url:  # the scaled topology: conversations and locks in Redis
        parts = urlsplit(settings.redis_url)
        endpoints = "endpoints-scaled.yml"
        scaled_env = {"HOTLINE_REDIS_HOST": parts.hostname or "127.0.0.1",
                      "HOTLINE_REDIS_PORT": str(parts.port or 6379),
                      "HOTLINE_REDIS_DB": parts.path.strip("/") or "0",
                      "HOTLINE_ACTION_URL": f"http://127.0.0.1:{settings.action_port}/webhook",
                      "SANIC_WORKERS": str(settings.rasa_workers)}
    return Service(
        name="Rasa",
        argv=[str(RASA_VENV / "bin" / "python"), "-m", "bot.rasa.server", "run",
              "--enable-api", "-i", "127.0.0.1",
              "-p", str(port), "-m", str(model), "--endpoints", endpoints,
              "--credentials", "credentials.yml"],
        log_path=(log_dir or settings.log_dir) / "rasa.log",
        env={**hotline_env(settings),
             "HOTLINE_TRACKER_DB": str(settings.tracker_db_path), **scaled_env},
        ready=lambda: bool((_get_json(f"http://127.0.0.1:{port}/status") or {}).get("model_file")),
    )


def bot_process(settings: Settings, *, console: bool, extra_env: dict[str, str] | None = None,
                log_path: Path | None = None) -> Service:
    argv = [str(BOT_VENV / "bin" / "python"), "-m", "bot"]
    if console:
        argv.append("--console")
    return Service(
        name="bot",
        argv=argv,
        log_path=log_path,
        env={**hotline_env(settings), **(extra_env or {})},
        own_session=not console,  # the console bot shares the terminal and its Ctrl-C
    )


def hotline_env(settings: Settings) -> dict[str, str]:
    """The variables every process of one stack must agree on."""
    return {
        "HOTLINE_DATA_DIR": str(settings.data_dir),
        "HOTLINE_DB_PATH": str(settings.db_path),
        "HOTLINE_DATABASE_URL": settings.database_url,
        "HOTLINE_TRACKER_DB": str(settings.tracker_db_path),
        "RASA_PORT": str(settings.rasa_port),
        "ACTION_SERVER_PORT": str(settings.action_port),
        "RASA_URL": settings.rasa_url,
        "HOTLINE_REDIS_URL": settings.redis_url,
        "HOTLINE_RASA_WORKERS": str(settings.rasa_workers),
        "HOTLINE_ACTION_WORKERS": str(settings.action_workers),
        "HOTLINE_AGENT_IDS": ",".join(map(str, sorted(settings.agent_ids))),
        "HOTLINE_SUPERVISOR_IDS": ",".join(map(str, sorted(settings.supervisor_ids))),
        "HOTLINE_ADMIN_IDS": ",".join(map(str, sorted(settings.admin_ids))),
        "HOTLINE_AGENTS_CHAT_ID": ("" if settings.agents_chat_id is None
                                   else str(settings.agents_chat_id)),
        "HOTLINE_HANDOFF_IDLE_MINUTES": str(settings.handoff_idle_minutes),
        "HOTLINE_SUPERVISION_SECONDS": str(settings.supervision_seconds),
        "TELEGRAM_RATE_LIMIT": str(settings.telegram_rate_limit),
        "HOTLINE_CITIZEN_RATE_PER_MINUTE": str(settings.citizen_rate_per_minute),
    }


def train_model() -> Path:
    """Trains if the inputs changed; returns the model path."""
    result = subprocess.run(
        [str(RASA_VENV / "bin" / "python"), str(ROOT / "scripts" / "train.py")],
        cwd=ROOT, env={**os.environ, **QUIET_ENV}, stdout=subprocess.PIPE, text=True,
        check=False,
    )
    if result.returncode != 0:
        raise StackError("training failed (see the output above)")
    return Path(result.stdout.strip().splitlines()[-1])



def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def private_redis(data: Path) -> Iterator[str]:
    """A private Redis (scripts/redis.sh) on a free port with its files in `data`; yields
    its URL, stops it on exit. Raises `StackError` when it cannot start."""
    env = {**os.environ, "HOTLINE_DATA_DIR": str(data), "HOTLINE_REDIS_PORT": str(free_port())}
    script = str(ROOT / "scripts" / "redis.sh")
    started = subprocess.run([script, "start"], env=env, capture_output=True, text=True,
                             timeout=180, check=False)
    if started.returncode != 0:
        raise StackError(f"Redis did not start: {started.stderr.strip() or started.stdout}")
    try:
        yield started.stdout.strip()
    finally:
        subprocess.run([script, "stop"], env=env, capture_output=True, timeout=60, check=False)


@contextlib.contextmanager
def scratch_servers(data: Path, model: Path) -> Iterator[tuple[Settings, Service, Service]]:
    """The action server and Rasa on free ports, with their data in `data`; stopped on exit."""
    rasa_port = free_port()
    settings = Settings(data_dir=data, db_path=data / "hotline.db", rasa_port=rasa_port,
                        action_port=free_port(), rasa_url=f"http://127.0.0.1:{rasa_port}")
    with running_servers(settings, model) as (actions, rasa):
        yield settings, actions, rasa


@contextlib.contextmanager
def running_servers(settings: Settings, model: Path) -> Iterator[tuple[Service, Service]]:
    """The action server and Rasa for `settings`, started and ready; stopped on exit."""
    actions, rasa = action_server(settings), rasa_server(settings, model)
    actions.start()
    rasa.start()
    try:
        actions.wait_ready(180)
        rasa.wait_ready(300)
        yield actions, rasa
    finally:
        rasa.stop()
        actions.stop()
