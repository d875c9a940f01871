"""For the people who maintain the knowledge base: which entries citizens found unhelpful,
which questions found no entry, and the knowledge drafts waiting for review.

usage: make kb-report    (or: .venv/bin/python -m bot.knowledge.report [--limit N])
"""

from __future__ import annotations

import argparse
import asyncio

from bot.config import Settings
from bot.knowledge.drafts import DraftRefused, drafts_path, missing, open_drafts
from bot.knowledge.feedback import FeedbackStore
from bot.knowledge.loader import load_knowledge
from bot.safety.mask import mask_personal
from bot.store.db import open_database

ROUTES = {"fallback": "没有找到", "clarify_none": "候选都不对"}


async def report(settings: Settings, limit: int) -> str:
    db = await open_database(settings.database)
    try:
        store = FeedbackStore(db)
        unhelpful = await store.most_unhelpful(limit)
        misses = await store.top_misses(limit)
    finally:
        await db.close()
    kb = load_knowledge()
    lines = [f"最常被标为「没解决」的条目（前 {limit}）："]
    if not unhelpful:
        lines.append("  （暂无）")
    for row in unhelpful:
        entry = kb.get(row.entry_id)
        where = f"{entry.file}:{entry.line}" if entry else "（条目已删除）"
        lines.append(f"  {row.unhelpful:>4} 没解决 / {row.helpful:>4} 解决了  {row.entry_id}  {where}")
    lines.append("")
    lines.append(f"没有找到答案的问题（前 {limit}）：")
    if not misses:
        lines.append("  （暂无）")
    for miss in misses:
        lines.append(f"  {miss.count:>4} 次  [{ROUTES.get(miss.route, miss.route)}]  "
                     f"{mask_personal(miss.question)}")
    lines.append("")
    lines.extend(draft_lines(settings))
    return "\n".join(lines)


def draft_lines(settings: Settings) -> list[str]:
    """The open knowledge drafts, each with what it still needs."""
    path = drafts_path(settings)
    try:
        drafts = open_drafts(path)
    except DraftRefused as exc:
        return [f"待审核的知识库草稿：{exc}"]
    lines = [f"待审核的知识库草稿（{len(drafts)}，{path}）："]
    if not drafts:
        lines.append("  （暂无；make kb-drafts 从坐席答复生成）")
    for draft in drafts:
        entry = draft.get("entry") or {}
        todo = missing(draft)
        state = "可以收录" if not todo else "待补：" + "；".join(t.split("：")[0] for t in todo)
        lines.append(f"  {draft.get('draft')}  [{entry.get('topic')}]  "
                     f"{mask_personal(str(entry.get('question', '')))}  "
                     f"（{len(draft.get('cases') or ())} 个案件）  {state}")
    if drafts:
        lines.append("  编辑后 make kb-accept DRAFT=<编号> 收录，make kb-dismiss DRAFT=<编号> 关闭。")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limit", type=int, default=20)
    args = parser.parse_args()
    print(asyncio.run(report(Settings.from_env(), args.limit)))


if __name__ == "__main__":
    main()
