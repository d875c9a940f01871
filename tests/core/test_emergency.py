"""Emergencies are spotted with the right kind and advice; everyday messages are not."""

from __future__ import annotations

import pytest

from bot.nlp.emergency import assess, load_examples
from bot.safety.emergency import EmergencyKind, Level
from bot.safety.mask import mask_personal

K = EmergencyKind


@pytest.mark.parametrize(("text", "kind"), [
    ("救命 我家厨房着火了", K.FIRE),
    ("楼下仓库烧起来了好大的烟", K.FIRE),
    ("家里煤气好像泄漏了怎么办", K.GAS),
    ("一进门就闻到天然气味", K.GAS),
    ("有人在撬门！！", K.WEAPON),
    ("路口有个人拿着刀在追人", K.WEAPON),
    ("我家孩子在公园不见了", K.MISSING),
    ("老公喝醉了在打我", K.VIOLENCE),
    ("我爸突然晕倒了叫不醒", K.MEDICAL),
    ("老太太喘不上气了 嘴唇都紫了", K.MEDICAL),
    ("我不想活了", K.SELF_HARM),
    ("活不下去了想去跳河", K.SELF_HARM),
])
def test_emergencies(text, kind):
    found = assess(text)
    assert found.alarming and found.kind is kind
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
    "去年冬天家里着过一次火，早灭了，保险能赔吗",
    "消防通道总被私家车占着",
])
def test_not_emergencies(text):
    assert not assess(text).alarming


def test_a_sign_in_a_past_event_is_kept_for_review_not_alarmed():
    found = assess("前年我在工地从脚手架上摔下来过，现在工伤待遇怎么算")
    assert found.level in (Level.NEAR_MISS, Level.NONE)


def test_advice_says_12345_does_not_dispatch_and_gives_the_steps():
    gas = assess("屋里全是煤气味 头晕").advice
    assert "119" in gas and "室外" in gas and "不要开关电灯" in gas
    shock = assess("我老公被电到了 人倒在地上不动").advice
    assert "120" in shock and "切断电源" in shock
    for advice in (gas, shock):
        assert "12345 热线不能派出救援" in advice


def test_the_training_files_are_well_formed_and_balanced():
    positives, negatives = load_examples()
    kinds = {kind for _, kind in positives}
    assert kinds == {kind.value for kind in K}
    assert len(positives) >= 300 and len(negatives) >= len(positives) * 0.8


@pytest.mark.parametrize(("text", "masked"), [
    ("电话13912345678", "电话139****5678"),
    ("电话 139 1234 5678", "电话 139****5678"),
    ("座机0513-85551234", "座机0513****1234"),
    ("身份证320602199001011234", "身份证3206**********1234"),
    ("证号 32060219900101123X 谢谢", "证号 3206**********123X 谢谢"),
    ("案件NT202612070001", "案件NT202612070001"),
])
def test_one_mask_for_phone_and_id_numbers(text, masked):
    assert mask_personal(text) == masked


def test_how_the_readers_are_weighed():
    from bot.safety.emergency import Reading, decide

    unsure = Reading(0.6, K.SELF_HARM, 0.0)
    assert decide("心里好难受", unsure).level is Level.NEAR_MISS  # too short to tell, no sign
    assert decide("心里好难受，什么都不想做了", unsure).level is Level.DOUBT
    sure = Reading(0.9, K.MEDICAL, 0.0)
    assert decide("他倒在地上了", sure).level is Level.EMERGENCY
    calm = Reading(0.2, K.FIRE, 0.8)
    past = decide("上周楼下着火了，现在墙熏黑了", calm)
    assert past.level is Level.NEAR_MISS and "past" in past.calm and "learned" in past.calm
    sign = decide("楼道里全是烟", Reading(0.35, K.FIRE, 0.1))
    assert (sign.level, sign.kind) == (Level.EMERGENCY, K.FIRE)
    # A sign names the cause: a choking child is a choking, not only trouble breathing.
    cause = decide("孩子卡住喉咙了，喘不上气", Reading(0.9, K.MEDICAL, 0.0))
    assert cause.kind is K.CHOKING
