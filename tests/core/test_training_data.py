"""The editable data files load, and no training text is given two intents."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.cases.departments import DISTRICTS, DepartmentError, load_directory
from bot.config import ROOT
from bot.knowledge.loader import TOPICS, load_knowledge
from bot.nlp.keywords import load_keywords
from bot.nlp.training_data import (
    CATEGORIES,
    CATEGORY_KEYWORDS,
    TOPIC_KEYWORDS,
    TrainingDataError,
    _case_examples,
    _nlu_index,
    case_examples,
    topic_letters,
)

INTENT_BY_KIND = {"complaint": "file_complaint", "help": "file_help",
                  "suggestion": "file_suggestion", "report": "file_report"}


def test_no_text_is_labelled_with_two_intents():
    owners: dict[str, set[str]] = {}
    for intent, examples in _nlu_index().items():
        for text in examples:
            owners.setdefault(text, set()).add(intent)
    for entry in load_knowledge().entries:
        for text in entry.examples:
            owners.setdefault(text, set()).add("ask_policy")
    for example in case_examples():
        owners.setdefault(example.text, set()).add(INTENT_BY_KIND[example.kind])
    clashes = {text: intents for text, intents in owners.items() if len(intents) > 1}
    assert clashes == {}


def test_a_case_example_may_name_the_policy_topic_it_is_about(tmp_path: Path):
    path = tmp_path / "cases.yml"
    path.write_text("- {category: 政法, kind: help, topic: household_registration, text: 户口怎么迁}\n"
                    "- {category: 政法, kind: help, text: 被骗了怎么报案}\n", encoding="utf-8")
    assert [e.topic for e in _case_examples(path)] == ["household_registration", None]
    bad = tmp_path / "bad.yml"
    bad.write_text("- {category: 政法, kind: help, topic: 户口, text: 户口怎么迁}\n", encoding="utf-8")
    with pytest.raises(TrainingDataError, match=r"bad.yml: item 1: unknown topic '户口'"):
        _case_examples(bad)


def test_case_examples_cover_every_category():
    found = {e.category for e in case_examples()}
    assert found == set(CATEGORIES)


def test_held_out_letters_cover_every_category_and_are_never_trained_on():
    trained = {e.text for e in case_examples()} | {t.text for t in topic_letters()}
    for name, key, labels in (("category_letters.yml", "category", set(CATEGORIES)),
                              ("cases.yml", "category", set(CATEGORIES)),
                              ("topic_letters.yml", "topic", set(TOPICS)),
                              ("topic_letters_2.yml", "topic", set(TOPICS)),
                              ("topic_letters_3.yml", "topic", set(TOPICS)),
                              ("topic_letters_4.yml", "topic", set(TOPICS))):
        held_out = yaml.safe_load((ROOT / "testsets" / name).read_text("utf-8"))
        assert {item[key] for item in held_out} <= labels
        assert not trained & {" ".join(item["text"].split()) for item in held_out}, name
    letters = yaml.safe_load((ROOT / "testsets" / "category_letters.yml").read_text("utf-8"))
    assert {item["category"] for item in letters} == set(CATEGORIES)


def test_topic_letters_use_known_topics():
    assert {letter.topic for letter in topic_letters()} <= set(TOPICS)


def test_keyword_lists_name_known_labels():
    assert set(load_keywords(TOPIC_KEYWORDS).labels) <= set(TOPICS)
    assert set(load_keywords(CATEGORY_KEYWORDS).labels) == set(CATEGORIES)


def test_every_category_routes_to_a_department():
    directory = load_directory()
    for category in CATEGORIES:
        assert directory.route(category, "") is not None, category


def test_routing_rules_by_keyword_topic_and_district():
    directory = load_directory()
    assert directory.route("环境保护", "楼下烧烤店油烟太大").short == "城管"
    assert directory.route("环境保护", "化工厂晚上偷排废水").short == "生态环境"
    assert directory.route("劳动和社会保障", "单位不交", topic="housing_fund").short == "公积金中心"
    assert directory.route("农村农业", "土地流转", district="如皋市").short == "如皋市"
    assert directory.route("农村农业", "土地流转").short == "农业农村"
    assert directory.find("住建").name == "南通市住房和城乡建设局"
    assert directory.find("南通市卫生健康委员会").short == "卫健"
    assert directory.find("火星局") is None
    assert len(DISTRICTS) == 7


def test_a_rule_naming_an_unknown_department_is_refused(tmp_path: Path):
    bad = tmp_path / "departments.yml"
    bad.write_text((ROOT / "data" / "departments.yml").read_text(encoding="utf-8")
                   .replace("department: civil}", "department: nowhere}", 1), encoding="utf-8")
    with pytest.raises(DepartmentError, match="unknown department 'nowhere'"):
        load_directory.__wrapped__(bad)


def test_review_dates_are_checked_against_china_s_date_not_the_server_s(tmp_path, monkeypatch):
    """At 04:00 in China the UTC date is still yesterday; an entry reviewed today is valid."""
    import datetime as real

    from bot.knowledge import loader

    utc_now = real.datetime(2026, 12, 6, 20, 0, tzinfo=real.UTC)

    class AnyDate(type):
        def __instancecheck__(cls, obj):
            return isinstance(obj, real.date)

    class ServerDate(real.date, metaclass=AnyDate):
        @classmethod
        def today(cls):
            return utc_now.date()  # what date.today() says on a UTC host

    class ServerClock(real.datetime):
        @classmethod
        def now(cls, tz=None):
            return utc_now.astimezone(tz) if tz else utc_now.replace(tzinfo=None)

    monkeypatch.setattr(loader, "date", ServerDate)
    monkeypatch.setattr(loader, "datetime", ServerClock, raising=False)
    entry = {"id": "hot-test", "topic": "hotline", "question": "测试问题？",
             "paraphrases": [f"测试说法{i}" for i in range(8)], "answer": "测试答案。",
             "channel": "12345", "source": "测试", "reviewed": real.date(2026, 12, 7)}
    (tmp_path / "hotline.yml").write_text(yaml.safe_dump([entry], allow_unicode=True),
                                          encoding="utf-8")
    assert [e.id for e in loader.load_knowledge(tmp_path).entries] == ["hot-test"]
