"""Settings, read once from the environment into one frozen object."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
# The hotline keeps China time: deadlines, review dates, the day a case number counts.
CHINA = ZoneInfo("Asia/Shanghai")


class ConfigError(ValueError):
    """A configuration variable is present but cannot be used."""


def _ids(env: Mapping[str, str], name: str) -> frozenset[int]:
    raw = env.get(name, "").replace(";", ",")
    try:
        return frozenset(int(part) for part in raw.split(",") if part.strip())
    except ValueError as exc:
        raise ConfigError(f"{name} must be comma-separated Telegram user ids, got {raw!r}") from exc


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from exc


def _path(env: Mapping[str, str], name: str, default: Path) -> Path:
    raw = env.get(name, "").strip()
    path = Path(raw) if raw else default
    return path if path.is_absolute() else ROOT / path


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be 1 or 0 (true or false), got {raw!r}")


def _listen(env: Mapping[str, str], name: str, default: tuple[str, int]) -> tuple[str, int]:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    host, _, port = raw.rpartition(":")
    host = host.strip("[]")  # [::1]:8443
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"{name} must be host:port, e.g. 127.0.0.1:8443, got {raw!r}")
    return host, int(port)


# Telegram's rule for setWebhook's secret_token: 1-256 characters A-Z, a-z, 0-9, _ and -.
WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


def _webhook(env: Mapping[str, str], token: str | None) -> tuple[str | None, str | None]:
    """HOTLINE_WEBHOOK_URL and HOTLINE_WEBHOOK_SECRET, checked together: webhook mode
    needs a token, an HTTPS URL and a secret Telegram will send with every update."""
    url = env.get("HOTLINE_WEBHOOK_URL", "").strip() or None
    secret = env.get("HOTLINE_WEBHOOK_SECRET", "").strip() or None
    if url is None:
        return None, secret
    if not url.startswith("https://"):
        raise ConfigError(f"HOTLINE_WEBHOOK_URL must be an https:// URL (Telegram posts"
                          f" only to HTTPS), got {url!r}")
    if token is None:
        raise ConfigError("HOTLINE_WEBHOOK_URL is set but TELEGRAM_BOT_TOKEN is not:"
                          " webhook mode needs the bot's token")
    if secret is None:
        raise ConfigError("HOTLINE_WEBHOOK_SECRET is required when HOTLINE_WEBHOOK_URL is set:"
                          " without it anyone who finds the URL could post updates")
    if not WEBHOOK_SECRET.fullmatch(secret):
        raise ConfigError("HOTLINE_WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9,"
                          " _ and - (Telegram's rule for secret_token)")
    return url, secret


def _redis_url(env: Mapping[str, str]) -> str:
    raw = env.get("HOTLINE_REDIS_URL", "").strip()
    if raw and not raw.startswith("redis://"):
        raise ConfigError(f"HOTLINE_REDIS_URL must be redis://host:port/db, got {raw!r}")
    return raw


def _workers(env: Mapping[str, str], name: str) -> int:
    count = _int(env, name, 1)
    if count < 1:
        raise ConfigError(f"{name} must be at least 1, got {count}")
    return count


def _database_url(env: Mapping[str, str]) -> str:
    raw = env.get("HOTLINE_DATABASE_URL", "").strip()
    if raw and not raw.startswith(("postgresql://", "postgres://")):
        raise ConfigError("HOTLINE_DATABASE_URL must be empty (SQLite at HOTLINE_DB_PATH) or"
                          f" a postgresql:// URL, got {raw.split('@')[-1]!r}")
    return raw


@dataclass(frozen=True)
class Settings:
    """Everything the bot, the actions and the scripts read from the environment."""

    telegram_token: str | None = None
    telegram_base_url: str = "https://api.telegram.org/bot"
    telegram_base_file_url: str = "https://api.telegram.org/file/bot"
    rasa_port: int = 5005
    action_port: int = 5055
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_timeout: float = 15.0
    data_dir: Path = ROOT / "var"
    db_path: Path = ROOT / "var" / "hotline.db"
    # postgresql://… puts the case store on PostgreSQL; empty keeps the SQLite file.
    database_url: str = ""
    redis_url: str = ""
    rasa_workers: int = 1
    action_workers: int = 1
    agent_ids: frozenset[int] = field(default_factory=frozenset)
    supervisor_ids: frozenset[int] = field(default_factory=frozenset)
    admin_ids: frozenset[int] = field(default_factory=frozenset)
    agents_chat_id: int | None = None
    telegram_rate_limit: float = 30.0
    citizen_rate_per_minute: float = 20.0
    handoff_idle_minutes: float = 30.0
    supervision_seconds: float = 60.0
    # Webhook mode (bot/telegram/webhook.py) when webhook_url is set; long polling otherwise.
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_host: str = "127.0.0.1"
    webhook_port: int = 8443
    webhook_register: bool = True
    webhook_max_connections: int = 40

    @property
    def webhook_mode(self) -> bool:
        """True when Telegram posts updates to `webhook_url` instead of being polled."""
        return self.webhook_url is not None

    @property
    def tracker_db_path(self) -> Path:
        """Rasa's SQL tracker store (conversations), beside the case store; in Redis
        instead when `redis_url` is set."""
        return self.data_dir / "tracker.db"

    @property
    def database(self) -> str | Path:
        """Where the case store is, as `open_database` takes it: the URL, or the file."""
        return self.database_url or self.db_path

    @property
    def database_shown(self) -> str:
        """Where the case store is, for logs: the URL without its password, or the file."""
        if not self.database_url:
            return str(self.db_path)
        scheme, _, rest = self.database_url.partition("://")
        credentials, at, place = rest.rpartition("@")
        return f"{scheme}://{credentials.split(':')[0]}{at}{place}"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "log"

    @property
    def local_mode(self) -> bool:
        """True when no Telegram token is set: the console chat replaces Telegram."""
        return not self.telegram_token

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        data_dir = _path(env, "HOTLINE_DATA_DIR", ROOT / "var")
        rasa_port = _int(env, "RASA_PORT", cls.rasa_port)
        chat = env.get("HOTLINE_AGENTS_CHAT_ID", "").strip()
        try:
            agents_chat_id = int(chat) if chat else None
        except ValueError as exc:
            raise ConfigError(f"HOTLINE_AGENTS_CHAT_ID must be a chat id, got {chat!r}") from exc
        token = env.get("TELEGRAM_BOT_TOKEN", "").strip() or None
        webhook_url, webhook_secret = _webhook(env, token)
        webhook_host, webhook_port = _listen(env, "HOTLINE_WEBHOOK_LISTEN",
                                             (cls.webhook_host, cls.webhook_port))
        max_connections = _int(env, "HOTLINE_WEBHOOK_MAX_CONNECTIONS",
                               cls.webhook_max_connections)
        if not 1 <= max_connections <= 100:
            raise ConfigError("HOTLINE_WEBHOOK_MAX_CONNECTIONS must be 1 to 100 (Telegram's"
                              f" range), got {max_connections}")
        settings = cls(
            telegram_token=token,
            telegram_base_url=env.get("TELEGRAM_BASE_URL", "").strip() or cls.telegram_base_url,
            telegram_base_file_url=(
                env.get("TELEGRAM_BASE_FILE_URL", "").strip() or cls.telegram_base_file_url
            ),
            rasa_port=rasa_port,
            action_port=_int(env, "ACTION_SERVER_PORT", cls.action_port),
            rasa_url=(env.get("RASA_URL", "").strip() or f"http://127.0.0.1:{rasa_port}").rstrip("/"),
            rasa_timeout=_float(env, "RASA_TIMEOUT", cls.rasa_timeout),
            data_dir=data_dir,
            db_path=_path(env, "HOTLINE_DB_PATH", data_dir / "hotline.db"),
            database_url=_database_url(env),
            redis_url=_redis_url(env),
            rasa_workers=_workers(env, "HOTLINE_RASA_WORKERS"),
            action_workers=_workers(env, "HOTLINE_ACTION_WORKERS"),
            agent_ids=_ids(env, "HOTLINE_AGENT_IDS"),
            supervisor_ids=_ids(env, "HOTLINE_SUPERVISOR_IDS"),
            admin_ids=_ids(env, "HOTLINE_ADMIN_IDS"),
            agents_chat_id=agents_chat_id,
            telegram_rate_limit=_float(env, "TELEGRAM_RATE_LIMIT", cls.telegram_rate_limit),
            citizen_rate_per_minute=_float(env, "HOTLINE_CITIZEN_RATE_PER_MINUTE",
                                           cls.citizen_rate_per_minute),
            handoff_idle_minutes=_float(env, "HOTLINE_HANDOFF_IDLE_MINUTES",
                                        cls.handoff_idle_minutes),
            supervision_seconds=_float(env, "HOTLINE_SUPERVISION_SECONDS",
                                       cls.supervision_seconds),
            webhook_url=webhook_url,
            webhook_secret=webhook_secret,
            webhook_host=webhook_host,
            webhook_port=webhook_port,
            webhook_register=_bool(env, "HOTLINE_WEBHOOK_REGISTER", cls.webhook_register),
            webhook_max_connections=max_connections,
        )
        if env.get("HOTLINE_RASA_SHARDS", "").strip() not in ("", "1"):
            raise ConfigError("HOTLINE_RASA_SHARDS is gone: for more Rasa processes set "
                              "HOTLINE_REDIS_URL and HOTLINE_RASA_WORKERS (make run-scaled)")
        if settings.rasa_workers > 1 and not settings.redis_url:
            raise ConfigError("HOTLINE_RASA_WORKERS above 1 needs HOTLINE_REDIS_URL: Rasa "
                              "serialises a conversation across workers with a Redis lock store")
        return settings
