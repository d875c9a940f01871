"""How cases look to staff and what citizens are told when their case changes.

Plain text only (no parse mode), so nothing a citizen typed can be read as markup.
"""

from __future__ import annotations

from datetime import date

from bot.cases.deadlines import CHINA, format_date
from bot.cases.models import Case, CaseEvent
from bot.safety.mask import mask_personal
from bot.store.outbox import Button, Buttons

SUMMARY_LENGTH = 120

RATINGS = {"1": "满意", "2": "基本满意", "3": "不满意"}
UNHAPPY = "3"

EVENT_LABELS = {
    "filed": "市民提交",
    "claimed": "认领",
    "replied": "答复市民",
    "noted": "内部备注",
    "transferred": "转办",
    "categorized": "确定分类",
    "returned": "退单",
    "resolved": "办结",
    "reopened": "重办",
    "supervised": "督办",
    "supplemented": "市民补充",
    "withdrawn": "市民撤回",
    "citizen_message": "市民留言",
    "handoff_released": "结束人工对话",
    "handoff_taken": "接管人工对话",
    "callback": "回访评价",
    "callback_comment": "回访意见",
    "callback_not_reached": "回访未联系上",
    "deadline_reminder": "到期提醒",
    "overdue_alert": "超期督办",
    "pingpong_flag": "推诿提醒",
    "marked": "标记",
    "repeat_flagged": "重复诉求",
    "alert_acked": "督办员确认预警",
}

# A case's mark (bot/cases/sensitive.py) and repeat rules, as staff read them.
MARK_LABELS = {"sensitive": "敏感件", "urgent": "紧急件"}
REPEAT_LABELS = {"citizen": "同一市民30天内多次反映", "place": "同一地点多人反映"}


# Why a live conversation ended, as staff read it (the history stores the code).
HANDOFF_ENDINGS = {"released": "坐席结束对话", "idle": "双方长时间无消息，自动交回机器人"}

# The fields a merged filing may add, as staff read them in the history.
MERGED_LABELS = {"district": "区县：", "address": "地点：", "happened": "时间：", "phone": "电话："}


def short(text: str, length: int = SUMMARY_LENGTH, *, whole: bool = False) -> str:
    """One line of at most `length` characters; phone and ID numbers masked unless `whole`."""
    text = " ".join((text if whole else mask_personal(text)).split())
    return text if len(text) <= length else text[: length - 1] + "…"


def deadline_text(case: Case, today: date) -> str:
    text = format_date(case.deadline)
    if case.status.is_open and case.deadline < today:
        return f"{text} ⚠️已超期"
    return text


def phone_text(case: Case, whole: bool) -> str:
    if case.anonymous or not case.phone:
        return "匿名（只能通过机器人答复）"
    return case.phone if whole else case.masked_phone


def card(case: Case) -> str:
    """The new-case card for the agents' group (phone masked)."""
    place = " ".join(p for p in (case.district, case.address) if p) or "未说明"
    mark = f"【{MARK_LABELS[case.mark]}】" if case.mark in MARK_LABELS else ""
    return (
        f"【新案件】{mark}{case.number}\n"
        f"类型：{case.kind.label}｜分类：{case.category or '待定'}\n"
        f"建议部门：{case.department or '待定'}\n"
        f"地点：{place}\n"
        f"期限：{format_date(case.deadline)}\n"
        f"电话：{phone_text(case, whole=False)}\n"
        f"内容：{short(case.description)}"
        + suggestions_text(case)
    )


def suggestions_text(case: Case) -> str:
    if not case.suggestions:
        return ""
    return (f"\n分类建议（模型 {case.model_version or '未知'}）："
            + " / ".join(case.suggestions) + "\n点下面的分类确认，或 /category 编号 分类 更正")


# What the buttons on cases and callbacks do (bot.store.outbox.Button's `action`).
CLAIM, TRANSFER, DETAIL, RATE, CATEGORY = "claim", "transfer", "detail", "rate", "category"
# A suggestion's place on the card, as the button's target says it ("NT…:second").
PLACES = ("first", "second", "third")


def card_buttons(case: Case) -> Buttons:
    rows = [[Button("认领", CLAIM, case.number), Button("转办", TRANSFER, case.number),
             Button("详情", DETAIL, case.number)]]
    if case.suggestions:
        rows.append([Button(category, CATEGORY, f"{case.number}:{place}")
                     for category, place in zip(case.suggestions, PLACES, strict=False)])
    return rows


def detail(case: Case, events: list[CaseEvent], today: date, *, whole_phone: bool) -> str:
    """Everything about a case for staff; the whole phone (and numbers the citizen typed)
    only when `whole_phone`."""
    lines = [
        f"案件 {case.number}（{case.status.label}）",
        f"类型：{case.kind.label}｜分类：{case.category or '待定'}",
        f"部门：{case.department or '待定'}",
        *([f"标记：{MARK_LABELS[case.mark]}"] if case.mark in MARK_LABELS else []),
        *([f"重复诉求：{'；'.join(REPEAT_LABELS[r] for r in case.repeat_flag.split(','))}"]
          if case.repeat_flag else []),
        *([f"分类建议（模型 {case.model_version or '未知'}）：{' / '.join(case.suggestions)}"]
          if case.suggestions else []),
        f"地点：{' '.join(p for p in (case.district, case.address) if p) or '未说明'}",
        f"发生时间：{case.happened or '未说明'}",
        f"期限：{deadline_text(case, today)}",
        f"认领人：{case.assignee_name or '无'}",
        f"电话：{phone_text(case, whole_phone)}",
        f"内容：{short(case.description, 600, whole=whole_phone)}",
        "",
        "办理记录：",
    ]
    for event in events[-15:]:
        when = event.at.astimezone(CHINA).strftime("%m-%d %H:%M")
        text = event.detail.get("text") or event.detail.get("reason") or ""
        if event.kind == "handoff_released":
            text = HANDOFF_ENDINGS.get(text, text)
        extra = ""
        if event.kind == "transferred":
            extra = f"→{event.detail.get('to')}"
        elif event.kind == "categorized":
            extra = f"→{event.detail.get('to')}（{event.detail.get('name') or ''}）"
        elif event.kind == "callback":
            extra = RATINGS.get(str(event.detail.get("rating")), "")
        elif event.kind == "marked":
            extra = MARK_LABELS.get(event.detail.get("mark"), "")
        elif event.kind == "repeat_flagged":
            extra = REPEAT_LABELS.get(event.detail.get("rule"), "")
            text = text or "、".join(event.detail.get("cases") or [])
        elif event.kind == "supplemented":
            text = "；".join([text, *(f"{MERGED_LABELS[k]}{event.detail[k]}"
                                     for k in MERGED_LABELS if event.detail.get(k))])
        line = f"• {when} {EVENT_LABELS.get(event.kind, event.kind)}{extra}"
        lines.append(f"{line}：{short(text, 80, whole=whole_phone)}" if text else line)
    return "\n".join(lines)


def queue_line(case: Case, today: date) -> str:
    holder = f"｜{case.assignee_name}" if case.assignee_name else "｜未认领"
    return (f"{case.number}｜{case.kind.label}｜{case.status.label}{holder}\n"
            f"   期限 {deadline_text(case, today)}｜{short(case.description, 30)}")


# ---- what the citizen is told ---------------------------------------------------------

def to_citizen_reply(case: Case, text: str) -> str:
    return (f"【12345 工作人员回复】关于您反映的事项（{case.number}）：\n{text}\n\n"
            "如需补充或回复，直接发消息给我即可，工作人员会看到。")


def to_citizen_transferred(case: Case, department: str) -> str:
    return (f"您反映的事项（{case.number}）已转交 {department} 办理，"
            f"办理期限 {format_date(case.deadline)}。办理结果会在这里告诉您。")


def to_citizen_resolved(case: Case, text: str) -> str:
    return (f"【办结通知】您反映的事项（{case.number}）已办结。\n办理结果：{text}\n\n"
            "请您对这次办理做个评价：")


def rating_buttons(callback_id: int) -> Buttons:
    """满意 / 基本满意 / 不满意; the target is the callback and the rating."""
    return [[Button(label, RATE, f"{callback_id}:{key}") for key, label in RATINGS.items()]]


def to_citizen_reopened(case: Case) -> str:
    return (f"您反映的事项（{case.number}）已重新办理（重办），"
            f"新的办理期限是 {format_date(case.deadline)}。")


def to_citizen_released(case: Case) -> str:
    return (f"工作人员已结束关于 {case.number} 的对话。之后的消息将由机器人先回复；"
            f"查询进度请发送「查询 {case.number}」。")
