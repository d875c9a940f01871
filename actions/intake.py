"""Case intake: the form that collects a case, its confirmation, filing and merging."""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import resources
from actions.knowledge import ActionAnswerPolicy, citizen_id, message_text, tag_route
from bot.cases.deadlines import CHINA, format_date
from bot.cases.departments import DISTRICTS
from bot.cases.models import CaseDraft, CaseKind, mask_phone
from bot.cases.store import CaseClosed, CaseNotFound
from bot.nlp.route import files_at_once
from bot.rasa.payloads import payload
from bot.safety.text import clean_text
from bot.store.db import StoreError

log = logging.getLogger(__name__)

KIND_BY_INTENT = {
    "file_complaint": CaseKind.COMPLAINT,
    "file_help": CaseKind.HELP,
    "file_suggestion": CaseKind.SUGGESTION,
    "file_report": CaseKind.REPORT,
}
CASE_SLOTS = ("case_draft_id", "case_kind", "case_description", "case_description_done",
              "case_district", "case_address", "case_time", "case_phone", "case_photos",
              "case_photos_done", "case_confirm", "case_similar")
FOLLOWUP_SLOTS = ("followup_case", "followup_kind", "followup_text")
EDITABLE = {
    "case_description": "事情经过",
    "case_district": "所在区县",
    "case_address": "具体地点",
    "case_time": "发生时间",
    "case_phone": "联系电话",
    "case_photos_done": "照片",
}
UNKNOWN_DISTRICT = "不清楚"
NOT_GIVEN = "未说明"
ANONYMOUS = "匿名"
MAX_DESCRIPTION = 3000
# A first message shorter than this ("我要投诉") is a request to file, not the matter itself.
MIN_PREFILL = 12
_TRIGGER_ONLY = re.compile(r"^(我)?(要|想)?(投诉|举报|求助|建议|反映|登记)(一下|个问题|一个问题|问题)?$")
# Typed instead of pressing 「说完了」 / 「没有照片/发完了」 (elderly citizens often type it).
_TYPED_DONE = re.compile(r"^(我)?(说完了?|讲完了?|发完了?|完了|好了|没了|没有了?|就这些了?|就这样吧?|没有照片了?|"
                         r"不用了?|没有其他的?了?|没有别的了?)[。.!！~]*$")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}\d{7,8}$")


def reset(slots: tuple[str, ...]) -> list[EventType]:
    return [SlotSet(name, None) for name in slots]


def normalize_phone(text: str) -> str | None:
    """A valid mainland mobile or landline number as digits, or None."""
    digits = re.sub(r"[\s\-－—()（）]", "", text)
    digits = re.sub(r"^(\+?86)", "", digits)
    if _MOBILE.match(digits) or _LANDLINE.match(digits):
        return digits
    return None


def find_district(text: str) -> str | None:
    for district in DISTRICTS:
        if district in text or district[:2] in text:
            return district
    if any(word in text for word in ("不清楚", "不知道", "不确定", "其他")):
        return UNKNOWN_DISTRICT
    return None


def case_kind_of(tracker: Tracker) -> CaseKind:
    try:
        return CaseKind(tracker.get_slot("case_kind") or "consult")
    except ValueError:
        return CaseKind.CONSULT


class ActionStartCase(Action):
    """Opens a new draft: kind from the intent, the first message kept if it tells the matter."""

    def name(self) -> str:
        return "action_start_case"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if intent in KIND_BY_INTENT:
            kind = KIND_BY_INTENT[intent]
            text = clean_text(message_text(tracker))
            res = await resources.get()
            if not files_at_once(text, intent, res.search.find(text, k=3), res.topics.guess(text),
                                 res.topics):
                # A policy question read as a filing: answered (with 「没解决」 and the
                # offer to file), and the form does not open.
                events = await ActionAnswerPolicy().run(dispatcher, tracker, domain)
                return [*events, FollowupAction("action_listen")]
            prefill = text if len(text) >= MIN_PREFILL and not _TRIGGER_ONLY.match(text) else None
        else:
            requested = next(tracker.get_latest_entity_values("case_kind"), "consult")
            kind = CaseKind(requested) if requested in CaseKind._value2member_map_ else CaseKind.CONSULT
            prefill = tracker.get_slot("kb_query")  # the question the knowledge base missed
        taken = ""
        if prefill:
            # The citizen is told that what they already wrote is the description.
            shown = prefill if len(prefill) <= 40 else prefill[:39] + "…"
            taken = f"\n我先把您刚才说的「{shown}」记作事情经过，您还可以接着补充。"
        dispatcher.utter_message(
            text=f"好的，我来帮您登记这件{kind.label}的事，工作人员会跟进办理。大约需要一分钟；"
                 f"中途想退出，发送「算了」或 /cancel 即可。{taken}"
        )
        tag_route(dispatcher, "case")
        stale = tuple(name for name in CASE_SLOTS if tracker.get_slot(name) is not None)
        events = [*reset(stale), SlotSet("case_draft_id", uuid.uuid4().hex),
                  SlotSet("case_kind", kind.value), SlotSet("case_photos", [])]
        if prefill:
            events.append(SlotSet("case_description", prefill[:MAX_DESCRIPTION]))
        return events


class ValidateCaseForm(FormValidationAction):
    def name(self) -> str:
        return "validate_case_form"

    async def validate_case_description(self, value: Any, dispatcher: CollectingDispatcher,
                                        tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        if value is None:  # reset, not answered: nothing to check or say
            return {"case_description": None}
        text = clean_text(str(value or ""))
        if len(text) < 4:
            dispatcher.utter_message(text="请再具体说一说发生了什么事，至少一句话。")
            return {"case_description": None}
        return {"case_description": text[:MAX_DESCRIPTION]}

    async def validate_case_description_done(self, value: Any, dispatcher: CollectingDispatcher,
                                             tracker: Tracker,
                                             domain: DomainDict) -> dict[str, Any]:
        if value is None:  # reset, not answered: nothing to check or say
            return {"case_description_done": None}
        if value is True or _TYPED_DONE.match(clean_text(str(value or ""))):
            return {"case_description_done": True}
        # More text: the description goes on over several messages.
        addition = clean_text(str(value or ""))
        description = tracker.get_slot("case_description") or ""
        if addition:
            description = f"{description}\n{addition}"[:MAX_DESCRIPTION]
        return {"case_description": description, "case_description_done": None}

    async def validate_case_district(self, value: Any, dispatcher: CollectingDispatcher,
                                     tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        if value is None:  # reset, not answered: nothing to check or say
            return {"case_district": None}
        district = find_district(clean_text(str(value or "")))
        if district is None:
            dispatcher.utter_message(text="没认出是哪个区县，请点下面的按钮选择。")
            return {"case_district": None}
        return {"case_district": district}

    async def validate_case_address(self, value: Any, dispatcher: CollectingDispatcher,
                                    tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        if value is None:  # reset, not answered: nothing to check or say
            return {"case_address": None}
        text = clean_text(str(value or ""))
        if len(text) < 2:
            dispatcher.utter_message(text="请写一下具体地点，例如「工农路某某小区3号楼」。")
            return {"case_address": None}
        return {"case_address": text[:200]}

    async def validate_case_time(self, value: Any, dispatcher: CollectingDispatcher,
                                 tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        if value is None:  # reset, not answered: nothing to check or say
            return {"case_time": None}
        text = clean_text(str(value or "")) or NOT_GIVEN
        return {"case_time": text[:100]}

    async def validate_case_phone(self, value: Any, dispatcher: CollectingDispatcher,
                                  tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        if value is None:  # reset, not answered: nothing to check or say
            return {"case_phone": None}
        text = clean_text(str(value or ""))
        if text == ANONYMOUS or text in ("不留", "不方便留", "不想留"):
            dispatcher.utter_message(response="utter_anonymous_notice")
            return {"case_phone": ANONYMOUS}
        phone = normalize_phone(text)
        if phone is None:
            dispatcher.utter_message(response="utter_phone_invalid")
            return {"case_phone": None}
        return {"case_phone": phone}

    async def validate_case_photos_done(self, value: Any, dispatcher: CollectingDispatcher,
                                       tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        if value is None:  # reset, not answered: nothing to check or say
            return {"case_photos_done": None}
        if value is True or _TYPED_DONE.match(clean_text(str(value or ""))):
            return {"case_photos_done": True}
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        photos = list(tracker.get_slot("case_photos") or [])
        if intent == "attach_photo" and value:
            photos.append(str(value))
            dispatcher.utter_message(response="utter_photo_received")
            return {"case_photos": photos[:10], "case_photos_done": None}
        # Text instead of a photo: keep it with the description rather than lose it.
        text = clean_text(str(value or ""))
        if text:
            description = f"{tracker.get_slot('case_description') or ''}\n{text}"
            dispatcher.utter_message(text="这段文字已补充到事情经过里。有照片可以发送，没有请点按钮。")
            return {"case_description": description[:MAX_DESCRIPTION], "case_photos_done": None}
        return {"case_photos_done": None}

    async def validate_case_confirm(self, value: Any, dispatcher: CollectingDispatcher,
                                    tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        if value is None:  # reset, not answered: nothing to check or say
            return {"case_confirm": None}
        if value is True or value in ("确认", "确认提交", "提交", "确定", "是", "对", "好"):
            return {"case_confirm": True}
        if value == "edit" or value in ("修改", "改一下", "我要修改"):
            dispatcher.utter_message(
                text="要修改哪一项？",
                buttons=[{"title": title, "payload": payload("edit_field", field=slot)}
                         for slot, title in EDITABLE.items()],
            )
            return {"case_confirm": None}
        if value in EDITABLE:
            cleared: dict[str, Any] = {value: None, "case_confirm": None}
            if value == "case_description":
                cleared["case_description_done"] = None
            if value == "case_photos_done":
                cleared["case_photos"] = []
            return cleared
        dispatcher.utter_message(text="请点击上面的「确认提交」「修改」或「取消」。")
        return {"case_confirm": None}


class ActionAskCaseDistrict(Action):
    def name(self) -> str:
        return "action_ask_case_district"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        dispatcher.utter_message(
            text="这件事发生在哪个区县？",
            buttons=[{"title": d, "payload": d} for d in (*DISTRICTS, UNKNOWN_DISTRICT)],
        )
        return []


def summary(tracker: Tracker) -> str:
    kind = case_kind_of(tracker)
    description = tracker.get_slot("case_description") or ""
    if len(description) > 300:
        description = description[:300] + "…"
    phone = tracker.get_slot("case_phone")
    photos = tracker.get_slot("case_photos") or []
    return (
        "请核对登记内容：\n"
        f"类型：{kind.label}\n"
        f"事情经过：{description}\n"
        f"地点：{tracker.get_slot('case_district') or ''} {tracker.get_slot('case_address') or ''}\n"
        f"时间：{tracker.get_slot('case_time') or NOT_GIVEN}\n"
        f"联系电话：{ANONYMOUS if phone == ANONYMOUS else mask_phone(phone)}\n"
        f"照片：{len(photos)} 张"
    )


class ActionAskCaseConfirm(Action):
    def name(self) -> str:
        return "action_ask_case_confirm"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        dispatcher.utter_message(
            text=summary(tracker),
            buttons=[
                {"title": "确认提交", "payload": "/confirm_case"},
                {"title": "修改", "payload": "/edit_case"},
                {"title": "取消", "payload": "/cancel"},
            ],
        )
        return []


def draft_from(tracker: Tracker, category: str | None, department: str | None,
               suggestions: tuple[str, ...] = (), model_version: str | None = None) -> CaseDraft:
    phone = tracker.get_slot("case_phone")
    sender = citizen_id(tracker)
    metadata = tracker.latest_message.get("metadata") or {}
    return CaseDraft(
        citizen_id=sender,
        chat_id=int(metadata.get("chat_id") or sender),
        kind=case_kind_of(tracker),
        description=tracker.get_slot("case_description") or "",
        category=category,
        department=department,
        district=tracker.get_slot("case_district"),
        address=tracker.get_slot("case_address"),
        happened=tracker.get_slot("case_time"),
        phone=None if phone in (None, ANONYMOUS) else phone,
        anonymous=phone == ANONYMOUS,
        photos=tuple(tracker.get_slot("case_photos") or ()),
        suggestions=suggestions,
        model_version=model_version,
    )


class ActionSubmitCase(Action):
    """Files the confirmed case, after asking whether a recent similar one is the same matter."""

    def name(self) -> str:
        return "action_submit_case"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        draft_id = tracker.get_slot("case_draft_id")
        if not draft_id or not tracker.get_slot("case_description"):
            dispatcher.utter_message(text="没有待提交的内容。要反映问题，直接告诉我情况就可以。")
            return []
        res = await resources.get()
        sender = citizen_id(tracker)
        description = tracker.get_slot("case_description")
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if intent != "new_case":
            similar = await res.cases.similar_open_case(sender, description)
            if similar is not None:
                dispatcher.utter_message(
                    text=(f"您在 {similar.created_at.astimezone(CHINA).strftime('%m月%d日')} 反映过类似的事"
                          f"（{similar.number}：{similar.description[:40]}…），还在办理中。"
                          "是同一件事吗？"),
                    buttons=[
                        {"title": f"是，补充到 {similar.number}",
                         "payload": payload("same_case", case_number=similar.number)},
                        {"title": "不是，登记新的", "payload": "/new_case"},
                    ],
                )
                return [SlotSet("case_similar", similar.number)]
        return await file_case_from(dispatcher, tracker, res)


async def file_case_from(dispatcher: CollectingDispatcher, tracker: Tracker,
                         res: resources.Resources) -> list[EventType]:
    """Classifies and files the draft in the slots; tells the citizen the number and deadline."""
    draft_id = tracker.get_slot("case_draft_id")
    description = tracker.get_slot("case_description")
    topic = res.topics.predict(description)
    classifier = res.case_classifier()
    guess = classifier.predict(description, topic=topic,
                               district=tracker.get_slot("case_district"))
    draft = draft_from(tracker, guess.category, guess.department, guess.ranked[:3],
                       classifier.version)
    try:
        case = await res.cases.file_case(draft, source_key=f"draft:{draft_id}")
    except StoreError:
        log.exception("filing draft %s failed", draft_id)
        dispatcher.utter_message(
            text="抱歉，提交时系统出了点问题，您填写的内容还在。请稍后点「重新提交」再试一次，"
                 "或拨打 12345。",
            buttons=[{"title": "重新提交", "payload": "/confirm_case"}],
        )
        return []
    anonymous_note = "\n您选择了匿名，处理结果会在这里通知您。" if draft.anonymous else ""
    dispatcher.utter_message(
        text=(
            f"已登记，案件编号：{case.number}\n"
            f"类型：{case.kind.label}｜分类：{case.category or '待定'}｜"
            f"承办：{case.department or '由热线分派'}\n"
            f"办理期限：{format_date(case.deadline)}前\n"
            f"发送「查询 {case.number}」或 /mycases 可以随时查看进度。{anonymous_note}"
        )
    )
    return reset(CASE_SLOTS)


class ActionMergeCase(Action):
    """Adds what was just collected to the citizen's existing case of the same matter."""

    def name(self) -> str:
        return "action_merge_case"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        number = next(tracker.get_latest_entity_values("case_number"), None)
        draft_id = tracker.get_slot("case_draft_id")
        description = tracker.get_slot("case_description")
        if not number or not draft_id or not description:
            dispatcher.utter_message(text="没有待补充的内容。")
            return []
        res = await resources.get()
        draft = draft_from(tracker, None, None)
        details = {"district": draft.district, "address": draft.address,
                   "happened": draft.happened, "phone": draft.phone}
        try:
            case = await res.cases.supplement(
                number, citizen_id(tracker), description, draft.photos,
                source_key=f"draft:{draft_id}", details=details)
        except (CaseNotFound, CaseClosed):
            dispatcher.utter_message(text="这个案件已经办结或找不到了，我为您登记成新的案件。")
            return await file_case_from(dispatcher, tracker, res)
        except StoreError:
            dispatcher.utter_message(text="抱歉，系统出了点问题，请稍后再点一次按钮，或拨打 12345。")
            return []
        dispatcher.utter_message(
            text=f"已补充到案件 {case.number}，工作人员会一并处理。办理期限：{format_date(case.deadline)}前。"
        )
        return reset(CASE_SLOTS)


class ActionCancelCase(Action):
    def name(self) -> str:
        return "action_cancel_case"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        dispatcher.utter_message(response="utter_case_cancelled")
        return [ActiveLoop(None), SlotSet("requested_slot", None), *reset(CASE_SLOTS + FOLLOWUP_SLOTS)]


class ActionStopCaseForm(Action):
    """Closes the case form silently: the bot has answered an emergency with 110/119/120."""

    def name(self) -> str:
        return "action_stop_case_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        if tracker.active_loop_name is None:
            return []
        return [ActiveLoop(None), SlotSet("requested_slot", None), *reset(CASE_SLOTS + FOLLOWUP_SLOTS)]
