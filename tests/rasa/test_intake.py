"""Case intake and status actions with a CollectingDispatcher, the real domain and a real store."""

from __future__ import annotations

import aiosqlite
import pytest
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.intake import (
    ActionAskCaseConfirm,
    ActionCancelCase,
    ActionMergeCase,
    ActionStartCase,
    ActionStopCaseForm,
    ActionSubmitCase,
    ValidateCaseForm,
    normalize_phone,
)
from actions.status import ActionCaseStatus, ActionMyCases, ActionSubmitCaseFollowup
from bot.cases.models import CaseStatus
from bot.store.db import open_database
from tests.rasa.conftest import make_tracker

CITIZEN = "7001"
STRANGER = "7002"
DESCRIPTION = "幸福小区南门口的烧烤摊每天晚上油烟和噪音特别大，一直到凌晨两点"


def slots_of(events) -> dict:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def filled(**overrides) -> dict:
    slots = {
        "case_draft_id": "d1", "case_kind": "complaint", "case_description": DESCRIPTION,
        "case_description_done": True, "case_district": "崇川区", "case_address": "工农路幸福小区南门",
        "case_time": "每天晚上", "case_phone": "13812345678", "case_photos": ["photo-1"],
        "case_photos_done": True, "case_confirm": True,
    }
    slots.update(overrides)
    return slots


async def validate(slot: str, value, slots: dict | None = None, intent: str = "inform",
                   text: str = "") -> tuple[dict, CollectingDispatcher]:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(text or str(value), intent=intent, slots=slots or {},
                           active_loop={"name": "case_form"})
    result = await getattr(ValidateCaseForm(), f"validate_{slot}")(value, dispatcher, tracker, {})
    return result, dispatcher


async def test_a_complaint_told_in_the_first_message_keeps_it(res, domain):
    dispatcher = CollectingDispatcher()
    events = await ActionStartCase().run(
        dispatcher, make_tracker(DESCRIPTION, intent="file_complaint"), domain)
    slots = slots_of(events)
    assert slots["case_kind"] == "complaint"
    assert slots["case_description"] == DESCRIPTION
    assert slots["case_draft_id"]
    assert "算了" in dispatcher.messages[0]["text"]
    # The citizen is told their first message was taken as the description.
    assert "记作事情经过" in dispatcher.messages[0]["text"]
    assert DESCRIPTION[:20] in dispatcher.messages[0]["text"]


async def test_a_bare_request_to_file_asks_for_the_matter(res, domain):
    dispatcher = CollectingDispatcher()
    events = await ActionStartCase().run(
        dispatcher, make_tracker("我要举报", intent="file_report"), domain)
    slots = slots_of(events)
    assert slots["case_kind"] == "report" and slots.get("case_description") is None
    assert "记作事情经过" not in dispatcher.messages[0]["text"]


async def test_an_unanswered_question_becomes_the_description_of_a_consultation(res, domain):
    tracker = make_tracker('/file_case{"case_kind":"consult"}', intent="file_case",
                           entities=[{"entity": "case_kind", "value": "consult"}],
                           slots={"kb_query": "外地老人来南通看病能不能用老家的医保"})
    slots = slots_of(await ActionStartCase().run(CollectingDispatcher(), tracker, domain))
    assert slots["case_kind"] == "consult"
    assert slots["case_description"] == "外地老人来南通看病能不能用老家的医保"


async def test_the_description_may_span_several_messages():
    result, _ = await validate("case_description_done", "还有，烧烤摊还占了人行道",
                               slots={"case_description": DESCRIPTION})
    assert result == {"case_description": DESCRIPTION + "\n还有，烧烤摊还占了人行道",
                      "case_description_done": None}
    result, _ = await validate("case_description_done", True, intent="done", text="/done")
    assert result == {"case_description_done": True}


@pytest.mark.parametrize(("typed", "district"), [
    ("崇川区", "崇川区"), ("在如皋", "如皋市"), ("海安那边", "海安市"), ("不清楚", "不清楚")])
async def test_districts_are_recognised(typed, district):
    result, _ = await validate("case_district", typed)
    assert result == {"case_district": district}


async def test_an_unknown_district_is_asked_again():
    result, dispatcher = await validate("case_district", "火星")
    assert result == {"case_district": None}
    assert "按钮" in dispatcher.messages[0]["text"]


@pytest.mark.parametrize(("typed", "phone"), [
    ("138 1234 5678", "13812345678"), ("+86 13912345678", "13912345678"),
    ("0513-85551234", "051385551234"), ("（0513）8555 1234", "051385551234"),
    ("abcdefghijk", None), ("1381234567", None), ("12345", None), ("23812345678", None)])
def test_phone_numbers(typed, phone):
    assert normalize_phone(typed) == phone


async def test_an_invalid_phone_is_refused_with_a_clear_answer():
    result, dispatcher = await validate("case_phone", "abc电话没有")
    assert result == {"case_phone": None}
    assert dispatcher.messages[0]["response"] == "utter_phone_invalid"


async def test_anonymous_filing_is_told_replies_come_only_through_the_bot():
    result, dispatcher = await validate("case_phone", "匿名", intent="anonymous", text="/anonymous")
    assert result == {"case_phone": "匿名"}
    assert dispatcher.messages[0]["response"] == "utter_anonymous_notice"


async def test_photos_are_kept_by_file_id():
    result, _ = await validate("case_photos_done", "AgACAgQ-file-1", intent="attach_photo",
                               slots={"case_photos": []},
                               text='/attach_photo{"photo":"AgACAgQ-file-1"}')
    assert result == {"case_photos": ["AgACAgQ-file-1"], "case_photos_done": None}


async def test_the_summary_masks_the_phone(domain):
    dispatcher = CollectingDispatcher()
    await ActionAskCaseConfirm().run(dispatcher, make_tracker(slots=filled()), domain)
    text = dispatcher.messages[0]["text"]
    assert "138****5678" in text and "13812345678" not in text
    assert [b["title"] for b in dispatcher.messages[0]["buttons"]] == ["确认提交", "修改", "取消"]


async def test_editing_a_field_clears_it_so_the_form_asks_again():
    result, dispatcher = await validate("case_confirm", "edit", intent="edit_case", text="/edit_case")
    assert result == {"case_confirm": None}
    assert "联系电话" in [b["title"] for b in dispatcher.messages[0]["buttons"]]
    result, _ = await validate("case_confirm", "case_phone", intent="edit_field")
    assert result == {"case_phone": None, "case_confirm": None}


async def test_submitting_files_the_case_with_its_first_event(res, domain):
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("/confirm_case", intent="confirm_case", slots=filled(), sender=CITIZEN)
    events = await ActionSubmitCase().run(dispatcher, tracker, domain)
    (case,) = await res.cases.cases_of_citizen(int(CITIZEN))
    assert case.number in dispatcher.messages[0]["text"]
    assert case.category == "环境保护" and case.department == "南通市城市管理局"  # as after a transfer
    assert case.phone == "13812345678" and case.district == "崇川区"
    assert "办理期限" in dispatcher.messages[0]["text"]
    (event,) = await res.cases.events(case.id)
    assert event.kind == "filed" and event.detail["photos"] == ["photo-1"]
    assert slots_of(events)["case_description"] is None  # the draft is cleared

    # The same draft submitted again (a replayed request) files nothing new.
    await ActionSubmitCase().run(CollectingDispatcher(), tracker, domain)
    assert await res.cases.count_cases() == 1


async def test_a_similar_matter_within_72_hours_is_offered_as_the_same_case(res, domain):
    first = make_tracker("/confirm_case", intent="confirm_case", slots=filled(), sender=CITIZEN)
    await ActionSubmitCase().run(CollectingDispatcher(), first, domain)
    (existing,) = await res.cases.cases_of_citizen(int(CITIZEN))

    again = filled(case_draft_id="d2", case_address="幸福小区南门东侧第二个摊位",
                   case_time="昨晚十一点到凌晨两点", case_phone="13955556666",
                   case_description="幸福小区南门口烧烤摊晚上油烟噪音特别大，一直到凌晨")
    dispatcher = CollectingDispatcher()
    events = await ActionSubmitCase().run(
        dispatcher, make_tracker("/confirm_case", intent="confirm_case", slots=again,
                                 sender=CITIZEN), domain)
    assert SlotSet("case_similar", existing.number) in events
    assert existing.number in dispatcher.messages[0]["text"]

    merge = make_tracker(f'/same_case{{"case_number":"{existing.number}"}}', intent="same_case",
                         entities=[{"entity": "case_number", "value": existing.number}],
                         slots=again, sender=CITIZEN)
    await ActionMergeCase().run(CollectingDispatcher(), merge, domain)
    assert await res.cases.count_cases() == 1
    events = await res.cases.events(existing.id)
    assert [e.kind for e in events] == ["filed", "supplemented"]
    # Nothing the citizen gave the second time is lost: it is in the history whole.
    added = events[-1].detail
    assert (added["address"], added["happened"], added["phone"]) == (
        "幸福小区南门东侧第二个摊位", "昨晚十一点到凌晨两点", "13955556666")
    assert (await res.cases.case_by_number(existing.number)).phone == "13812345678"

    # A stranger's similar matter is a case of its own.
    stranger = make_tracker("/confirm_case", intent="confirm_case",
                            slots=filled(case_draft_id="d3"), sender=STRANGER)
    await ActionSubmitCase().run(CollectingDispatcher(), stranger, domain)
    assert await res.cases.count_cases() == 2


async def test_a_store_failure_files_nothing_and_keeps_the_draft(res, domain, tmp_path):
    res.db = await open_database(res.settings.db_path, busy_timeout_ms=100)
    res.cases.db = res.db
    blocker = await aiosqlite.connect(str(res.settings.db_path))
    await blocker.execute("BEGIN EXCLUSIVE")
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("/confirm_case", intent="confirm_case", slots=filled(), sender=CITIZEN)
    events = await ActionSubmitCase().run(dispatcher, tracker, domain)
    assert "重新提交" in [b["title"] for b in dispatcher.messages[0]["buttons"]]
    assert events == []  # nothing cleared: the draft is still there to submit again
    await blocker.rollback()
    await blocker.close()
    assert await res.cases.count_cases() == 0
    await ActionSubmitCase().run(CollectingDispatcher(), tracker, domain)
    assert await res.cases.count_cases() == 1


async def test_cancel_leaves_the_form_and_clears_the_draft(domain):
    dispatcher = CollectingDispatcher()
    events = await ActionCancelCase().run(dispatcher, make_tracker("算了", intent="cancel",
                                                                    slots=filled()), domain)
    assert ActiveLoop(None) in events
    assert slots_of(events)["case_description"] is None
    assert dispatcher.messages[0]["response"] == "utter_case_cancelled"


async def test_status_only_for_the_filer_and_the_same_answer_for_strangers(res, domain):
    await ActionSubmitCase().run(CollectingDispatcher(), make_tracker(
        "/confirm_case", intent="confirm_case", slots=filled(), sender=CITIZEN), domain)
    (case,) = await res.cases.cases_of_citizen(int(CITIZEN))

    async def status(sender: str, text: str) -> str:
        dispatcher = CollectingDispatcher()
        await ActionCaseStatus().run(dispatcher, make_tracker(text, intent="check_status",
                                                              sender=sender), domain)
        return dispatcher.messages[0]["text"]

    mine = await status(CITIZEN, f"查询 {case.number.lower()}")
    assert "已受理" in mine and "南通市城市管理局" in mine and case.number in mine
    theirs = await status(STRANGER, f"查询 {case.number}")
    made_up = await status(STRANGER, "查询 NT209901010001")
    assert theirs == made_up.replace("NT209901010001", case.number)
    assert DESCRIPTION[:10] not in theirs


async def test_my_cases_newest_first(res, domain):
    for draft in ("d1", "d2"):
        slots = filled(case_draft_id=draft, case_description=f"{draft} 路灯坏了好久没人修理")
        await ActionSubmitCase().run(CollectingDispatcher(), make_tracker(
            "/new_case", intent="new_case", slots=slots, sender=CITIZEN), domain)
    dispatcher = CollectingDispatcher()
    await ActionMyCases().run(dispatcher, make_tracker("/my_cases", intent="my_cases",
                                                        sender=CITIZEN), domain)
    cases = await res.cases.cases_of_citizen(int(CITIZEN))
    assert [b["title"] for b in dispatcher.messages[0]["buttons"]] == [c.number for c in cases]
    assert cases[0].id > cases[1].id


async def test_supplement_and_withdraw(res, domain):
    await ActionSubmitCase().run(CollectingDispatcher(), make_tracker(
        "/confirm_case", intent="confirm_case", slots=filled(), sender=CITIZEN), domain)
    (case,) = await res.cases.cases_of_citizen(int(CITIZEN))
    supplement = make_tracker("今天又来了", slots={"followup_case": case.number,
                                                "followup_kind": "supplement",
                                                "followup_text": "今天晚上又开始了"},
                              sender=CITIZEN)
    await ActionSubmitCaseFollowup().run(CollectingDispatcher(), supplement, domain)
    withdraw = make_tracker("解决了", slots={"followup_case": case.number,
                                          "followup_kind": "withdraw",
                                          "followup_text": "摊子已经搬走了"}, sender=CITIZEN)
    dispatcher = CollectingDispatcher()
    await ActionSubmitCaseFollowup().run(dispatcher, withdraw, domain)
    assert "已撤回" in dispatcher.messages[0]["text"]
    case = await res.cases.case_by_number(case.number)
    assert case.status is CaseStatus.WITHDRAWN
    events = await res.cases.events(case.id)
    assert [e.kind for e in events] == ["filed", "supplemented", "withdrawn"]
    assert events[2].detail["reason"] == "摊子已经搬走了"


@pytest.mark.parametrize("slot", ["case_description", "case_description_done", "case_district",
                                  "case_address", "case_time", "case_phone", "case_photos_done",
                                  "case_confirm"])
async def test_a_slot_reset_when_the_form_starts_is_not_an_answer(slot):
    """Starting the form resets the slots; validation must neither complain nor fill them."""
    result, dispatcher = await validate(slot, None, text="我要投诉")
    assert result == {slot: None}
    assert dispatcher.messages == []


@pytest.mark.parametrize("typed", ["说完了", "没了", "就这些。", "我说完了", "没有照片", "发完了"])
async def test_typing_done_instead_of_pressing_the_button_ends_the_step(typed):
    form = ValidateCaseForm()
    tracker = make_tracker(slots={"case_description": "路灯坏了一个月"})
    done = await form.validate_case_description_done(typed, CollectingDispatcher(), tracker, {})
    assert done == {"case_description_done": True}
    photos = await form.validate_case_photos_done(typed, CollectingDispatcher(), tracker, {})
    assert photos == {"case_photos_done": True}


async def test_more_text_is_still_added_to_the_description():
    form = ValidateCaseForm()
    tracker = make_tracker(slots={"case_description": "路灯坏了一个月"})
    more = await form.validate_case_description_done("晚上没人修，说完了再补充",
                                                     CollectingDispatcher(), tracker, {})
    assert more["case_description_done"] is None
    assert more["case_description"].endswith("晚上没人修，说完了再补充")


async def test_an_emergency_closes_an_open_form_without_a_word(domain):
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("/emergency_stop", intent="emergency_stop", slots=filled(),
                           active_loop={"name": "case_form"})
    events = await ActionStopCaseForm().run(dispatcher, tracker, domain)
    assert dispatcher.messages == []
    assert ActiveLoop(None) in events and SlotSet("case_description", None) in events
    outside = await ActionStopCaseForm().run(
        dispatcher, make_tracker("/emergency_stop", intent="emergency_stop"), domain)
    assert outside == [] and dispatcher.messages == []
