"""The bulletin's charts, drawn with matplotlib as PNG files.

matplotlib's object API (a `Figure` with an Agg canvas, no pyplot), so charts can be drawn
in a worker thread of the bot. The Chinese font comes with the install (Debian's
fonts-wqy-microhei, which `scripts/setup.sh` installs; Noto CJK or Droid Sans Fallback
serve too) and is looked up on disk, so a font cache built before it was installed does
not hide it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

import matplotlib
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ft2font import FT2Font
from matplotlib.ticker import MaxNLocator

from bot.cases.alerts import Alert
from bot.insight.figures import KIND_LABELS, UNSET, Figures, Measures

# Font files with Simplified Chinese, best first (matched against the file's name).
CJK_FONT_FILES = ("wqymicrohei", "wqyzenhei", "notosanscjk", "notoserifcjk",
                  "droidsansfallback", "sourcehansans")
TYPE_COLOURS = dict(zip(KIND_LABELS, ("#4C78A8", "#F58518", "#E45756", "#72B7B2", "#B279A2"),
                        strict=True))
GOOD, BAD, NEUTRAL = "#54A24B", "#E45756", "#9D9D9D"
WEEKDAYS = "一二三四五六日"
DPI = 120
TOP_CATEGORIES = 10

# The charts of one bulletin, in the order they are sent.
CHART_FILES = ("intake.png", "categories.png", "departments.png", "hotspots.png")


class NoChineseFont(RuntimeError):
    """No font with Chinese characters is installed; the charts would show boxes."""


@lru_cache(maxsize=1)
def chinese_font() -> str:
    """The family name of an installed Chinese font, registered with matplotlib."""
    paths = font_manager.findSystemFonts()
    for key in CJK_FONT_FILES:
        for path in sorted(paths):
            if key not in Path(path).name.lower().replace("-", "").replace("_", ""):
                continue
            if FT2Font(path).get_char_index(ord("办")) == 0:
                continue
            font_manager.fontManager.addfont(path)
            return font_manager.FontProperties(fname=path).get_name()
    raise NoChineseFont("no Chinese font found: install fonts-wqy-microhei (scripts/setup.sh"
                        " does when it can) or fonts-noto-cjk")


def _style() -> dict:
    return {"font.family": [chinese_font(), "DejaVu Sans"], "axes.unicode_minus": False,
            "axes.spines.top": False, "axes.spines.right": False, "font.size": 10}


def _save(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=DPI)
    return path


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def words(figures: Figures) -> tuple[str, str]:
    """How the period and the one before are called: 本周 / 上周 for a week, else 本期 / 上期."""
    return ("本周", "上周") if figures.end - figures.start == timedelta(days=7) else ("本期", "上期")


def _period(figures: Figures) -> str:
    days = list(figures.intake_by_day)
    return f"{days[0]:%Y-%m-%d} 至 {days[-1]:%Y-%m-%d}" if days else ""


def intake_chart(figures: Figures, path: Path) -> Path:
    """The week's intake by type (both channels) and by day."""
    fig = Figure(figsize=(11, 4.6), layout="constrained")
    fig.suptitle(f"{words(figures)[0]}受理量（{_period(figures)}）", fontsize=14)
    by_type, by_day = fig.subplots(1, 2, width_ratios=(1, 1.6))
    channels = figures.intake_by_channel
    bottom = [0] * len(KIND_LABELS)
    for (channel, counts), colour in zip(channels.items(), ("#4C78A8", "#9ECAE9"), strict=True):
        values = [counts[label] for label in KIND_LABELS]
        by_type.bar(KIND_LABELS, values, bottom=bottom, color=colour, label=channel)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    for x, total in enumerate(bottom):
        by_type.annotate(str(total), (x, total), ha="center", va="bottom", fontsize=10)
    by_type.set_title("按类型（含机器人直接解答的咨询）")
    by_type.set_ylabel("件")
    by_type.legend(frameon=False, fontsize=9)
    by_type.set_ylim(0, max(1, *bottom) * 1.15)

    days = list(figures.intake_by_day)
    labels = [f"{d:%m-%d}\n周{WEEKDAYS[d.weekday()]}" for d in days]
    stacked = [0] * len(days)
    for label in KIND_LABELS:
        values = [figures.intake_by_day[d][label] for d in days]
        by_day.bar(labels, values, bottom=stacked, color=TYPE_COLOURS[label], label=label)
        stacked = [s + v for s, v in zip(stacked, values, strict=True)]
    for x, total in enumerate(stacked):
        by_day.annotate(str(total), (x, total), ha="center", va="bottom", fontsize=9)
    by_day.set_title("按日、按类型")
    by_day.legend(frameon=False, fontsize=9, ncols=5, loc="upper center",
                  bbox_to_anchor=(0.5, -0.18))
    by_day.set_ylim(0, max(1, max(stacked, default=0)) * 1.15)
    return _save(fig, path)


def top_categories(figures: Figures, previous: Figures,
                   limit: int = TOP_CATEGORIES) -> list[tuple[str, int, int]]:
    """(category, this week, last week) for the categories with the most cases this week."""
    rows = [(name, m.filed, previous.categories.get(name, Measures()).filed)
            for name, m in figures.categories.items() if m.filed]
    rows.sort(key=lambda r: (-r[1], r[0]))
    return rows[:limit]


def change_text(now: int, before: int) -> str:
    """环比 (week on week): +25.0%, -10.0%, 持平, or 新增 when last week had none."""
    if before == 0:
        return "新增" if now else "持平"
    change = (now - before) / before
    return "持平" if change == 0 else f"{change:+.1%}"


def categories_chart(figures: Figures, previous: Figures, path: Path) -> Path:
    """The top categories with their share of the week's cases and the change on last week."""
    rows = top_categories(figures, previous)
    this, last = words(figures)
    fig = Figure(figsize=(10, 1.2 + 0.48 * max(len(rows), 2)), layout="constrained")
    ax = fig.subplots()
    ax.set_title("受理量前十的分类：占比与环比", fontsize=14, loc="left")
    if not rows:
        ax.text(0.5, 0.5, f"{this}没有登记的案件", ha="center", va="center", fontsize=13)
        ax.set_axis_off()
        return _save(fig, path)
    names = [r[0] for r in reversed(rows)]
    ax.barh(names, [r[2] for r in reversed(rows)], height=0.35, align="edge", color=NEUTRAL,
            label=last)
    ax.barh(names, [r[1] for r in reversed(rows)], height=-0.35, align="edge", color="#4C78A8",
            label=this)
    total = figures.total.filed or 1
    widest = max(max(r[1], r[2]) for r in rows)
    for y, (_, now, before) in enumerate(reversed(rows)):
        change = change_text(now, before)
        colour = BAD if change.startswith("+") or change == "新增" else (
            GOOD if change.startswith("-") else "black")
        ax.annotate(f"{now} 件 · 占 {now / total:.1%} · 环比 {change}",
                    (max(now, before) + widest * 0.02, y), va="center", fontsize=9,
                    color=colour)
    ax.set_xlim(0, widest * 1.6)
    ax.set_xlabel("件")
    ax.legend(frameon=False, loc="lower right")
    return _save(fig, path)


def _ranked(measures: dict[str, Measures], rate: str, count: str) -> list[tuple[str, float, Measures]]:
    rows = [(name, getattr(m, rate), m) for name, m in measures.items()
            if getattr(m, count) and name != UNSET]
    rows.sort(key=lambda r: (-r[1], r[0]))
    return rows


def _short(name: str) -> str:
    return name.removeprefix("南通市")


def departments_chart(figures: Figures, path: Path) -> Path:
    """Departments ranked by on-time completion and by satisfaction; the late ones in red
    with their late and overdue cases counted."""
    on_time = _ranked(figures.departments, "on_time_rate", "resolved")
    this = words(figures)[0]
    satisfied = _ranked(figures.departments, "satisfaction_rate", "callbacks")
    overdue_only = [(name, m) for name, m in figures.departments.items()
                    if m.overdue and not m.resolved and name != UNSET]
    height = 1.6 + 0.42 * max(len(on_time) + len(overdue_only), len(satisfied), 2)
    fig = Figure(figsize=(12, height), layout="constrained")
    fig.suptitle("承办部门排名（按时办结率、满意率）：红色为有超期或逾期办结的部门",
                 fontsize=13)
    left, right = fig.subplots(1, 2)

    names = [_short(n) for n, _, _ in reversed(on_time)] + [_short(n) for n, _ in overdue_only]
    values = [r for _, r, _ in reversed(on_time)] + [0.0] * len(overdue_only)
    rows = [m for _, _, m in reversed(on_time)] + [m for _, m in overdue_only]
    colours = [BAD if (m.late or m.overdue) else GOOD for m in rows]
    if names:
        left.barh(names, values, color=colours)
        for y, (value, m) in enumerate(zip(values, rows, strict=True)):
            note = f"{_percent(value) if m.resolved else '无办结'}（办结 {m.resolved}"
            note += f"，逾期 {len(m.late)}" if m.late else ""
            note += f"，在办超期 {len(m.overdue)}" if m.overdue else ""
            left.annotate(note + "）", (value + 0.01, y), va="center", fontsize=9)
    else:
        left.text(0.5, 0.5, f"{this}没有办结的案件", ha="center", va="center",
                  transform=left.transAxes)
        left.set_yticks([])
    left.set_xlim(0, 1.75)
    left.set_xticks([0, 0.25, 0.5, 0.75, 1.0], ["0", "25%", "50%", "75%", "100%"])
    left.set_title("按时办结率")

    if satisfied:
        names = [_short(n) for n, _, _ in reversed(satisfied)]
        values = [r for _, r, _ in reversed(satisfied)]
        ms = [m for _, _, m in reversed(satisfied)]
        right.barh(names, values, color=[GOOD if v >= 0.9 else "#F58518" if v >= 0.7 else BAD
                                         for v in values])
        for y, (value, m) in enumerate(zip(values, ms, strict=True)):
            right.annotate(f"{_percent(value)}（有效回访 {m.callbacks}）", (value + 0.01, y),
                           va="center", fontsize=9)
    else:
        right.text(0.5, 0.5, f"{this}没有有效回访", ha="center", va="center",
                  transform=right.transAxes)
        right.set_yticks([])
    right.set_xlim(0, 1.6)
    right.set_xticks([0, 0.25, 0.5, 0.75, 1.0], ["0", "25%", "50%", "75%", "100%"])
    right.set_title("满意率（满意 + 基本满意）/ 有效回访")
    return _save(fig, path)


def alert_place(alert: Alert) -> str:
    """Where an alert is: its district and place, as far as known."""
    place = " ".join(part for part in (alert.district, alert.place) if part)
    return place or "地点不详"


def hotspots_chart(alerts: Sequence[Alert], path: Path, this: str = "本周") -> Path:
    """The week's hot spots: cases per alert, labelled with the place, category and summary."""
    fig = Figure(figsize=(11, 1.4 + 0.55 * max(len(alerts), 2)), layout="constrained")
    ax = fig.subplots()
    ax.set_title(f"{this}诉求热点（{len(alerts)} 处）", fontsize=14, loc="left")
    if not alerts:
        ax.text(0.5, 0.5, f"{this}没有热点预警", ha="center", va="center", fontsize=13)
        ax.set_axis_off()
        return _save(fig, path)
    shown = list(reversed(alerts))
    labels = [f"{alert_place(a)[:16]} · {a.category or '未分类'}" for a in shown]
    counts = [len(a.case_ids) for a in shown]
    ax.barh(range(len(shown)), counts, color=BAD)
    ax.set_yticks(range(len(shown)), labels)
    widest = max(counts)
    for y, alert in enumerate(shown):
        summary = alert.summary if len(alert.summary) <= 36 else alert.summary[:35] + "…"
        ax.annotate(f"{len(alert.case_ids)} 件：{summary}",
                    (len(alert.case_ids) + widest * 0.02, y), va="center", fontsize=9)
    ax.set_xlim(0, widest * 2.6)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("案件数")
    return _save(fig, path)


def draw_all(figures: Figures, previous: Figures, hot_spots: Sequence[Alert],
             folder: Path) -> list[Path]:
    """Every chart of the bulletin into `folder`, in `CHART_FILES` order."""
    folder.mkdir(parents=True, exist_ok=True)
    with matplotlib.rc_context(_style()):
        paths = [intake_chart(figures, folder / CHART_FILES[0]),
                 categories_chart(figures, previous, folder / CHART_FILES[1]),
                 departments_chart(figures, folder / CHART_FILES[2]),
                 hotspots_chart(hot_spots, folder / CHART_FILES[3], words(figures)[0])]
    return paths
