"""Emergencies are spotted; everyday complaints and policy questions are not."""

from __future__ import annotations

import pytest

from bot.emergency import EmergencyKind, detect


@pytest.mark.parametrize(("text", "kind"), [
    ("救命 我家厨房着火了", EmergencyKind.FIRE),
    ("楼下仓库烧起来了好大的烟", EmergencyKind.FIRE),
    ("家里煤气好像泄漏了怎么办", EmergencyKind.GAS),
    ("一进门就闻到天然气味", EmergencyKind.GAS),
    ("有人在撬门！！", EmergencyKind.CRIME),
    ("路口有个人拿着刀在追人", EmergencyKind.CRIME),
    ("我家孩子在公园不见了", EmergencyKind.CRIME),
    ("老公喝醉了在打我", EmergencyKind.VIOLENCE),
    ("小区门口有人打架 好几个人", EmergencyKind.VIOLENCE),
    ("我爸突然晕倒了叫不醒", EmergencyKind.MEDICAL),
    ("老太太喘不上气了", EmergencyKind.MEDICAL),
    ("我不想活了", EmergencyKind.SELF_HARM),
    ("活不下去了想去跳河", EmergencyKind.SELF_HARM),
])
def test_emergencies(text, kind):
    found = detect(text)
    assert found is not None and found.kind is kind
    assert any(n in found.advice for n in ("110", "119", "120"))


@pytest.mark.parametrize("text", [
    "晚上施工吵得要死，能不能管管",
    "热死了，公交站连个遮阳棚都没有",
    "想死你了小助手",
    "工伤认定需要什么材料，我上个月出了车祸",
    "火灾保险理赔找哪个部门",
    "他一直打我电话推销",
    "窗口工作人员上班时间在偷懒玩手机",
    "医保异地就医怎么备案",
    "小区楼下烧烤店油烟太大了",
    "我气炸了，物业根本不管事",
])
def test_not_emergencies(text):
    assert detect(text) is None
