"""The figures of one week, from a history built through the real store, desk, callbacks
and supervision on a real SQLite file, each checked against the number worked out by hand.

The week: Monday 2026-11-30 00:00 to Monday 2026-12-07 00:00, China time. Working days
(chinesecalendar): 11-20, 11-23…27, 11-30…12-04, 12-07…12-11; 11-28/29 and 12-05/06 are
the weekend. Deadlines count working days after the filing day: 咨询 3, 求助 5, 投诉/举报 10.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.cases.callbacks import Callbacks
from bot.cases.desk import CaseDesk, Staff
from bot.cases.handoffs import Handoffs
from bot.cases.models import CaseDraft, CaseKind
from bot.cases.notices import Notices
from bot.cases.roles import Roles
from bot.cases.store import CaseStore
from bot.cases.supervision import Supervision
from bot.config import CHINA, Settings
from bot.insight import figures
from bot.insight.figures import CHANNEL_ANSWERS, CHANNEL_CASES, UNSET
from bot.knowledge.feedback import UNHELPFUL

HOUSING = "南通市住房和城乡建设局"
ECOLOGY = "南通市生态环境局"
ALICE = Staff(9001, "王小丽")
BOSS = Staff(9100, "张主任", supervisor=True)
START = datetime(2026, 11, 30, tzinfo=CHINA)
END = datetime(2026, 12, 7, tzinfo=CHINA)


def china(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in China time, as the store's clock gives it (UTC)."""
    return datetime(2026, month, day, hour, minute, tzinfo=CHINA).astimezone(UTC)


@pytest.fixture
def world(db, clock):
    settings = Settings(agent_ids=frozenset({ALICE.user_id}),
                        supervisor_ids=frozenset({BOSS.user_id}))
    notices = Notices(Roles(db, settings, clock), clock=clock)
    handoffs = Handoffs(db, clock=clock)
    return {
        "store": CaseStore(db, clock=clock),
        "desk": CaseDesk(db, notices, handoffs, clock=clock),
        "callbacks": Callbacks(db, notices, clock=clock),
        "supervision": Supervision(db, notices, handoffs, clock=clock),
    }


async def build_history(db, clock, world) -> dict[str, str]:
    store: CaseStore = world["store"]
    desk: CaseDesk = world["desk"]
    callbacks: Callbacks = world["callbacks"]
    numbers: dict[str, str] = {}

    async def file(name: str, when: datetime, citizen: int, kind: CaseKind, category: str | None,
                   department: str | None, district: str) -> None:
        clock.now = when
        case = await store.file_case(CaseDraft(
            citizen_id=citizen, chat_id=citizen, kind=kind, description=f"案件{name}的情况描述",
            category=category, department=department, district=district))
        numbers[name] = case.number

    async def act(when: datetime, operation, *args):
        clock.now = when
        return await operation(*args)

    async def rate(when: datetime, name: str, citizen: int, rating: str) -> None:
        row = await db.fetchone(
            "SELECT cb.id FROM callbacks cb JOIN cases c ON c.id = cb.case_id"
            " WHERE c.number = ? ORDER BY cb.id DESC LIMIT 1", (numbers[name],))
        clock.now = when
        assert (await callbacks.rate(row["id"], citizen, rating)).status == "ok"

    # Before the week.
    await file("P", china(11, 23, 9), 1, CaseKind.COMPLAINT, "环境保护", ECOLOGY, "崇川区")
    await file("O", china(11, 24, 10), 2, CaseKind.CONSULT, "城乡建设", HOUSING, "海门区")
    await act(china(11, 24, 11), desk.claim, numbers["O"], ALICE)
    await file("R", china(11, 20, 9), 3, CaseKind.HELP, "城乡建设", HOUSING, "崇川区")
    await act(china(11, 27, 10), desk.resolve, numbers["R"], ALICE, "已修复")
    await file("F", china(11, 26, 9), 8, CaseKind.COMPLAINT, "环境保护", ECOLOGY, "崇川区")
    await act(china(11, 26, 10), desk.claim, numbers["F"], ALICE)

    # The week.
    await act(china(11, 30, 9), desk.supervise, numbers["O"], BOSS, "请尽快答复", None)
    await rate(china(11, 30, 9), "R", 3, "1")                     # 满意, in the week
    await act(china(11, 30, 10), desk.resolve, numbers["F"], ALICE, "已整改")
    await file("A", china(11, 30, 9), 1, CaseKind.COMPLAINT, "环境保护", ECOLOGY, "崇川区")
    await act(china(11, 30, 10), desk.claim, numbers["A"], ALICE)
    await file("B", china(11, 30, 14), 4, CaseKind.HELP, "城乡建设", HOUSING, "海门区")
    await act(china(12, 1, 8), store.supplement, numbers["A"], 1, "又闻到了", (), "draft:77")
    await act(china(12, 1, 8, 30), store.supplement, numbers["A"], 1, "补充照片", (),
              "followup:1:5")
    await file("C", china(12, 1, 9), 5, CaseKind.CONSULT, "城乡建设", HOUSING, "崇川区")
    await act(china(12, 1, 9, 30), desk.claim, numbers["C"], ALICE)
    await file("D", china(12, 1, 10), 6, CaseKind.SUGGESTION, "交通运输", None, "崇川区")
    await act(china(12, 1, 12), store.withdraw, numbers["D"], 6, "已自行解决")
    # O's deadline (11-27) is moved to 12-04 by a supervisor: still passed at the week's end.
    await act(china(12, 1, 15), desk.supervise, numbers["O"], BOSS, "限期办结", date(2026, 12, 4))
    await act(china(12, 2, 9), desk.claim, numbers["B"], ALICE)
    await act(china(12, 2, 9, 30), desk.transfer, numbers["B"], ALICE, ECOLOGY, "属环保")
    await act(china(12, 2, 11), desk.return_case, numbers["B"], ALICE, "不属于我局")
    await act(china(12, 2, 11, 30), desk.transfer, numbers["B"], ALICE, HOUSING, "属住建")
    await act(china(12, 2, 15), desk.resolve, numbers["A"], ALICE, "已处罚")
    await rate(china(12, 2, 16), "A", 1, "2")                     # 基本满意
    # F's callback, asked 11-30 10:00, unanswered three days: not reached.
    await act(china(12, 3, 11), world["supervision"].run_once)
    await act(china(12, 4, 17), desk.resolve, numbers["B"], ALICE, "已维修")
    await rate(china(12, 4, 18), "B", 4, "3")                     # 不满意: B is reopened
    await act(china(12, 5, 10), desk.resolve, numbers["C"], ALICE, "政策如下")
    await file("E", china(12, 5, 10), 7, CaseKind.REPORT, "环境保护", ECOLOGY, "海门区")

    # After the week: none of this counts.
    await act(china(12, 7, 10), desk.resolve, numbers["P"], ALICE, "已处理")
    await file("Z", china(12, 7, 9), 1, CaseKind.COMPLAINT, "环境保护", ECOLOGY, "崇川区")

    # The bot's answers, as the actions record them (kb_answers), a 没解决, and a question
    # that found nothing. One answer falls before the week.
    async with db.write() as conn:
        for at, citizen in ((china(11, 29, 20), 9), (china(11, 30, 8), 9), (china(11, 30, 20), 9),
                            (china(12, 2, 9), 9), (china(12, 3, 9), 9), (china(12, 5, 9), 7)):
            await conn.execute("INSERT INTO kb_answers (at, citizen_id, entry_id, topic)"
                               " VALUES (?, ?, 'e1', 'pension')", (at.isoformat(), citizen))
        # 解决了 presses change nothing: every answer not escalated counts.
        await conn.execute("INSERT INTO kb_feedback (at, citizen_id, entry_id, helpful)"
                           " VALUES (?, 9, 'e1', 1)", (china(11, 30, 8, 5).isoformat(),))
        # The answer of 12-03 09:00 is escalated by a 没解决 five minutes later; its wording
        # is also kept among the misses, and is not counted again.
        await conn.execute("INSERT INTO kb_feedback (at, citizen_id, entry_id, helpful)"
                           " VALUES (?, 9, 'e1', 0)", (china(12, 3, 9, 5).isoformat(),))
        await conn.execute("INSERT INTO kb_misses (at, citizen_id, question, route)"
                           " VALUES (?, 9, '问题', ?)", (china(12, 3, 9, 5).isoformat(), UNHELPFUL))
        await conn.execute("INSERT INTO kb_misses (at, citizen_id, question, route)"
                           " VALUES (?, 9, '问题', 'fallback')", (china(12, 4, 9).isoformat(),))
    # Citizen 7 was answered on 12-05 at 09:00 and filed E an hour later: escalated.
    return numbers


async def test_every_figure_of_a_known_week(db, clock, world):
    n = await build_history(db, clock, world)
    f = await figures.compute(db, START, END)
    t = f.total

    # Intake: cases filed in the week: A 投诉, B 求助, C 咨询, D 建议, E 举报 (P, O, R, F
    # before it, Z after it). The bot answered three questions for good (not escalated)
    # in the week: 咨询 by the self-service channel, so 咨询 is 1 + 3 = 4.
    assert t.intake == {"咨询": 1, "求助": 1, "投诉": 1, "建议": 1, "举报": 1}
    assert t.filed == 5
    assert f.intake_by_channel == {
        CHANNEL_CASES: {"咨询": 1, "求助": 1, "投诉": 1, "建议": 1, "举报": 1},
        CHANNEL_ANSWERS: {"咨询": 3, "求助": 0, "投诉": 0, "建议": 0, "举报": 0}}
    assert f.intake_by_type == {"咨询": 4, "求助": 1, "投诉": 1, "建议": 1, "举报": 1}
    # By China date: 11-30 A, B and two answers; 12-01 C, D; 12-02 one answer; 12-05 E.
    assert f.intake_by_day[date(2026, 11, 30)] == {"咨询": 2, "求助": 1, "投诉": 1, "建议": 0,
                                                   "举报": 0}
    assert f.intake_by_day[date(2026, 12, 1)]["咨询"] == 1
    assert f.intake_by_day[date(2026, 12, 1)]["建议"] == 1
    assert f.intake_by_day[date(2026, 12, 2)]["咨询"] == 1
    assert f.intake_by_day[date(2026, 12, 5)]["举报"] == 1
    assert sorted(f.intake_by_day) == [date(2026, 11, 30 + i) if i == 0 else date(2026, 12, i)
                                       for i in range(7)]
    assert sum(sum(d.values()) for d in f.intake_by_day.values()) == 8

    # Policy questions: five answers in the week and one miss = 6. Of the answers, 12-03's
    # (没解决 five minutes later) and 12-05's (citizen 7 filed E an hour later) were
    # escalated: 3 direct, 3 / 6.
    assert (f.answered_directly, f.policy_questions) == (3, 6)
    assert f.direct_answer_rate == pytest.approx(0.5)

    # Sign-for within one working day after the filing day:
    #   A filed 11-30, claimed 11-30, target 12-01: in time;
    #   B filed 11-30, claimed 12-02, target 12-01: late;
    #   C filed 12-01, claimed 12-01, target 12-02: in time;
    #   D withdrawn before anyone claimed it: not counted;
    #   E filed Saturday 12-05, target Monday 12-07, not yet over at the week's end: not due.
    assert (t.signed_in_time, t.sign_for_due) == (2, 3)
    assert t.sign_for_rate == pytest.approx(2 / 3)

    # Resolutions in the week, against the deadline in force:
    #   F (filed 11-26, deadline 12-10) resolved 11-30: on time, 2 working days (11-27, 11-30);
    #   A (filed 11-30, deadline 12-14) resolved 12-02: on time, 2 (12-01, 12-02);
    #   B (filed 11-30, deadline 12-07) resolved 12-04: on time, 4 (12-01 … 12-04);
    #   C (filed 12-01, deadline 12-04) resolved Saturday 12-05: late, 3 (12-02 … 12-04).
    # R (resolved 11-27) and P (resolved 12-07) fall outside.
    assert (t.resolved_on_time, t.resolved) == (3, 4)
    assert t.on_time_rate == pytest.approx(0.75)
    assert t.late == [n["C"]]
    assert sorted(t.handling_days) == [2, 2, 3, 4]
    assert t.average_days == pytest.approx(11 / 4)
    assert t.p90_days == 4  # nearest rank: ⌈0.9 × 4⌉ = 4th of [2, 2, 3, 4]

    # Callbacks in the week: R 满意 (R was resolved before the week), A 基本满意, B 不满意;
    # F not reached. Satisfaction (满意 + 基本满意) / valid = 2 / 3.
    assert (t.satisfied, t.callbacks, t.not_reached) == (2, 3, 1)
    assert t.satisfaction_rate == pytest.approx(2 / 3)

    # 重办: B, after 不满意: 1 of 4 resolutions.
    assert t.reopened == 1
    assert t.reopen_rate == pytest.approx(0.25)

    # Of the 5 filed, B was returned once and transferred twice: 1/5 and 2/5.
    assert (t.returned, t.transfers) == (1, 2)
    assert t.return_rate == pytest.approx(0.2)
    assert t.transfers_per_case == pytest.approx(0.4)

    # Repeats: A (citizen 1 filed P, same category, 7 days before) and the filing merged
    # into A (draft:77); the plain 补充 (followup:…) is not one.
    assert t.repeats == 2

    # Overdue at the week's end (12-07): O, open, deadline 12-04 after the supervisor's
    # change: 3 days. P's deadline is 12-07 itself, B's new one 12-11, E's 12-18.
    (overdue,) = t.overdue
    assert (overdue.number, overdue.deadline, overdue.days_over, overdue.assignee) == (
        n["O"], date(2026, 12, 4), 3, ALICE.name)
    assert (overdue.department, overdue.district, overdue.kind) == (HOUSING, "海门区", "咨询")

    # Per department, as the case stands now (B went back to 住建 after the return):
    # 住建 holds O, R, B, C; 生态环境 holds P, A, E, F; D has none.
    housing, ecology, unset = (f.departments[HOUSING], f.departments[ECOLOGY],
                               f.departments[UNSET])
    assert housing.intake == {"咨询": 1, "求助": 1, "投诉": 0, "建议": 0, "举报": 0}
    assert (housing.signed_in_time, housing.sign_for_due) == (1, 2)        # C yes, B no
    assert (housing.resolved_on_time, housing.resolved) == (1, 2)          # B yes, C no
    assert housing.late == [n["C"]]
    assert housing.average_days == pytest.approx(3.5) and housing.p90_days == 4
    assert (housing.satisfied, housing.callbacks) == (1, 2)                # R 满意, B 不满意
    assert housing.reopened == 1 and housing.reopen_rate == pytest.approx(0.5)
    assert housing.return_rate == pytest.approx(0.5)                       # B of B, C
    assert housing.transfers_per_case == pytest.approx(1.0)                # 2 over B, C
    assert [c.number for c in housing.overdue] == [n["O"]]
    assert housing.repeats == 0
    assert ecology.intake == {"咨询": 0, "求助": 0, "投诉": 1, "建议": 0, "举报": 1}
    assert (ecology.signed_in_time, ecology.sign_for_due) == (1, 1)        # A; E not due
    assert (ecology.resolved_on_time, ecology.resolved) == (2, 2)          # F, A
    assert ecology.average_days == pytest.approx(2.0) and ecology.p90_days == 2
    assert (ecology.satisfied, ecology.callbacks, ecology.not_reached) == (1, 1, 1)
    assert (ecology.returned, ecology.transfers, ecology.repeats) == (0, 0, 2)
    assert ecology.overdue == []
    assert unset.intake["建议"] == 1 and unset.sign_for_due == 0 and unset.resolved == 0

    # Per category: 城乡建设 holds the same cases as 住建, 环境保护 those of 生态环境.
    assert f.categories["城乡建设"].resolved == 2
    assert f.categories["环境保护"].repeats == 2
    assert f.categories["交通运输"].filed == 1

    # Per district: 崇川区 holds P, R, A, C, D, F; 海门区 O, B, E.
    chongchuan, haimen = f.districts["崇川区"], f.districts["海门区"]
    assert chongchuan.intake == {"咨询": 1, "求助": 0, "投诉": 1, "建议": 1, "举报": 0}
    assert (chongchuan.signed_in_time, chongchuan.sign_for_due) == (2, 2)  # A, C; D withdrawn
    assert (chongchuan.resolved_on_time, chongchuan.resolved) == (2, 3)    # F, A on time; C late
    assert chongchuan.average_days == pytest.approx(7 / 3) and chongchuan.p90_days == 3
    assert (chongchuan.satisfied, chongchuan.callbacks, chongchuan.not_reached) == (2, 2, 1)
    assert chongchuan.repeats == 2 and chongchuan.overdue == []
    assert (haimen.signed_in_time, haimen.sign_for_due) == (0, 1)          # B late; E not due
    assert (haimen.resolved_on_time, haimen.resolved) == (1, 1)
    assert (haimen.satisfied, haimen.callbacks, haimen.reopened) == (0, 1, 1)
    assert (haimen.returned, haimen.transfers, haimen.filed) == (1, 2, 2)
    assert [c.number for c in haimen.overdue] == [n["O"]]


async def test_the_figures_are_as_of_the_end_of_the_period(db, clock, world):
    """The week before: only P, O, R, F were filed; R was resolved (on time: 5 working days
    after 11-20 is 11-27), and O's first deadline, 11-27, had passed by 11-30."""
    n = await build_history(db, clock, world)
    f = await figures.compute(db, datetime(2026, 11, 23, tzinfo=CHINA), START)
    t = f.total
    # P 投诉, O 咨询, F 投诉 (R was filed 11-20, the week before); one 解决了 on 11-29.
    assert t.intake == {"咨询": 1, "求助": 0, "投诉": 2, "建议": 0, "举报": 0}
    assert f.intake_by_type["咨询"] == 2
    assert (t.resolved, t.resolved_on_time, t.handling_days) == (1, 1, [5])  # R: 11-23 … 11-27
    assert t.callbacks == 0 and t.reopened == 0
    # Sign-for: P (claimed only 12-07, after this period: its target 11-24 passed) late,
    # O claimed 11-24 in time, F claimed 11-26 in time.
    assert (t.signed_in_time, t.sign_for_due) == (2, 3)
    # O is overdue at 11-30 against the deadline then in force, 11-27: 3 days.
    assert [(c.number, c.deadline, c.days_over) for c in t.overdue] == [
        (n["O"], date(2026, 11, 27), 3)]


async def test_an_empty_store_has_no_rates(db):
    f = await figures.compute(db, START, END)
    assert f.total.filed == 0 and f.departments == {}
    assert f.total.on_time_rate is None and f.total.satisfaction_rate is None
    assert f.direct_answer_rate is None and f.total.p90_days is None
    assert len(f.intake_by_day) == 7
