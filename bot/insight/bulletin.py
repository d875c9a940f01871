"""The weekly bulletin (周报): the figures of a period, last period's for comparison, the
early warnings raised in it, as Markdown and PNG charts in one folder.

`make bulletin` writes it (the last full week, Monday to Sunday in China, unless told
otherwise); a supervisor's `/bulletin` and the Monday-morning job send its charts.

    python -m bot.insight.bulletin [--week 2026-11-30 | --from 2026-11-01 --to 2026-11-30]
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from bot.cases.alerts import Alert, AlertKind
from bot.cases.deadlines import local_date
from bot.config import CHINA, ROOT, Settings
from bot.insight import charts, warnings
from bot.insight.figures import (
    CHANNEL_ANSWERS,
    KIND_LABELS,
    UNSET,
    Figures,
    Measures,
    compute,
)
from bot.store.db import Database, open_database, utcnow

OUT = ROOT / "build" / "bulletin"
OVERDUE_LISTED = 30
TITLE = "12345 热线周报"


@dataclass(frozen=True)
class Bulletin:
    start: datetime
    end: datetime
    figures: Figures
    previous: Figures
    alerts: tuple[Alert, ...]
    folder: Path
    markdown: Path
    charts: tuple[Path, ...]

    @property
    def period(self) -> str:
        return period_label(self.start, self.end)

    @property
    def caption(self) -> str:
        """The short text sent with the charts (Telegram allows 1,024 characters)."""
        t = self.figures.total
        hot = sum(a.kind is AlertKind.HOTSPOT for a in self.alerts)
        return (f"{TITLE}（{self.period}）\n"
                f"受理 {t.filed} 件，机器人直接解答 {self.figures.answered_directly} 件"
                f"（直接解答率 {percent(self.figures.direct_answer_rate)}）；"
                f"按时办结率 {percent(t.on_time_rate)}，满意率 {percent(t.satisfaction_rate)}"
                f"（有效回访 {t.callbacks} 件）；在办超期 {len(t.overdue)} 件；"
                f"预警 {len(self.alerts)} 条，其中热点 {hot} 处。")


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def period_label(start: datetime, end: datetime) -> str:
    last = local_date(end - timedelta(microseconds=1))
    return f"{local_date(start):%Y-%m-%d} 至 {last:%Y-%m-%d}"


def days_to_period(first: date, last: date) -> tuple[datetime, datetime]:
    """[first 00:00, the day after last 00:00), China time."""
    return (datetime.combine(first, time(), CHINA),
            datetime.combine(last + timedelta(days=1), time(), CHINA))


def week_of(day: date) -> tuple[datetime, datetime]:
    """The Monday-to-Sunday week (China time) that holds `day`."""
    monday = day - timedelta(days=day.weekday())
    return days_to_period(monday, monday + timedelta(days=6))


def last_full_week(now: datetime) -> tuple[datetime, datetime]:
    """The last Monday-to-Sunday week that has ended by `now`, China time."""
    return week_of(local_date(now) - timedelta(days=7))


async def week_alerts(db: Database, start: datetime, end: datetime) -> list[Alert]:
    """The early warnings raised in the period (bot.insight.warnings): the bulletin's one
    source of alerts."""
    return await warnings.alerts_between(db, start.astimezone(UTC), end.astimezone(UTC))


async def build(db: Database, start: datetime, end: datetime, out: Path = OUT,
                alerts: Sequence[Alert] | None = None) -> Bulletin:
    """Computes the period and the one before it, draws the charts and writes the Markdown
    into `out/<first day>_<last day>/`. `alerts` defaults to those recorded for the period."""
    figures = await compute(db, start, end)
    previous = await compute(db, start - (end - start), start)
    if alerts is None:
        alerts = await week_alerts(db, start, end)
    numbers = await _case_numbers(db, alerts)
    first, last = local_date(start), local_date(end - timedelta(microseconds=1))
    folder = out / f"{first:%Y-%m-%d}_{last:%Y-%m-%d}"
    hot_spots = [a for a in alerts if a.kind is AlertKind.HOTSPOT]
    paths = await asyncio.to_thread(charts.draw_all, figures, previous, hot_spots, folder)
    markdown = folder / "bulletin.md"
    bulletin = Bulletin(start, end, figures, previous, tuple(alerts), folder, markdown,
                        tuple(paths))
    markdown.write_text(render(bulletin, numbers), encoding="utf-8")
    return bulletin


async def _case_numbers(db: Database, alerts: Sequence[Alert]) -> dict[int, str]:
    ids = sorted({case_id for alert in alerts for case_id in alert.case_ids})
    if not ids:
        return {}
    marks = ", ".join("?" for _ in ids)
    rows = await db.fetchall(f"SELECT id, number FROM cases WHERE id IN ({marks})", tuple(ids))
    return {row["id"]: row["number"] for row in rows}


# ---- the Markdown ----------------------------------------------------------------------

def _change(now: float | None, before: float | None, points: bool = False) -> str:
    if now is None or before is None:
        return "—"
    if points:
        return f"{(now - before) * 100:+.1f} 个百分点"
    return f"{now - before:+g}"


def _table(head: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def _days(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def _group_rows(groups: dict[str, Measures], limit: int | None = None) -> list[list[object]]:
    ordered = sorted(groups.items(), key=lambda kv: (kv[0] == UNSET, -kv[1].filed, kv[0]))
    rows = []
    for name, m in ordered[:limit]:
        if not (m.filed or m.resolved or m.callbacks or m.overdue):
            continue
        rows.append([name, m.filed, percent(m.sign_for_rate), m.resolved, percent(m.on_time_rate),
                     percent(m.satisfaction_rate), m.callbacks, percent(m.reopen_rate),
                     percent(m.return_rate), _days(m.transfers_per_case), m.repeats,
                     _days(m.average_days), m.p90_days if m.p90_days is not None else "—",
                     len(m.overdue)])
    return rows


GROUP_HEAD = ("", "受理", "及时签收率", "办结", "按时办结率", "满意率", "有效回访", "重办率",
              "退单率", "转办/件", "重复诉求", "平均办理（工作日）", "P90", "在办超期")


def render(b: Bulletin, numbers: dict[int, str]) -> str:
    f, p = b.figures, b.previous
    this, last = charts.words(f)
    t, pt = f.total, p.total
    lines = [f"# {TITLE}（{b.period}）", "",
             (f"统计口径见 README「Figures」：数据截至 {local_date(b.end):%Y-%m-%d} 0 时（北京时间），"
              f"环比对照上一期（{period_label(p.start, p.end)}）。"), "",
             "## 总体情况", ""]
    lines += _table(("指标", this, last, "变化"), [
        ("受理（登记案件）", t.filed, pt.filed, _change(t.filed, pt.filed)),
        ("机器人直接解答", f.answered_directly, p.answered_directly,
         _change(f.answered_directly, p.answered_directly)),
        ("直接解答率", percent(f.direct_answer_rate), percent(p.direct_answer_rate),
         _change(f.direct_answer_rate, p.direct_answer_rate, points=True)),
        ("及时签收率", percent(t.sign_for_rate), percent(pt.sign_for_rate),
         _change(t.sign_for_rate, pt.sign_for_rate, points=True)),
        ("按时办结率", percent(t.on_time_rate), percent(pt.on_time_rate),
         _change(t.on_time_rate, pt.on_time_rate, points=True)),
        ("有效回访", t.callbacks, pt.callbacks, _change(t.callbacks, pt.callbacks)),
        ("回访综合满意率", percent(t.satisfaction_rate), percent(pt.satisfaction_rate),
         _change(t.satisfaction_rate, pt.satisfaction_rate, points=True)),
        ("重办率", percent(t.reopen_rate), percent(pt.reopen_rate),
         _change(t.reopen_rate, pt.reopen_rate, points=True)),
        ("退单率", percent(t.return_rate), percent(pt.return_rate),
         _change(t.return_rate, pt.return_rate, points=True)),
        ("每件转办次数", _days(t.transfers_per_case), _days(pt.transfers_per_case), ""),
        ("重复诉求", t.repeats, pt.repeats, _change(t.repeats, pt.repeats)),
        ("平均办理时长（工作日）", _days(t.average_days), _days(pt.average_days), ""),
        ("办理时长 P90（工作日）", t.p90_days if t.p90_days is not None else "—",
         pt.p90_days if pt.p90_days is not None else "—", ""),
        ("在办超期（期末）", len(t.overdue), len(pt.overdue), _change(len(t.overdue), len(pt.overdue))),
    ])

    lines += ["", "## 受理情况", "", f"![{this}受理量]({charts.CHART_FILES[0]})", ""]
    by_channel = f.intake_by_channel
    lines += _table(("渠道", *KIND_LABELS, "合计"), [
        *([name, *counts.values(), sum(counts.values())] for name, counts in by_channel.items()),
        ["合计", *f.intake_by_type.values(), sum(f.intake_by_type.values())]])
    lines += ["", (f"「{CHANNEL_ANSWERS}」为机器人解答、市民 24 小时内未点「没解决」也未登记诉求的政策咨询；"
                   f"政策咨询共 {f.policy_questions} 个，直接解答 {f.answered_directly} 个。")]

    lines += ["", "## 分类前十（占比、环比）", "", f"![分类前十]({charts.CHART_FILES[1]})", ""]
    top = charts.top_categories(f, p)
    lines += _table(("分类", this, "占比", last, "环比"), [
        (name, now, percent(now / t.filed if t.filed else None), before,
         charts.change_text(now, before)) for name, now, before in top]) if top else [f"{this}没有登记的案件。"]

    lines += ["", "## 承办部门", "", f"![部门排名]({charts.CHART_FILES[2]})", ""]
    rows = _group_rows(f.departments)
    lines += _table(("部门", *GROUP_HEAD[1:]), rows) if rows else [f"{this}没有部门数据。"]
    named = [(name, m) for name, m in sorted(f.departments.items()) if m.late or m.overdue]
    if named:
        lines += ["", "逾期办结和在办超期的部门："]
        for name, m in named:
            parts = []
            if m.late:
                parts.append(f"逾期办结 {len(m.late)} 件（{'、'.join(m.late[:10])}"
                             f"{' 等' if len(m.late) > 10 else ''}）")
            if m.overdue:
                parts.append(f"在办超期 {len(m.overdue)} 件（{'、'.join(c.number for c in m.overdue[:10])}"
                             f"{' 等' if len(m.overdue) > 10 else ''}）")
            lines.append(f"- **{name}**：{'；'.join(parts)}")

    lines += ["", "## 各区（县、市）", ""]
    rows = _group_rows(f.districts)
    lines += _table(("区域", *GROUP_HEAD[1:]), rows) if rows else [f"{this}没有区域数据。"]

    lines += ["", "## 诉求热点与预警", "", f"![诉求热点]({charts.CHART_FILES[3]})", ""]
    if b.alerts:
        for alert in b.alerts:
            cases = "、".join(numbers.get(i, str(i)) for i in alert.case_ids[:12])
            more = " 等" if len(alert.case_ids) > 12 else ""
            acked = "已确认" if alert.acked_by else "待确认"
            lines.append(f"- 【{alert.kind.label}】{alert.raised_at.astimezone(CHINA):%m-%d %H:%M} "
                         f"{charts.alert_place(alert)} · {alert.category or '未分类'}："
                         f"{alert.summary}（{len(alert.case_ids)} 件：{cases}{more}；{acked}）")
    else:
        lines.append(f"{this}没有预警。")

    lines += ["", f"## 在办超期案件（截至期末，{len(t.overdue)} 件）", ""]
    if t.overdue:
        lines += _table(("编号", "类型", "分类", "承办部门", "区域", "期限", "超期天数", "认领人"), [
            (c.number, c.kind, c.category, c.department, c.district, c.deadline.isoformat(),
             c.days_over, c.assignee or "无") for c in t.overdue[:OVERDUE_LISTED]])
        if len(t.overdue) > OVERDUE_LISTED:
            lines.append(f"\n另有 {len(t.overdue) - OVERDUE_LISTED} 件未列出。")
    else:
        lines.append("没有超期在办的案件。")
    return "\n".join(lines) + "\n"


# ---- make bulletin ---------------------------------------------------------------------

def period_from_args(week: str | None, first: str | None, last: str | None,
                     now: datetime) -> tuple[datetime, datetime]:
    """--week (any day of it), --from/--to (dates, both included), or the last full week."""
    if week:
        return week_of(date.fromisoformat(week))
    if first or last:
        if not (first and last):
            raise SystemExit("bulletin: --from and --to go together (YYYY-MM-DD, both included)")
        start, end = date.fromisoformat(first), date.fromisoformat(last)
        if end < start:
            raise SystemExit("bulletin: --to is before --from")
        return days_to_period(start, end)
    return last_full_week(now)


async def _main(args: argparse.Namespace) -> Bulletin:
    start, end = period_from_args(args.week, args.first, args.last, utcnow())
    db = await open_database(Settings.from_env().database)
    try:
        return await build(db, start, end, Path(args.out))
    finally:
        await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="Writes the weekly bulletin (Markdown + PNG).")
    parser.add_argument("--week", help="a day of the week wanted (Monday to Sunday, China)")
    parser.add_argument("--from", dest="first", help="first day, YYYY-MM-DD")
    parser.add_argument("--to", dest="last", help="last day, YYYY-MM-DD (included)")
    parser.add_argument("--out", default=str(OUT), help="folder for the bulletins")
    bulletin = asyncio.run(_main(parser.parse_args()))
    print(bulletin.caption)
    print(bulletin.markdown)
    for path in bulletin.charts:
        print(path)


if __name__ == "__main__":
    main()
