"""Messages Rasa reads as an intent with entities, skipping NLU: `/intent{"entity":"value"}`.

Used by the actions (button payloads) and by the bot (commands and photos), so both
speak exactly the same format.
"""

from __future__ import annotations

import json
from typing import Any


def payload(intent: str, **entities: Any) -> str:
    if not entities:
        return f"/{intent}"
    return f"/{intent}{json.dumps(entities, ensure_ascii=False, separators=(',', ':'))}"
