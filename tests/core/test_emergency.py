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


class _Fixed:
    """A reader that gives every text the same reading except where told otherwise."""

    def __init__(self, default, **by_word):
        self.default, self.by_word = default, by_word

    def read(self, texts):
        from bot.safety.emergency import Reading

        result = []
        for text in texts:
            found = next((r for word, r in self.by_word.items() if word in text), None)
            result.append(found or Reading(*self.default))
        return result


def test_a_danger_that_breaks_into_an_errand_is_read_clause_by_clause():
    from bot.safety.emergency import Reading, assess_many, sign_windows

    text = ("你好 我想问下上次反映的物业费怎么收 归谁管 然后我刚下楼 看见门口一个人躺地上不动了 "
            "喊他也没反应 脸都青了")
    # Read whole, the errand's cues (上次, 怎么收, 归谁管) and a calm model hold the sign back.
    reader = _Fixed((0.3, K.MEDICAL, 0.6))
    windows = sign_windows(text)
    assert windows and all("物业费" not in w for w in windows[-1:])
    found = assess_many([text], reader)[0]
    assert found.alarming and found.kind is K.MEDICAL
    # The same clauses in a message that says it is over stay quiet.
    over = text.replace("刚下楼", "下楼") + " 后来救护车拉走了 人没事"
    assert not assess_many([over], reader)[0].alarming
    # A long letter's clauses without a word of now give at most the number first.
    letter = "上个月 我们厂 有个工人 从脚手架上摔下来 老板 不给 报工伤 怎么办"
    assert assess_many([letter], _Fixed((0.9, K.MEDICAL, 0.0), 老板=Reading(0.1, K.MEDICAL, 0.9)))[0] \
        .level is not Level.EMERGENCY


def test_a_retraction_or_an_all_clear_is_not_an_emergency():
    from bot.safety.emergency import Reading, decide

    model_alarmed = Reading(0.8, K.WATER, 0.0)
    assert decide("有人掉河里了 快来人", model_alarmed).level is Level.EMERGENCY
    for text in ("刚才说的那个人没有掉河里 是我看错了", "孩子找到了 不用派人了", "虚惊一场 是误会"):
        assert not decide(text, model_alarmed).alarming, text


def test_a_farewell_counts_only_beside_a_danger_or_another_farewell():
    from bot.safety.emergency import Reading, decide

    quiet = Reading(0.2, K.MEDICAL, 0.0)
    assert not decide("我就是跟你们说一声 社保卡已经办好了", quiet).alarming
    pills = decide("一整瓶安眠药都吞了 就是跟你们说一声", quiet)
    assert pills.alarming and pills.kind is K.SELF_HARM and "farewell" in pills.signs
    gone = decide("我在河边 这是最后一次麻烦你们了", quiet)
    assert gone.alarming and gone.kind is K.SELF_HARM
    # Near water alone, or rescuing someone there, is not self-harm.
    assert decide("我在河边看到有人落水了", Reading(0.9, K.WATER, 0.0)).kind is K.WATER


def test_until_now_is_not_now():
    from bot.safety.emergency import assess_many

    text = ("上个月 在小区门口 跟邻居打架 被打伤了 鼻梁骨折 派出所到现在也没处理 "
            "打架受伤 能不能走医保")
    found = assess_many([text], _Fixed((0.1, K.VIOLENCE, 0.5)))[0]
    assert not found.alarming, found
    # The same clauses with a danger now are answered.
    now = text.replace("派出所到现在也没处理", "他们现在又在打我")
    assert assess_many([now], _Fixed((0.1, K.VIOLENCE, 0.5)))[0].alarming
