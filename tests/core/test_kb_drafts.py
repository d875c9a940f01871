"""Knowledge drafts from agents' replies, on a real SQLite file, the real desk and loader,
and a scratch copy of the knowledge folder."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml

from bot.cases.models import CaseDraft, CaseKind
from bot.config import Settings
from bot.knowledge import drafts
from bot.knowledge.drafts import DraftRefused, accept, dismiss, load_review, write_drafts
from bot.knowledge.feedback import FeedbackStore
from bot.knowledge.loader import KNOWLEDGE_DIR, load_knowledge
from bot.knowledge.report import report
from tests.core.test_desk import ALICE, BOB, desk, handoffs, notices, settings, store  # noqa: F401
from tests.stores import store_fields

CITIZEN = 5001
TODAY = date(2026, 12, 7)


@pytest.fixture(scope="module")
def kb():
    return load_knowledge()


@pytest.fixture
def knowledge_dir(tmp_path: Path) -> Path:
    copy = tmp_path / "knowledge"
    copy.mkdir()
    for path in KNOWLEDGE_DIR.glob("*.yml"):
        shutil.copy(path, copy)
    return copy


@pytest.fixture
def review_file(tmp_path: Path) -> Path:
    return tmp_path / "data" / drafts.DRAFTS_FILE


@pytest.fixture
def feedback(db, clock) -> FeedbackStore:
    return FeedbackStore(db, clock=clock)


async def asked_then_answered(feedback, store, desk, clock, question: str, reply: str, *,
                              citizen: int = CITIZEN, route: str = "fallback",
                              description: str | None = None, agent=ALICE):
    """The citizen's question finds nothing; they file from it (the form starts from the
    question, as `ActionStartCase` does); an agent replies through the desk."""
    await feedback.record_miss(citizen, question, route)
    clock.now += timedelta(minutes=2)
    case = await store.file_case(CaseDraft(
        citizen_id=citizen, chat_id=citizen, kind=CaseKind.CONSULT,
        description=description if description is not None else f"{question}\n麻烦尽快回复",
        phone="13912345678", district="崇川区"))
    clock.now += timedelta(hours=1)
    await desk.reply(case.number, agent, reply)
    await desk.resolve(case.number, agent, "已在线答复")
    clock.now += timedelta(minutes=5)
    return case


def edit(review_file: Path, draft_id: str, **fields) -> None:
    """What a maintainer does: open the review file, change the entry, save it."""
    data = yaml.safe_load(review_file.read_text(encoding="utf-8"))
    (draft,) = [d for d in data["drafts"] if d["draft"] == draft_id]
    draft["entry"].update(fields)
    review_file.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False),
                           encoding="utf-8")


PAYBACK_QUESTION = "公积金贷款想提前还一部分，要先预约吗？我电话13812340000"
PAYBACK_REPLY = ("您好，公积金贷款部分提前还款需要先预约：在公积金App或公众号的“提前还款预约”里填写，"
                 "预约成功后按约定日期把款项存入还款账户即可，一般每年可办理一到两次，以当地规定为准。"
                 "有疑问可拨打12329，或打我的工作电话13912345678。")
ANSWER = ("公积金贷款部分提前还款一般要先预约：在当地公积金App、公众号或网上服务大厅提交提前还款预约，"
          "按约定日期把款项存入还款账户。每年可办理的次数和最低金额以当地规定为准，可拨打12329咨询。")
PARAPHRASES = ["公积金贷款提前还款要预约吗", "提前还公积金贷款怎么办理", "公积金房贷想提前还一部分",
               "公积金贷款部分提前还款", "提前还款公积金要去哪预约", "公基金贷款能提前还吗"]


async def test_an_agents_reply_becomes_a_draft_and_is_accepted_into_the_knowledge_base(
        db, clock, feedback, store, desk, kb, knowledge_dir, review_file):
    case = await asked_then_answered(feedback, store, desk, clock, PAYBACK_QUESTION,
                                     PAYBACK_REPLY)

    created, grown = await write_drafts(db, review_file, kb, today=TODAY)
    assert len(created) == 1 and grown == []
    text = review_file.read_text(encoding="utf-8")
    assert "13812340000" not in text and "13912345678" not in text
    (draft,) = load_review(review_file)["drafts"]
    entry = draft["entry"]
    assert draft["draft"] == created[0]
    assert draft["cases"] == [{"case": case.number, "question": entry["question"],
                               "asked": "没有找到"}]
    assert case.number in draft["origin"]
    assert entry["question"] == "公积金贷款想提前还一部分，要先预约吗？我电话138****0000"
    assert entry["answer"].startswith("您好，公积金贷款部分提前还款需要先预约")
    assert "139****5678" in entry["answer"]  # the longest reply, masked
    assert (entry["topic"], entry["channel"]) == ("housing_fund", "12329")
    assert entry["id"].startswith("hf-agent-")
    assert entry["source"].startswith(drafts.TODO) and entry["reviewed"].startswith(drafts.TODO)
    assert not any(e.id == entry["id"] for e in kb.entries)  # a draft is not a live entry

    with pytest.raises(DraftRefused) as refused:
        accept(review_file, draft["draft"], knowledge_dir, today=TODAY)
    for field in ("source", "reviewed", "****", "paraphrases"):
        assert field in str(refused.value)

    edit(review_file, draft["draft"], question="公积金贷款可以提前还一部分吗，要先预约吗？",
         paraphrases=PARAPHRASES, answer=ANSWER,
         source="《住房公积金管理条例》；当地住房公积金个人住房贷款管理办法（概述，非原文）",
         reviewed=date(2026, 12, 5))
    added = accept(review_file, draft["draft"], knowledge_dir, today=TODAY)

    reloaded = load_knowledge(knowledge_dir, today=TODAY)
    live = reloaded[added.id]
    assert Path(live.file) == knowledge_dir / "housing_fund.yml"
    assert live.answer == ANSWER and live.paraphrases == tuple(PARAPHRASES)
    assert (live.topic, live.channel, live.reviewed) == ("housing_fund", "12329", date(2026, 12, 5))
    assert len(reloaded) == len(kb) + 1
    assert added.id not in (KNOWLEDGE_DIR / "housing_fund.yml").read_text(encoding="utf-8")
    review = load_review(review_file)
    assert review["drafts"] == []
    assert review["closed"][0]["entry"] == added.id
    assert review["closed"][0]["cases"] == [case.number]
    # The accepted case is not drafted again.
    assert await write_drafts(db, review_file, kb, today=TODAY) == ([], [])


async def test_similar_questions_make_one_draft_and_a_different_question_its_own(
        db, clock, feedback, store, desk, kb, review_file):
    card_reply = "社保卡遗失请先拨打12333或在电子社保卡里挂失，再带身份证到合作银行网点补办。"
    first = await asked_then_answered(feedback, store, desk, clock, "社保卡丢了怎么补办",
                                      card_reply, citizen=6001)
    second = await asked_then_answered(feedback, store, desk, clock, "我的社保卡掉了去哪里补办",
                                       card_reply + "补卡一般当场或几个工作日可以拿到。",
                                       citizen=6002, agent=BOB)
    other = await asked_then_answered(feedback, store, desk, clock,
                                      "个税专项附加扣除的赡养老人怎么填", "在个税App的专项附加扣除里填写赡养老人。",
                                      citizen=6003)

    created, _ = await write_drafts(db, review_file, kb, today=TODAY)
    together, alone = load_review(review_file)["drafts"]
    assert len(created) == 2
    assert [c["case"] for c in together["cases"]] == [first.number, second.number]
    wordings = {together["entry"]["question"], *together["entry"]["paraphrases"]}
    assert wordings == {"社保卡丢了怎么补办", "我的社保卡掉了去哪里补办"}
    assert together["entry"]["answer"].endswith("补卡一般当场或几个工作日可以拿到。")
    assert len(together["agent_replies"]) == 4  # each case's reply and resolution
    assert together["entry"]["topic"] == "pension"  # 社保卡 is filed under pension
    assert [c["case"] for c in alone["cases"]] == [other.number]
    assert alone["entry"]["topic"] == "income_tax"


async def test_a_later_similar_question_joins_the_open_draft_and_keeps_the_edits(
        db, clock, feedback, store, desk, kb, review_file):
    await asked_then_answered(feedback, store, desk, clock, "社保卡丢了怎么补办",
                              "先挂失，再带身份证到银行网点补办。", citizen=6001)
    (draft_id,), _ = await write_drafts(db, review_file, kb, today=TODAY)
    edit(review_file, draft_id, answer="社保卡遗失后先挂失，再补办。")
    later = await asked_then_answered(feedback, store, desk, clock, "社保卡掉了在哪里补办啊",
                                      "带身份证去银行补办。", citizen=6002)

    assert await write_drafts(db, review_file, kb, today=TODAY) == ([], [draft_id])
    (draft,) = load_review(review_file)["drafts"]
    assert draft["entry"]["answer"] == "社保卡遗失后先挂失，再补办。"
    assert draft["entry"]["paraphrases"] == ["社保卡掉了在哪里补办啊"]
    assert draft["cases"][-1]["case"] == later.number


async def test_numbers_in_questions_and_replies_are_masked_in_the_drafts(
        db, clock, feedback, store, desk, kb, review_file):
    question = "我身份证320602198812120011，家里困难想申请低保要准备什么，电话0513-85123456"
    await asked_then_answered(
        feedback, store, desk, clock, question,
        "申请低保请带户口本和收入证明到街道提出申请，或拨打 138 1234 0000 找民政的王老师。")
    await write_drafts(db, review_file, kb, today=TODAY)
    text = review_file.read_text(encoding="utf-8")
    for raw in ("320602198812120011", "85123456", "138 1234 0000", "13812340000"):
        assert raw not in text
    (draft,) = load_review(review_file)["drafts"]
    assert "3206**********0011" in draft["entry"]["question"]
    assert "0513****3456" in draft["entry"]["question"]
    assert "138****0000" in draft["entry"]["answer"]
    assert draft["entry"]["topic"] == "social_assistance"


async def test_an_unedited_draft_is_refused_and_nothing_changes(
        db, clock, feedback, store, desk, kb, knowledge_dir, review_file, monkeypatch, capsys):
    await asked_then_answered(feedback, store, desk, clock, "灵活就业医保断了三个月还能补吗",
                              "可以补缴，请带身份证到医保窗口办理。")
    (draft_id,), _ = await write_drafts(db, review_file, kb, today=TODAY)
    before_review = review_file.read_text(encoding="utf-8")
    before = {p.name: p.read_text(encoding="utf-8") for p in knowledge_dir.glob("*.yml")}

    # The command `make kb-accept DRAFT=…` runs, with the data folder from the environment.
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(review_file.parent))
    assert drafts.main(["accept", draft_id, "--knowledge", str(knowledge_dir)]) == 1
    message = capsys.readouterr().err
    assert f"草稿 {draft_id} 还不能收录" in message
    assert "source 还没有填写" in message and "reviewed 还没有填写" in message

    # Filled in but failing the loader's checks: an id already in use.
    edit(review_file, draft_id, paraphrases=PARAPHRASES, answer="可以补缴。",
         source="国家医保局关于参保缴费的规定（概述，非原文）", reviewed=date(2026, 12, 1),
         id="pen-employee-contribution")
    with pytest.raises(DraftRefused) as refused:
        accept(review_file, draft_id, knowledge_dir, today=TODAY)
    assert "没有通过知识库校验" in str(refused.value) and "already used" in str(refused.value)
    assert str(knowledge_dir) in str(refused.value)

    # An answer emptied by mistake.
    edit(review_file, draft_id, id="mi-flexible-gap-backpay", answer="")
    with pytest.raises(DraftRefused, match="answer 还没有填写"):
        accept(review_file, draft_id, knowledge_dir, today=TODAY)

    assert {p.name: p.read_text(encoding="utf-8") for p in knowledge_dir.glob("*.yml")} == before
    assert [d["draft"] for d in load_review(review_file)["drafts"]] == [draft_id]
    assert review_file.read_text(encoding="utf-8") != before_review  # only the edits
    with pytest.raises(DraftRefused, match="没有待审核的草稿 kd-nope"):
        accept(review_file, "kd-nope", knowledge_dir, today=TODAY)


async def test_only_the_case_filed_from_the_question_is_linked(
        db, clock, feedback, store, desk, kb, review_file):
    # Filed about something else: the description does not carry the question.
    await asked_then_answered(feedback, store, desk, clock, "公积金能不能给父母买房用",
                              "可以，按当地规定办理。", description="楼下烧烤油烟太大")
    # Someone else filed the same words.
    await feedback.record_miss(7001, "失业金停发了找谁", "fallback")
    clock.now += timedelta(minutes=1)
    await asked_then_answered(feedback, store, desk, clock, "出生证明丢了怎么补",
                              "到出生的医院补办。", citizen=7002,
                              description="失业金停发了找谁")
    # Filed two days after asking.
    await feedback.record_miss(7003, "居住证到期了怎么续", "fallback")
    clock.now += timedelta(days=2)
    case = await store.file_case(CaseDraft(citizen_id=7003, chat_id=7003,
                                           kind=CaseKind.CONSULT, description="居住证到期了怎么续"))
    await desk.reply(case.number, ALICE, "到派出所续签。")

    assert await write_drafts(db, review_file, kb, today=TODAY) == ([], [])
    assert load_review(review_file)["drafts"] == []


async def test_a_not_solved_question_is_drafted_but_not_listed_as_found_nothing(
        db, clock, feedback, store, desk, kb, review_file, store_target):
    await feedback.record_feedback(CITIZEN, "hf-withdraw-rent", helpful=False)
    case = await asked_then_answered(feedback, store, desk, clock, "公积金租房提取每个月都能取吗",
                                     "租房提取可按月或按季办理，以当地规定为准。",
                                     route="unhelpful")
    assert await feedback.top_misses() == []
    await write_drafts(db, review_file, kb, today=TODAY)
    (draft,) = load_review(review_file)["drafts"]
    assert draft["cases"] == [{"case": case.number, "question": "公积金租房提取每个月都能取吗",
                               "asked": "答了没解决"}]

    shown = await report(Settings(data_dir=review_file.parent, **store_fields(store_target)),
                         limit=10)
    assert "待审核的知识库草稿（1" in shown
    assert draft["draft"] in shown and "公积金租房提取每个月都能取吗" in shown
    assert "待补：source 还没有填写" in shown


async def test_a_dismissed_draft_is_closed_and_its_cases_not_drafted_again(
        db, clock, feedback, store, desk, kb, review_file):
    await asked_then_answered(feedback, store, desk, clock, "你们热线几点下班",
                              "12345 热线 24 小时有人接听。")
    (draft_id,), _ = await write_drafts(db, review_file, kb, today=TODAY)
    dismiss(review_file, draft_id, "已有条目", today=TODAY)
    review = load_review(review_file)
    assert review["drafts"] == []
    assert review["closed"][0]["outcome"] == "dismissed"
    assert await write_drafts(db, review_file, kb, today=TODAY) == ([], [])


async def test_the_nightly_job_writes_the_drafts_from_the_bots_store(
        db, clock, feedback, store, desk, store_target, tmp_path, review_file):
    from types import SimpleNamespace

    from bot.telegram.app import kb_drafts

    case = await asked_then_answered(feedback, store, desk, clock, PAYBACK_QUESTION,
                                     PAYBACK_REPLY)
    settings = Settings(data_dir=review_file.parent, **store_fields(store_target))
    await kb_drafts(SimpleNamespace(bot_data=SimpleNamespace(settings=settings)))
    (draft,) = load_review(review_file)["drafts"]
    assert draft["cases"][0]["case"] == case.number
    assert draft["entry"]["topic"] == "housing_fund"
