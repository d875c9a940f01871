"""Messages shared by the emergency tests: one per kind, and look-alikes, written for the tests
in a plain hurried voice (not taken from any training or evaluation file).
"""

from __future__ import annotations

from bot.safety.emergency import EmergencyKind as K

BY_KIND = {
    K.MEDICAL: "我爸倒在卫生间了 怎么喊都不睁眼",
    K.CHOKING: "孩子吃葡萄卡住喉咙了 脸都憋红了 咳不出来",
    K.POISONING: "我妈把一瓶农药喝了 现在在吐",
    K.SELF_HARM: "活着没意思 药都准备好了 今晚就走",
    K.MISSING: "我家三岁的孩子在超市门口不见了 找了二十分钟了",
    K.FIRE: "对面楼窗户往外冒黑烟 里面有人在喊",
    K.GAS: "一开门全是煤气味 呛得头晕",
    K.ELECTROCUTION: "我爸修灯的时候被电到了 人趴在地上不动",
    K.WATER: "有个小孩掉进河里了 在水里扑腾",
    K.TRAFFIC: "路口两辆车撞了 司机卡在车里出不来 满脸是血",
    K.WEAPON: "楼下有个男的拿着刀说要砍人",
    K.VIOLENCE: "隔壁男的又在打老婆 她一直喊救命",
}

# Look-alikes, each with what the bot should do instead: answer, offer filing, or chat.
LOOKALIKES = {
    "上周楼下着过一次火，早就灭了，现在楼道墙面熏黑了谁来刷": "case",
    "消防通道天天被私家车堵着，物业也不管": "case",
    "我爸上个月中风住院，现在出院了，医保能报多少": "answer",
    "工伤认定要什么材料，我前年从脚手架上摔下来过": "answer",
    "笑死我了 这个机器人还挺会聊": "smalltalk",
    "如果家里煤气泄漏了应该先做什么": "smalltalk",
}


def numbers_of(kind: K) -> list[str]:
    """The numbers the advice for `kind` must give."""
    from bot.safety.emergency import NUMBERS

    return [n for n in ("110", "119", "120", "122", "12356") if n in NUMBERS[kind]]
