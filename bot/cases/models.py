"""Cases, their kinds and states, as plain data."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any


class CaseKind(StrEnum):
    """What the citizen asks for; each kind has its own deadline."""

    CONSULT = "consult"
    HELP = "help"
    COMPLAINT = "complaint"
    SUGGESTION = "suggestion"
    REPORT = "report"

    @property
    def label(self) -> str:
        return _KIND_LABELS[self]


# The first-level categories of the hotline's letters, which route a case to a department.
CATEGORIES = (
    "城乡建设", "环境保护", "交通运输", "教育文体", "劳动和社会保障", "商贸旅游", "卫生计生",
    "农村农业", "政法", "民政", "党务政务", "经济管理", "纪检监察", "国土资源", "科技与信息产业",
)

_KIND_LABELS = {
    CaseKind.CONSULT: "咨询",
    CaseKind.HELP: "求助",
    CaseKind.COMPLAINT: "投诉",
    CaseKind.SUGGESTION: "建议",
    CaseKind.REPORT: "举报",
}


class CaseStatus(StrEnum):
    ACCEPTED = "accepted"
    TRANSFERRED = "transferred"
    IN_PROGRESS = "in_progress"
    REPLIED = "replied"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    RETURNED = "returned"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return _STATUS_LABELS[self]

    @property
    def is_open(self) -> bool:
        return self not in (CaseStatus.RESOLVED, CaseStatus.WITHDRAWN)


_STATUS_LABELS = {
    CaseStatus.ACCEPTED: "已受理",
    CaseStatus.TRANSFERRED: "已转办",
    CaseStatus.IN_PROGRESS: "办理中",
    CaseStatus.REPLIED: "已答复",
    CaseStatus.RESOLVED: "已办结",
    CaseStatus.REOPENED: "重办中",
    CaseStatus.RETURNED: "已退回，重新派单中",
    CaseStatus.WITHDRAWN: "已撤回",
}

OPEN_STATUSES = frozenset(s for s in CaseStatus if s.is_open)

# The one table of status changes: the event that makes the change, the statuses it may
# start from, and the status it leaves. `bot.cases.store.change_status` is the only writer
# of a case's status after filing, and it writes the event with the change.
TRANSITIONS: dict[str, tuple[frozenset[CaseStatus], CaseStatus]] = {
    "claimed": (frozenset({CaseStatus.ACCEPTED, CaseStatus.RETURNED}), CaseStatus.IN_PROGRESS),
    "replied": (OPEN_STATUSES, CaseStatus.REPLIED),
    "transferred": (OPEN_STATUSES, CaseStatus.TRANSFERRED),
    "returned": (OPEN_STATUSES, CaseStatus.RETURNED),
    "resolved": (OPEN_STATUSES, CaseStatus.RESOLVED),
    "reopened": (frozenset({CaseStatus.RESOLVED}), CaseStatus.REOPENED),
    "withdrawn": (OPEN_STATUSES, CaseStatus.WITHDRAWN),
}


# NT, the date, and the day's sequence: four digits, more past the 9,999th case of a day.
CASE_NUMBER_RE = re.compile(r"NT\d{8}\d{4,6}(?!\d)")


def normalize_case_number(text: str) -> str | None:
    """Finds a case number in what a citizen typed: full-width, lower case and spaces allowed."""
    folded = unicodedata.normalize("NFKC", text).upper()
    folded = re.sub(r"[\s\-_]", "", folded)
    match = CASE_NUMBER_RE.search(folded)
    return match.group(0) if match else None


def mask_phone(phone: str | None) -> str:
    """138****1234 for a mobile, 0513****5678 for a landline; the whole number is never shown."""
    if not phone:
        return ""
    digits = re.sub(r"\D", "", phone)
    if len(digits) <= 4:
        return "*" * len(digits)
    if len(digits) == 11 and digits.startswith("1"):
        return f"{digits[:3]}****{digits[-4:]}"
    head = digits[:4] if digits.startswith("0") else digits[:2]
    return f"{head}****{digits[-4:]}"


@dataclass(frozen=True)
class CaseDraft:
    """What intake collected, before the case has a number."""

    citizen_id: int
    chat_id: int
    kind: CaseKind
    description: str
    category: str | None = None
    department: str | None = None
    district: str | None = None
    address: str | None = None
    happened: str | None = None
    phone: str | None = None
    anonymous: bool = False
    photos: tuple[str, ...] = ()
    # The case classifier's likeliest categories, best first, and its version.
    suggestions: tuple[str, ...] = ()
    model_version: str | None = None


@dataclass(frozen=True)
class Case:
    id: int
    number: str
    citizen_id: int
    chat_id: int
    kind: CaseKind
    description: str
    status: CaseStatus
    created_at: datetime
    updated_at: datetime
    deadline: date
    category: str | None = None
    department: str | None = None
    district: str | None = None
    address: str | None = None
    happened: str | None = None
    phone: str | None = None
    anonymous: bool = False
    assignee_id: int | None = None
    assignee_name: str | None = None
    closed_at: datetime | None = None
    suggestions: tuple[str, ...] = ()
    model_version: str | None = None
    # Early warning (bot/cases/early_warning.py): 'sensitive' or 'urgent', the repeat rule(s)
    # that flagged it, and its normalised place.
    mark: str | None = None
    repeat_flag: str | None = None
    place_key: str | None = None

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    @classmethod
    def from_row(cls, row: Any) -> Case:
        return cls(
            id=row["id"],
            number=row["number"],
            citizen_id=row["citizen_id"],
            chat_id=row["chat_id"],
            kind=CaseKind(row["kind"]),
            description=row["description"],
            status=CaseStatus(row["status"]),
            created_at=datetime.fromisoformat(row["created_at"]),
            updated_at=datetime.fromisoformat(row["updated_at"]),
            deadline=date.fromisoformat(row["deadline"]),
            category=row["category"],
            department=row["department"],
            district=row["district"],
            address=row["address"],
            happened=row["happened"],
            phone=row["phone"],
            anonymous=bool(row["anonymous"]),
            assignee_id=row["assignee_id"],
            assignee_name=row["assignee_name"],
            closed_at=datetime.fromisoformat(row["closed_at"]) if row["closed_at"] else None,
            suggestions=tuple(json.loads(row["suggestions"] or "[]")),
            model_version=row["model_version"],
            mark=row["mark"],
            repeat_flag=row["repeat_flag"],
            place_key=row["place_key"],
        )


@dataclass(frozen=True)
class CaseEvent:
    id: int
    case_id: int
    at: datetime
    actor: str
    kind: str
    detail: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: Any) -> CaseEvent:
        return cls(
            id=row["id"],
            case_id=row["case_id"],
            at=datetime.fromisoformat(row["at"]),
            actor=row["actor"],
            kind=row["kind"],
            detail=json.loads(row["detail"]),
        )
