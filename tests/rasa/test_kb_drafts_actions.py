"""Through the real actions: 「没解决」 keeps the citizen's question, the form files the case
from it, and the agent's reply to that case becomes a knowledge draft.

These actions read only the store and the knowledge base, so the resources are opened
without the trained classifiers (the fields they would fill stay empty)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import resources
from actions.intake import ActionStartCase, draft_from
from actions.knowledge import ActionKbFeedback
from actions.resources import Resources
from bot.cases.desk import CaseDesk, Staff
from bot.cases.handoffs import Handoffs
from bot.cases.notices import Notices
from bot.cases.roles import Roles
from bot.cases.store import CaseStore
from bot.config import Settings
from bot.knowledge.drafts import DRAFTS_FILE, load_review, write_drafts
from bot.knowledge.feedback import FeedbackStore
from bot.knowledge.loader import load_knowledge
from bot.store.db import open_database
from tests.rasa.conftest import make_tracker

QUESTION = "公积金租房提取能不能每个月都取，我电话13812340000"
NOT_SOLVED = [{"entity": "kb_entry", "value": "hf-withdraw-rent"},
              {"entity": "helpful", "value": "no"}]


@pytest.fixture
async def res(tmp_path: Path):
    settings = Settings(data_dir=tmp_path, db_path=tmp_path / "hotline.db")
    db = await open_database(settings.db_path)
    opened = Resources(settings=settings, kb=load_knowledge(), search=None, db=db,  # type: ignore[arg-type]
                       cases=CaseStore(db), feedback=FeedbackStore(db), topics=None,  # type: ignore[arg-type]
                       classifier=None, problems=None)  # type: ignore[arg-type]
    resources.use(opened)
    yield opened
    resources.use(None)
    await opened.close()


async def test_a_not_solved_answer_filed_as_a_case_and_answered_by_an_agent_becomes_a_draft(
        res, domain, tmp_path):
    dispatcher = CollectingDispatcher()
    events = await ActionKbFeedback().run(dispatcher, make_tracker(
        intent="kb_feedback", entities=NOT_SOLVED, slots={"kb_query": QUESTION}), domain)
    assert SlotSet("kb_query", QUESTION) in events
    (miss,) = await res.db.fetchall("SELECT question, route FROM kb_misses")
    assert (miss["question"], miss["route"]) == ("公积金租房提取能不能每个月都取，我电话138****0000",
                                                 "unhelpful")

    # 「登记诉求」: the form starts from the question.
    started = await ActionStartCase().run(CollectingDispatcher(), make_tracker(
        "/file_case", intent="file_case",
        entities=[{"entity": "case_kind", "value": "consult"}],
        slots={"kb_query": QUESTION}), domain)
    slots = {e["name"]: e["value"] for e in started if e.get("event") == "slot"}
    assert slots["case_description"] == QUESTION
    slots.update(case_description=f"{QUESTION}\n我在崇川区租房", case_district="崇川区",
                 case_phone="匿名")
    case = await res.cases.file_case(draft_from(make_tracker(slots=slots), None, None))

    desk = CaseDesk(res.db, Notices(Roles(res.db, res.settings)), Handoffs(res.db))
    await desk.reply(case.number, Staff(9001, "王小丽"),
                     "租房提取一般可以按月、按季或按年办理，在公积金App上申请即可，以当地规定为准。")

    created, _ = await write_drafts(res.db, tmp_path / DRAFTS_FILE, res.kb)
    (draft,) = load_review(tmp_path / DRAFTS_FILE)["drafts"]
    assert draft["draft"] == created[0]
    assert draft["cases"] == [{"case": case.number, "question": miss["question"],
                               "asked": "答了没解决"}]
    assert draft["entry"]["answer"].startswith("租房提取一般可以按月")
    assert draft["entry"]["topic"] == "housing_fund"


async def test_not_solved_without_the_citizens_own_words_records_no_wording(res, domain):
    """A chosen candidate's canonical question is the entry's, not a citizen's wording."""
    await ActionKbFeedback().run(CollectingDispatcher(), make_tracker(
        intent="kb_feedback", entities=NOT_SOLVED), domain)
    assert await res.db.fetchall("SELECT * FROM kb_misses") == []
    (row,) = await res.feedback.most_unhelpful()
    assert (row.entry_id, row.unhelpful) == ("hf-withdraw-rent", 1)
