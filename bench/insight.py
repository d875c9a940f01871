"""Early warning and the figures at scale: 100,000 synthetic cases over a year with known
planted clusters.

The history: background cases (everyday matters, each at a place of its district, about
275 a day, categories and districts skewed as a hotline's are), chronic matters (one place,
one matter, complained of every week all year: these make the baseline and must raise
nothing), and planted clusters (a new matter at one place, 4 to 12 citizens within two days,
each writing it in their own words). The hot-spot pass is replayed every 12 hours over
the year: the whole replay, and one live pass (`HotSpots.run_once`, reading the store)
at the end, are timed, and `bot.insight.figures.compute` over the year.

A planted cluster is found when one alert holds at least half of its cases; an alert
that holds no planted case at all is false.

usage: .venv/bin/python -m bench.insight [--cases 100000] [--clusters 120] [--seed 7]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from bench.local import report
from bot.cases.departments import DISTRICTS
from bot.cases.repeats import place_key
from bot.insight import figures, hotspots
from bot.insight.hotspots import CASE_COLUMNS, Corpus, HotSpots, find_hotspots
from bot.store.db import Database, open_database

START = datetime(2025, 12, 1, tzinfo=UTC)
DAYS = 364
STEP = timedelta(hours=12)

DISTRICT_WEIGHTS = (0.28, 0.17, 0.13, 0.1, 0.1, 0.12, 0.1)
ROOTS = ("人民", "工农", "青年", "崇川", "濠河", "钟秀", "桃园", "城东", "虹桥", "文峰", "港闸",
         "永兴", "八一", "长江", "和平", "友谊", "光明", "幸福", "新华", "园林", "紫琅", "星湖",
         "通富", "海港", "江海", "世纪", "华新", "富民", "锦绣", "金桥")
KINDS = ("路", "大道", "小区", "花园", "新村", "家园", "广场", "市场", "公园", "街")
# What citizens complain of every day, by category: (category, matter, its detail).
EVERYDAY = (
    ("城乡建设", "路灯不亮", "晚上走路看不清"), ("城乡建设", "窨井盖松动", "车开过去哐哐响"),
    ("城乡建设", "违章搭建", "占了公共通道"), ("城乡建设", "电梯经常故障", "老人上下楼不方便"),
    ("城乡建设", "物业不作为", "楼道堆满杂物没人管"), ("城乡建设", "小区停车位不够", "车乱停"),
    ("环境保护", "饭店油烟太大", "窗户都不敢开"), ("环境保护", "夜间施工噪音", "影响休息"),
    ("环境保护", "垃圾清运不及时", "气味很重"), ("环境保护", "广场舞音响太响", "孩子没法写作业"),
    ("交通运输", "公交班次太少", "等车要半小时"), ("交通运输", "红绿灯时间太短", "老人过不去马路"),
    ("交通运输", "出租车拒载", "态度很差"), ("交通运输", "共享单车乱停", "挡住盲道"),
    ("教育文体", "学校门口接送拥堵", "早上堵得很"), ("教育文体", "课外培训退费难", "一直拖着"),
    ("劳动和社会保障", "公司不交社保", "问了好几次"), ("劳动和社会保障", "加班费没算", "老板不认"),
    ("商贸旅游", "超市卖过期食品", "买回家才发现"), ("商贸旅游", "网购退货不退款", "商家不理"),
    ("卫生计生", "医院排队时间长", "挂号要等很久"), ("卫生计生", "药店价格贵", "比别处贵很多"),
    ("农村农业", "田里秸秆焚烧", "烟很大"), ("民政", "低保申请没回音", "等了两个月"),
    ("政法", "电动车被偷", "报警后没消息"), ("党务政务", "窗口办事效率低", "跑了三趟"),
    ("经济管理", "燃气费多收", "账单对不上"), ("国土资源", "土地被占用", "没有补偿"),
    ("科技与信息产业", "手机信号差", "打电话断断续续"), ("纪检监察", "村干部办事不公", "优亲厚友"),
)
EVERYDAY_WEIGHTS = tuple(3 if c in ("城乡建设", "环境保护") else 2 if c == "交通运输" else 1
                         for c, _, _ in EVERYDAY)
# New matters that break out at one place: the planted clusters (category, ways to say it).
OUTBREAKS = (
    ("城乡建设", ("停水一整天了", "一直没有自来水", "水龙头拧开没有水", "突然停水也没有通知")),
    ("城乡建设", ("路面塌了一个大坑", "马路中间陷下去一块", "路面下沉出现大坑", "道路塌陷很危险")),
    ("城乡建设", ("楼道里有很重的燃气味", "闻到煤气味很浓", "燃气味道特别大", "到处是液化气的味道")),
    ("环境保护", ("河里漂着很多死鱼", "河面上全是死鱼", "河里的鱼死了一大片", "死鱼发臭漂满河道")),
    ("环境保护", ("工厂晚上排黑烟", "烟囱半夜冒黑烟", "厂里夜里偷偷排放黑烟", "黑烟呛得人咳嗽")),
    ("环境保护", ("自来水有股怪味", "自来水发黄有异味", "水龙头出来的水有臭味", "水是黄的还有味道")),
    ("交通运输", ("公交站牌被撤了", "公交站突然取消了", "车站没了也没通知", "公交不停这一站了")),
    ("交通运输", ("信号灯全灭了", "红绿灯坏了不亮", "路口的信号灯不工作", "红绿灯黑了车乱开")),
    ("商贸旅游", ("健身房突然关门", "健身房老板跑了", "健身房关门会员卡退不了", "健身房人去楼空")),
    ("卫生计生", ("社区医院不接种疫苗了", "打不上疫苗", "疫苗接种点关了", "社区不给打疫苗")),
    ("劳动和社会保障", ("厂里突然停工放假", "工厂停产工人没活干", "厂子停工不给说法", "工厂关门工人没人管")),
    ("民政", ("养老院伙食变差", "养老院饭菜没法吃", "养老院老人吃不饱", "敬老院伙食太差")),
)
OPENINGS = ("", "你好，", "您好，", "我要反映，", "投诉一下，", "麻烦问一下，", "反映个情况，")
CLOSINGS = ("", "请尽快处理。", "希望有关部门管一管。", "谢谢！", "已经好几天了。", "太影响生活了。",
            "请派人来看看。")
LINKS = ("，", "", "，而且", "，现在", "，")


def places(rng: random.Random) -> dict[str, list[str]]:
    return {d: [rng.choice(ROOTS) + rng.choice(ROOTS)[0] + rng.choice(KINDS)
                + (f"{rng.randint(1, 300)}号" if rng.random() < 0.4 else "")
                for _ in range(400)] for d in DISTRICTS}


def say(rng: random.Random, place: str, matter: str, detail: str) -> str:
    body = [f"{place}{matter}", detail] if rng.random() < 0.7 else [matter, f"在{place}", detail]
    return rng.choice(OPENINGS) + rng.choice(LINKS).join(body) + "，" + rng.choice(CLOSINGS)


def synthesize(total: int, clusters: int, seed: int) -> tuple[list[tuple], list[set[int]]]:
    """The rows (in time order) and, for each planted cluster, the indexes of its rows."""
    rng = random.Random(seed)
    where = places(rng)
    span = DAYS * 86400
    rows: list[tuple] = []  # (time, citizen, district, category, address, description, plant)
    planted_sizes = [rng.randint(4, 12) for _ in range(clusters)]
    chronic = [(rng.choices(DISTRICTS, DISTRICT_WEIGHTS)[0], rng.choice(EVERYDAY))
               for _ in range(40)]
    chronic_rows = []
    for district, (category, matter, detail) in chronic:
        place = rng.choice(where[district])
        t = rng.uniform(0, 86400 * 3)
        while t < span:  # two or three times a week all year, from its regulars and others
            chronic_rows.append((t, rng.randint(1, 400_000), district, category, place,
                                 say(rng, place, matter, detail), -1))
            t += rng.expovariate(2.5 / (7 * 86400))
    background = total - sum(planted_sizes) - len(chronic_rows)
    for _ in range(background):
        district = rng.choices(DISTRICTS, DISTRICT_WEIGHTS)[0]
        category, matter, detail = rng.choices(EVERYDAY, EVERYDAY_WEIGHTS)[0]
        place = rng.choice(where[district])
        rows.append((rng.uniform(0, span), rng.randint(1, 400_000), district, category, place,
                     say(rng, place, matter, detail), -1))
    rows.extend(chronic_rows)
    for number, size in enumerate(planted_sizes):
        district = rng.choices(DISTRICTS, DISTRICT_WEIGHTS)[0]
        category, ways = rng.choice(OUTBREAKS)
        place = rng.choice(where[district])
        begin = rng.uniform(35 * 86400, span - 3 * 86400)
        for _ in range(size):
            detail = rng.choice(("", "不知道怎么回事", "已经影响到很多人", "家里有老人孩子", "没人管"))
            rows.append((begin + rng.uniform(0, 40 * 3600), 500_000 + rng.randint(0, 10**6),
                         district, category, place, say(rng, place, rng.choice(ways), detail),
                         number))
    rows.sort(key=lambda r: r[0])
    truth: list[set[int]] = [set() for _ in range(clusters)]
    for index, row in enumerate(rows):
        if row[6] >= 0:
            truth[row[6]].add(index + 1)  # case ids start at 1
    return rows, truth


async def load(db: Database, rows: list[tuple]) -> None:
    """Writes the synthetic history straight into `cases` (filing 100,000 one by one
    would time the filing transaction, which bench/store.py measures)."""
    def body(conn):
        conn.executemany(
            "INSERT INTO cases (id, number, citizen_id, chat_id, kind, category, district,"
            " address, description, status, created_at, updated_at, deadline, place_key)"
            " VALUES (?, ?, ?, ?, 'complaint', ?, ?, ?, ?, 'accepted', ?, ?, ?, ?)",
            [(i, f"NT{i:010d}", r[1], r[1], r[3], r[2], r[4], r[5], at, at, at[:10],
              place_key(r[2], r[4]))
             for i, r in enumerate(rows, 1)
             for at in [(START + timedelta(seconds=r[0])).isoformat()]])
        conn.executemany(
            "INSERT INTO case_events (case_id, at, actor, kind, detail) VALUES (?, ?, ?, 'filed',"
            " '{}')", [(i, (START + timedelta(seconds=r[0])).isoformat(), f"citizen:{r[1]}")
                       for i, r in enumerate(rows, 1)])
    await db.transaction_in_thread(body)


async def run(total: int, clusters: int, seed: int) -> dict:
    rows, truth = synthesize(total, clusters, seed)
    with tempfile.TemporaryDirectory() as tmp:
        db = await open_database(Path(tmp) / "hotline.db")
        try:
            await load(db, rows)
            end = START + timedelta(days=DAYS)
            began = time.perf_counter()
            stored = await db.fetchall(
                f"SELECT {CASE_COLUMNS} FROM cases WHERE district IS NOT NULL"
                " ORDER BY created_at, id")
            corpus = Corpus.build(stored)
            built = time.perf_counter() - began
            passes = 0
            raised = []
            spotter = HotSpots(db)  # no supervisors: the alerts are recorded, not sent
            moment = START + hotspots.TRAILING
            while moment <= end:
                spots = find_hotspots(corpus, moment.timestamp())
                raised += await spotter.raise_alerts(spots, moment)
                moment += STEP
                passes += 1
            replay = time.perf_counter() - began
            began = time.perf_counter()
            live = HotSpots(db, clock=lambda: end)
            await live.run_once()
            live_pass = time.perf_counter() - began
            began = time.perf_counter()
            await figures.compute(db, START, end)
            figures_s = time.perf_counter() - began
        finally:
            await db.close()
    planted = set().union(*truth)
    caught = [any(len(set(a.case_ids) & cluster) * 2 >= len(cluster) for a in raised)
              for cluster in truth]
    found = sum(caught)
    # Smaller than the pass's minimum, a cluster cannot be found by design.
    findable = [hit for hit, c in zip(caught, truth, strict=True)
                if len(c) >= hotspots.MIN_CITIZENS]
    false = sum(not (set(a.case_ids) & planted) for a in raised)
    return {
        "cases": len(rows),
        "planted_clusters": len(truth),
        "found": found,
        "recall": round(found / len(truth), 3),
        "planted_with_enough_citizens": len(findable),
        "found_of_those": sum(findable),
        "alerts": len(raised),
        "false_alerts": false,
        "passes": passes,
        "vectorise_and_graph_s": round(built, 2),
        "hotspot_replay_s": round(replay, 2),
        "hotspot_live_pass_s": round(live_pass, 2),
        "figures_s": round(figures_s, 2),
        "figures_plus_live_pass_s": round(figures_s + live_pass, 2),
        "figures_plus_replay_s": round(figures_s + replay, 2),
        "similar": hotspots.SIMILAR, "min_citizens": hotspots.MIN_CITIZENS,
        "alpha": hotspots.ALPHA,
        "median_planted_size": float(np.median([len(c) for c in truth])),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--clusters", type=int, default=120)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    report("insight", asyncio.run(run(args.cases, args.clusters, args.seed)))


if __name__ == "__main__":
    main()
