"""Repeat requests (重复诉求): the same matter filed again and again.

Two rules, both over the 30 days before a filing:

- **the same citizen**: the citizen has filed the same matter at least twice before, so
  this is the third time or more. Two cases are the same matter when their descriptions
  overlap by at least `SAME_MATTER_SCORE` (character bigrams, `bot.cases.similarity`),
  or when both name the same place (`place_key`) in the same category;
- **the same place**: at least `PLACE_CITIZENS` different citizens (this one included)
  filed about the same place.

A place is the district and the address, normalised by `place_key`: full-width folded,
spaces and punctuation dropped, the province, city and district names in front dropped,
everything after the first 号 / 小区 / 交叉口 … cut and a side or door at the end (东门,
门口, 旁边 …) dropped, so 「南大街12号3单元」 and 「南大街 12 号门口」 are one place. An
address too vague to name a place (「家门口」, 「不清楚」, under four characters) gives none.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta

from bot.cases.departments import DISTRICTS
from bot.cases.similarity import similarity
from bot.store.db import Row, SyncConnection

REPEAT_WITHIN = timedelta(days=30)
REPEAT_COUNT = 3  # the citizen's third filing of the same matter is flagged
SAME_MATTER_SCORE = 0.5
PLACE_CITIZENS = 3

_NOT_TEXT = re.compile(r"[^\w]+")
_PREFIXES = ("江苏省", "南通市", *DISTRICTS)
# A place ends at its number, estate or crossing; what follows (unit, door, 门口) is dropped.
_PLACE_END = re.compile(r"号|小区|花园|新村|家园|公寓|大厦|广场|市场|菜场|公园|交叉口|路口")
# … and a side or a door of it is the same place.
_SIDE = re.compile(r"(?:[东西南北]?门口?|[东西南北]侧|旁边|对面|附近|边上|里面)+$")
_VAGUE = ("不清楚", "不知道", "不详", "家里", "家门口", "附近", "这里", "那里", "路上", "网上",
          "全市", "到处", "各地", "无", "略")
MIN_PLACE = 4


def place_key(district: str | None, address: str | None) -> str | None:
    """The normalised place of a case, or None when the address names no place."""
    if not address:
        return None
    text = _NOT_TEXT.sub("", unicodedata.normalize("NFKC", address).lower())
    stripped = True
    while stripped:
        stripped = False
        for prefix in _PREFIXES:
            if prefix and text.startswith(prefix):
                text, stripped = text[len(prefix):], True
    end = _PLACE_END.search(text)
    if end is not None:
        text = text[:end.end()]
    text = _SIDE.sub("", text)
    if len(text) < MIN_PLACE or text in _VAGUE:
        return None
    return f"{district or ''}|{text}"


def same_matter(description: str, category: str | None, place: str | None,
                other: Row) -> bool:
    if place is not None and place == other["place_key"] and category == other["category"]:
        return True
    return similarity(description, other["description"]) >= SAME_MATTER_SCORE


def citizen_repeats(conn: SyncConnection, case_id: int, citizen_id: int, description: str,
                    category: str | None, place: str | None,
                    now: datetime) -> list[Row]:
    """The citizen's earlier cases of the last 30 days on the same matter, oldest first."""
    rows = conn.execute(
        "SELECT id, number, description, category, place_key FROM cases"
        " WHERE citizen_id = ? AND id <> ? AND created_at >= ? ORDER BY id",
        (citizen_id, case_id, (now - REPEAT_WITHIN).isoformat())).fetchall()
    return [r for r in rows if same_matter(description, category, place, r)]


def place_repeats(conn: SyncConnection, case_id: int, citizen_id: int, place: str | None,
                  now: datetime) -> list[Row]:
    """Earlier cases of the last 30 days at the same place from other citizens, oldest first."""
    if place is None:
        return []
    return conn.execute(
        "SELECT id, number, citizen_id FROM cases WHERE place_key = ? AND id <> ?"
        " AND citizen_id <> ? AND created_at >= ? ORDER BY id",
        (place, case_id, citizen_id, (now - REPEAT_WITHIN).isoformat())).fetchall()
