"""The typed callback context: `context.cases`, `context.rasa`, `context.state`."""

from __future__ import annotations

from dataclasses import dataclass

from telegram.ext import Application, CallbackContext, ExtBot

from bot.cases.callbacks import Callbacks
from bot.cases.departments import Directory
from bot.cases.desk import CaseDesk
from bot.cases.handoffs import Handoffs
from bot.cases.reports import Reports
from bot.cases.roles import Roles
from bot.cases.store import CaseStore
from bot.cases.supervision import Supervision
from bot.config import Settings
from bot.insight.hotspots import HotSpots
from bot.rasa.client import RasaClient
from bot.safety.incidents import EmergencyLog
from bot.store.db import Database
from bot.store.leases import Leases
from bot.store.outbox import Outbox
from bot.telegram.delivery import DeliveryWorker
from bot.telegram.limits import CitizenLimiter
from bot.telegram.state import TelegramState


@dataclass
class Services:
    """Opened in `post_init`, closed in `post_shutdown`; never at import time."""

    settings: Settings | None = None
    db: Database | None = None
    leases: Leases | None = None  # held by this run (process): its jobs, its liveness
    cases: CaseStore | None = None
    state: TelegramState | None = None
    rasa: RasaClient | None = None
    emergencies: EmergencyLog | None = None
    roles: Roles | None = None
    desk: CaseDesk | None = None
    handoffs: Handoffs | None = None
    callbacks: Callbacks | None = None
    reports: Reports | None = None
    outbox: Outbox | None = None
    delivery: DeliveryWorker | None = None
    supervision: Supervision | None = None
    hotspots: HotSpots | None = None
    departments: Directory | None = None
    limiter: CitizenLimiter | None = None
    # What each chat's last turn did (emergency, answer, clarify, case, smalltalk …), kept
    # only when a caller asks for it by setting a dict here (make ask reports it).
    routes: dict[int, str] | None = None


class HotlineContext(CallbackContext[ExtBot, dict, dict, Services]):
    @property
    def settings(self) -> Settings:
        return self.bot_data.settings

    @property
    def cases(self) -> CaseStore:
        return self.bot_data.cases

    @property
    def state(self) -> TelegramState:
        return self.bot_data.state

    @property
    def rasa(self) -> RasaClient:
        return self.bot_data.rasa

    @property
    def desk(self) -> CaseDesk:
        return self.bot_data.desk

    @property
    def roles(self) -> Roles:
        return self.bot_data.roles


HotlineApp = Application[ExtBot, HotlineContext, dict, dict, Services, object]
