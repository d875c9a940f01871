"""Status by chat: one case, the citizen's own cases, adding to or withdrawing a case."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import resources
from actions.intake import FOLLOWUP_SLOTS, reset
from actions.knowledge import citizen_id
from bot.cases.deadlines import format_date
from bot.cases.models import Case, normalize_case_number
from bot.cases.store import CaseClosed, CaseNotFound
from bot.rasa.payloads import payload
from bot.safety.text import clean_text
from bot.store.db import StoreError

# The same words for a number that does not exist and for someone else's case.
NOT_FOUND = ("未找到案件 {number}。请核对编号（例如 NT202611280001），"
             "或发送 /mycases 查看您提交过的案件。")
ASK_NUMBER = "请发送案件编号，例如「查询 NT202611280001」；忘了编号可以发送 /mycases 查看您的全部案件。"


def case_number_from(tracker: Tracker) -> str | None:
    entity = next(tracker.get_latest_entity_values("case_number"), None)
    return normalize_case_number(str(entity or tracker.latest_message.get("text") or ""))


def status_text(case: Case, reply: str | None) -> str:
    lines = [
        f"案件 {case.number}（{case.kind.label}）",
        f"状态：{case.status.label}",
        f"承办：{case.department or '热线分派中'}",
        f"办理期限：{format_date(case.deadline)}前",
        f"反映内容：{case.description[:60]}{'…' if len(case.description) > 60 else ''}",
    ]
    if reply:
        lines.append(f"最新答复：{reply}")
    return "\n".join(lines)


class ActionCaseStatus(Action):
    def name(self) -> str:
        return "action_case_status"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        number = case_number_from(tracker)
        if number is None:
            dispatcher.utter_message(text=ASK_NUMBER)
            return []
        res = await resources.get()
        try:
            case = await res.cases.case_for_citizen(number, citizen_id(tracker))
        except CaseNotFound:
            dispatcher.utter_message(text=NOT_FOUND.format(number=number))
            return []
        reply = await res.cases.latest_public_reply(case.id)
        buttons = []
        if case.status.is_open:
            buttons = [
                {"title": "补充情况", "payload": payload("supplement_case", case_number=number)},
                {"title": "撤回", "payload": payload("withdraw_case", case_number=number)},
            ]
        dispatcher.utter_message(text=status_text(case, reply), buttons=buttons or None)
        return []


class ActionMyCases(Action):
    def name(self) -> str:
        return "action_my_cases"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        res = await resources.get()
        cases = await res.cases.cases_of_citizen(citizen_id(tracker), limit=10)
        if not cases:
            dispatcher.utter_message(text="您在这里还没有提交过案件。要反映问题，直接告诉我情况就可以。")
            return []
        lines = ["您提交的案件（最新的在前）："]
        for case in cases:
            lines.append(f"{case.number}｜{case.kind.label}｜{case.status.label}｜"
                         f"{case.description[:16]}{'…' if len(case.description) > 16 else ''}")
        dispatcher.utter_message(
            text="\n".join(lines) + "\n点下面的编号查看详情。",
            buttons=[{"title": case.number, "payload": payload("check_status", case_number=case.number)}
                     for case in cases[:5]],
        )
        return []


class ActionStartCaseFollowup(Action):
    """Opens an addition (补充) or a withdrawal (撤回) of one of the citizen's open cases."""

    def name(self) -> str:
        return "action_start_case_followup"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        kind = "withdraw" if intent == "withdraw_case" else "supplement"
        number = case_number_from(tracker)
        res = await resources.get()
        try:
            case = await res.cases.case_for_citizen(number or "", citizen_id(tracker))
        except CaseNotFound:
            dispatcher.utter_message(text=NOT_FOUND.format(number=number or ""))
            return reset(FOLLOWUP_SLOTS)  # no case: the form asks nothing and ends
        if not case.status.is_open:
            dispatcher.utter_message(text=f"案件 {case.number} {case.status.label}，不能再补充或撤回。"
                                          "有新情况可以重新反映。")
            return reset(FOLLOWUP_SLOTS)
        return [SlotSet("followup_case", case.number), SlotSet("followup_kind", kind),
                SlotSet("followup_text", None)]


class ActionAskFollowupText(Action):
    def name(self) -> str:
        return "action_ask_followup_text"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        number = tracker.get_slot("followup_case")
        if tracker.get_slot("followup_kind") == "withdraw":
            dispatcher.utter_message(text=f"确定要撤回案件 {number} 吗？请写一下撤回的原因"
                                          "（例如「问题已经解决了」）。不撤回请发送 /cancel。")
        else:
            dispatcher.utter_message(text=f"请发送要补充到案件 {number} 的内容。不补充请发送 /cancel。")
        return []


class ValidateCaseFollowupForm(FormValidationAction):
    def name(self) -> str:
        return "validate_case_followup_form"

    async def required_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> list[str]:
        # Without a case to add to (not found, closed), there is nothing to ask.
        return domain_slots if tracker.get_slot("followup_case") else []

    async def validate_followup_text(self, value: Any, dispatcher: CollectingDispatcher,
                                     tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        text = clean_text(str(value or ""))
        if len(text) < 2:
            dispatcher.utter_message(text="内容太短了，请再写具体一点。")
            return {"followup_text": None}
        return {"followup_text": text[:2000]}


class ActionSubmitCaseFollowup(Action):
    def name(self) -> str:
        return "action_submit_case_followup"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        number = tracker.get_slot("followup_case")
        text = tracker.get_slot("followup_text")
        if not number or not text:
            return reset(FOLLOWUP_SLOTS)
        res = await resources.get()
        try:
            if tracker.get_slot("followup_kind") == "withdraw":
                await res.cases.withdraw(number, citizen_id(tracker), text)
                dispatcher.utter_message(text=f"案件 {number} 已撤回。以后有需要可以随时再反映。")
            else:
                key = f"followup:{tracker.sender_id}:{tracker.latest_message.get('message_id')}"
                await res.cases.supplement(number, citizen_id(tracker), text, source_key=key)
                dispatcher.utter_message(text=f"已补充到案件 {number}，工作人员会看到。")
        except (CaseNotFound, CaseClosed):
            dispatcher.utter_message(text=NOT_FOUND.format(number=number))
        except StoreError:
            dispatcher.utter_message(text="抱歉，系统出了点问题，没能保存，请稍后再试或拨打 12345。")
            return []
        return reset(FOLLOWUP_SLOTS)
