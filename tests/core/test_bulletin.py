"""The weekly bulletin: its period, its Markdown from a known history, and charts whose
Chinese renders with an installed font (no missing-glyph boxes)."""

from __future__ import annotations

import warnings
from datetime import UTC, date, datetime
from pathlib import Path

import matplotlib
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot.cases.alerts import Alert, AlertKind
from bot.config import CHINA
from bot.insight import bulletin, charts
from tests.core.test_figures import END, START, build_history, world  # noqa: F401

PNG = b"\x89PNG\r\n\x1a\n"


def test_a_chinese_font_comes_with_the_install():
    family = charts.chinese_font()  # raises NoChineseFont: the test fails, it is not skipped
    assert family
    path = matplotlib.font_manager.findfont(family, fallback_to_default=False)
    assert matplotlib.ft2font.FT2Font(path).get_char_index(ord("热")) != 0


def missing_glyphs(draw) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        draw()
    return [str(w.message) for w in caught if "missing from font" in str(w.message)]


def test_a_font_without_chinese_would_be_caught(tmp_path: Path):
    """The check below can fail: DejaVu Sans alone draws 热线 as boxes, and says so."""
    def draw() -> None:
        with matplotlib.rc_context({"font.family": ["DejaVu Sans"]}):
            fig = Figure()
            FigureCanvasAgg(fig)
            fig.text(0.5, 0.5, "热线")
            fig.savefig(tmp_path / "boxes.png")
    assert missing_glyphs(draw)


def week(month: int, day: int) -> tuple[datetime, datetime]:
    return (datetime(2026, month, day, tzinfo=CHINA),
            datetime(2026, month, day, tzinfo=CHINA) + (END - START))


def test_the_period_is_the_last_full_week_in_china_time():
    # Monday 2026-12-07 08:30 in China is 00:30 UTC: last week is 11-30 … 12-06.
    assert bulletin.last_full_week(datetime(2026, 12, 7, 0, 30, tzinfo=UTC)) == (START, END)
    # Sunday 12-06 23:30 in China (15:30 UTC) still belongs to that week: the last full one
    # is the week before.
    assert bulletin.last_full_week(datetime(2026, 12, 6, 15, 30, tzinfo=UTC)) == week(11, 23)
    assert bulletin.week_of(date(2026, 12, 3)) == (START, END)
    now = datetime(2026, 12, 9, tzinfo=UTC)
    assert bulletin.period_from_args("2026-12-06", None, None, now) == (START, END)
    assert bulletin.period_from_args(None, "2026-11-01", "2026-11-30", now) == (
        datetime(2026, 11, 1, tzinfo=CHINA), datetime(2026, 12, 1, tzinfo=CHINA))
    assert bulletin.period_from_args(None, None, None, now) == (START, END)
    with pytest.raises(SystemExit):
        bulletin.period_from_args(None, "2026-11-01", None, now)


async def test_the_bulletin_of_a_known_week(db, clock, world, tmp_path: Path):
    numbers = await build_history(db, clock, world)
    ids = {row["number"]: row["id"] for row in await db.fetchall("SELECT id, number FROM cases")}
    hot = Alert(id=1, kind=AlertKind.HOTSPOT, key="hotspot:1",
                raised_at=datetime(2026, 12, 2, 3, tzinfo=UTC),
                summary="文峰路餐馆油烟直排，多名居民反映", district="崇川区", category="环境保护",
                place="文峰路", case_ids=(ids[numbers["A"]], ids[numbers["P"]]))
    sensitive = Alert(id=2, kind=AlertKind.SENSITIVE, key="sensitive:9",
                      raised_at=datetime(2026, 12, 3, 1, tzinfo=UTC), summary="拖欠多名工人工资",
                      district="海门区", case_ids=(ids[numbers["B"]],))
    with warnings.catch_warnings(record=True) as caught:  # the charts draw in a thread
        warnings.simplefilter("always")
        made = await bulletin.build(db, START, END, tmp_path, alerts=[hot, sensitive])
    assert [str(w.message) for w in caught if "missing from font" in str(w.message)] == []

    assert made.folder == tmp_path / "2026-11-30_2026-12-06"
    assert [p.name for p in made.charts] == list(charts.CHART_FILES)
    for path in made.charts:
        data = path.read_bytes()
        assert data.startswith(PNG) and len(data) > 10_000
    text = made.markdown.read_text(encoding="utf-8")
    # The figures of tests/core/test_figures.py, this week against the week before.
    assert "# 12345 热线周报（2026-11-30 至 2026-12-06）" in text
    assert "| 受理（登记案件） | 5 | 3 | +2 |" in text
    assert "| 直接解答率 | 50.0% | 100.0% | -50.0 个百分点 |" in text
    assert "| 按时办结率 | 75.0% | 100.0% | -25.0 个百分点 |" in text
    assert "| 回访综合满意率 | 66.7% | — | — |" in text
    assert "| Telegram 登记 | 1 | 1 | 1 | 1 | 1 | 5 |" in text
    assert "| 智能问答 | 3 | 0 | 0 | 0 | 0 | 3 |" in text
    assert "| 环境保护 | 2 | 40.0% | 2 | 持平 |" in text
    assert "| 交通运输 | 1 | 20.0% | 0 | 新增 |" in text
    assert (f"- **南通市住房和城乡建设局**：逾期办结 1 件（{numbers['C']}）；"
            f"在办超期 1 件（{numbers['O']}）") in text
    assert (f"【热点预警】12-02 11:00 崇川区 文峰路 · 环境保护：文峰路餐馆油烟直排，多名居民反映"
            f"（2 件：{numbers['A']}、{numbers['P']}；待确认）") in text
    assert "【敏感件】" in text
    assert f"| {numbers['O']} | 咨询 | 城乡建设 | 南通市住房和城乡建设局 | 海门区 | 2026-12-04 | 3 | 王小丽 |" in text
    for name in charts.CHART_FILES:
        assert f"]({name})" in text
    assert made.caption == (
        "12345 热线周报（2026-11-30 至 2026-12-06）\n受理 5 件，机器人直接解答 3 件（直接解答率 50.0%）；"
        "按时办结率 75.0%，满意率 66.7%（有效回访 3 件）；在办超期 1 件；预警 2 条，其中热点 1 处。")


async def test_an_empty_week_still_has_every_chart(db, tmp_path: Path):
    made = await bulletin.build(db, START, END, tmp_path, alerts=[])
    assert all(p.read_bytes().startswith(PNG) for p in made.charts)
    assert "本周没有预警。" in made.markdown.read_text(encoding="utf-8")
