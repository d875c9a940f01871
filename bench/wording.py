"""Benchmark questions said a little differently each time, as citizens say them.

The action server keeps the sentence vectors of the texts it read last
(`bot.nlp.vectors.RECENT_VECTORS`), so a benchmark that repeats a dozen fixed questions
would measure that memory, not the turn. Each question drawn here gets one of 10 openings,
8 circumstances and 10 endings (800 wordings a question), so a repeat is as rare as in a
real queue; greetings and status look-ups stay as they are, since citizens repeat those.
"""

from __future__ import annotations

import random

OPENINGS = ["", "你好，", "请问", "想问下", "麻烦问一下，", "同志，", "您好 我想咨询", "打扰了，",
            "师傅问个事，", "咨询一下，"]
CIRCUMSTANCES = ["", "我是退休的，", "家里老人让我问，", "我在外地打工，", "刚换了工作，",
                 "孩子让我来问，", "我一直在这边上班，", "之前没办过，"]
ENDINGS = ["", "？", "呢", "啊", "，谢谢", "？急", " 在线等", "呀", "，麻烦了", "？？"]
# Said as they are: nothing to reword.
AS_IS = {"你好", "谢谢", "好的", "我的案件办得怎么样了"}


def varied(rng: random.Random, question: str) -> str:
    """`question` with an opening, a circumstance and an ending drawn by `rng`."""
    if question in AS_IS:
        return question
    return f"{rng.choice(OPENINGS)}{rng.choice(CIRCUMSTANCES)}{question}{rng.choice(ENDINGS)}"
