"""The responsible departments and the rules that route a case to one (data/departments.yml)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from bot.cases.models import CATEGORIES
from bot.config import ROOT

DEPARTMENTS_FILE = ROOT / "data" / "departments.yml"
DISTRICTS = ("崇川区", "通州区", "海门区", "如东县", "启东市", "如皋市", "海安市")


class DepartmentError(ValueError):
    """data/departments.yml is malformed."""


@dataclass(frozen=True)
class Department:
    id: str
    name: str
    short: str


@dataclass(frozen=True)
class Rule:
    category: str
    department: str
    keywords: tuple[str, ...] = ()
    topic: str | None = None

    def matches(self, category: str, text: str, topic: str | None) -> bool:
        if category != self.category:
            return False
        if self.topic is not None and topic != self.topic:
            return False
        return not self.keywords or any(k in text for k in self.keywords)


@dataclass(frozen=True)
class Directory:
    departments: dict[str, Department]
    rules: tuple[Rule, ...]
    local_categories: frozenset[str]

    def route(self, category: str | None, text: str, topic: str | None = None,
              district: str | None = None) -> Department | None:
        """The department responsible for a case of `category` described by `text`."""
        if category is None:
            return None
        if district in DISTRICTS and category in self.local_categories:
            return self.by_short(district)
        for rule in self.rules:
            if rule.matches(category, text, topic):
                return self.departments[rule.department]
        return None

    def by_short(self, short: str) -> Department | None:
        for department in self.departments.values():
            if short in (department.short, department.name, department.id):
                return department
        return None

    def find(self, text: str) -> Department | None:
        """A department named in what an agent typed (short name, full name or id)."""
        text = text.strip()
        exact = self.by_short(text)
        if exact is not None:
            return exact
        for department in self.departments.values():
            if text and (text in department.name or department.short in text):
                return department
        return None


@cache
def load_directory(path: Path = DEPARTMENTS_FILE) -> Directory:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    departments = {}
    for item in data.get("departments", []):
        try:
            department = Department(str(item["id"]), str(item["name"]), str(item["short"]))
        except (KeyError, TypeError) as exc:
            raise DepartmentError(f"{path}: department {item!r} needs id, name and short") from exc
        departments[department.id] = department
    rules = []
    for number, item in enumerate(data.get("rules", []), 1):
        where = f"{path}: rule {number}"
        if item.get("category") not in CATEGORIES:
            raise DepartmentError(f"{where}: unknown category {item.get('category')!r}")
        if item.get("department") not in departments:
            raise DepartmentError(f"{where}: unknown department {item.get('department')!r}")
        rules.append(Rule(item["category"], item["department"],
                          tuple(item.get("keywords") or ()), item.get("topic")))
    local = frozenset(data.get("local_categories") or ())
    if not local <= set(CATEGORIES):
        raise DepartmentError(f"{path}: local_categories has unknown categories")
    for category in CATEGORIES:
        if not any(r.category == category and not r.keywords and r.topic is None for r in rules):
            raise DepartmentError(f"{path}: category {category} has no catch-all rule")
    return Directory(departments, tuple(rules), local)
