"""Spotting emergencies, which go to 110 / 119 / 120 at once and never into the queue.

Plain patterns, no model: this runs in the bot before Rasa is asked (so it works
when Rasa is down) and in batch triage. It leans towards raising the alarm; a
citizen describing a past event can simply go on after the warning.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum


class EmergencyKind(StrEnum):
    FIRE = "fire"
    GAS = "gas"
    CRIME = "crime"
    VIOLENCE = "violence"
    MEDICAL = "medical"
    SELF_HARM = "self_harm"


_PATTERNS: dict[EmergencyKind, list[str]] = {
    EmergencyKind.FIRE: [
        r"着火", r"起火", r"失火", r"火灾", r"烧起来", r"冒(黑)?烟.{0,4}(着|起|火)",
        r"(房子|家里|楼里|车|厨房|仓库|店).{0,4}(烧着|在烧|着了)", r"爆炸",
    ],
    EmergencyKind.GAS: [
        r"(煤气|燃气|天然气|液化气).{0,6}(泄漏|泄露|漏了|漏气|味道很大|味很大|味道好重)",
        r"闻到.{0,4}(煤气|燃气|天然气)",
    ],
    EmergencyKind.CRIME: [
        r"抢劫", r"有人.{0,6}(偷东西|撬门|撬锁|砸车|砸店|砸门)", r"正在(偷|撬|砸)", r"绑架", r"劫持",
        r"杀人", r"持刀", r"拿着刀", r"砍人", r"有人.{0,6}(追|跟踪)我", r"被(人)?(抢|拐)",
        r"(小孩|孩子).{0,4}(丢了|不见了|被抱走)", r"(孩子|老人).{0,4}走失",
    ],
    EmergencyKind.VIOLENCE: [
        r"打我(?!电话|手机|的电话|号码)", r"殴打", r"家暴", r"有人(在)?打(人|架)", r"打起来了",
        r"(要|扬言).{0,4}杀(了)?我", r"威胁要(杀|砍|打)",
    ],
    EmergencyKind.MEDICAL: [
        r"(晕倒|昏倒|昏迷|休克|抽搐|没有?呼吸|没气了|心跳停|心脏骤停)",
        r"(大出血|流了很多血|血止不住)", r"(喘不上气|呼吸困难|胸口剧痛)",
        r"(中风|脑梗|心梗)(了|发作)", r"(吃|喝)了(农药|老鼠药|安眠药)", r"(溺水|落水|掉(进)?河里)",
        r"(触电|煤气中毒|一氧化碳中毒)",
    ],
    EmergencyKind.SELF_HARM: [
        r"(?<!得)(想|准备|打算)(去)?死(?!你|他|她|您|宝|了你)", r"(想|要|准备|打算)(去)?(自杀|轻生|跳楼|跳河|割腕)",
        r"不想活", r"活不下去", r"(结束|了结)(自己的)?生命", r"自杀", r"轻生",
    ],
}
_COMPILED = {kind: re.compile("|".join(pats)) for kind, pats in _PATTERNS.items()}

# Words that show the citizen is asking about rules, not living through an emergency.
_POLICY_CONTEXT = re.compile(r"(保险|报销|赔偿|理赔|补贴|认定|鉴定|待遇|政策|怎么办理|流程|工伤)")

ADVICE: dict[EmergencyKind, str] = {
    EmergencyKind.FIRE: "发生火灾或爆炸，请立即拨打 119！先撤离到安全地带，不要乘电梯，不要返回取物品。",
    EmergencyKind.GAS: (
        "闻到燃气味，请立即关闭燃气阀门、打开门窗通风，不要开关电器、不要打电话或点火，"
        "离开房间后到室外安全处拨打 119 或燃气公司抢修电话。"
    ),
    EmergencyKind.CRIME: "正在发生的违法犯罪或人员走失，请立即拨打 110 报警，并注意自身安全。",
    EmergencyKind.VIOLENCE: "遭遇暴力或人身威胁，请立即拨打 110 报警，先到安全的地方。",
    EmergencyKind.MEDICAL: "有人急病或受伤，请立即拨打 120 急救电话，说清地址和病人情况。",
    EmergencyKind.SELF_HARM: (
        "您现在的安全最要紧。请马上拨打 120 或 110，或者打全国心理援助热线 12356，"
        "也请告诉身边信任的人陪着您。您不是一个人，有人愿意帮您。"
    ),
}

FOOTER = (
    "\n\n12345 不处理紧急警情，我们不会把这条消息登记排队。"
    "如果不是正在发生的紧急情况，请继续描述您要反映或咨询的事情。"
)


@dataclass(frozen=True)
class Emergency:
    kind: EmergencyKind
    matched: str

    @property
    def advice(self) -> str:
        return ADVICE[self.kind] + FOOTER


def detect(text: str) -> Emergency | None:
    """The emergency `text` describes, or None."""
    folded = unicodedata.normalize("NFKC", text)
    # Self-harm first: it must never be mistaken for a policy question.
    order = [EmergencyKind.SELF_HARM, EmergencyKind.FIRE, EmergencyKind.GAS, EmergencyKind.CRIME,
             EmergencyKind.VIOLENCE, EmergencyKind.MEDICAL]
    for kind in order:
        match = _COMPILED[kind].search(folded)
        if match is None:
            continue
        if kind is not EmergencyKind.SELF_HARM and _POLICY_CONTEXT.search(folded):
            continue
        return Emergency(kind, match.group(0))
    return None
