"""The topic classifier: what it is taught, and when it overrules the intent."""

from __future__ import annotations

from bot.knowledge.loader import TOPICS
from bot.nlp.search import normalize
from bot.nlp.training_data import case_examples
from tests.rasa.conftest import MISREAD_QUESTION


def test_case_examples_about_a_topic_are_not_taught_as_no_topic(classifiers):
    about = [e for e in case_examples() if e.topic]
    assert about and all(e.topic in TOPICS for e in about)
    learned = classifiers.topics.pipeline  # without the keyword lists' help
    # Taught as their topic, not as "none", so the learned part reads them back as it
    # (taught as "none", it read 2 of 15 as their topic).
    predicted = learned.predict([normalize(e.text) for e in about])
    assert sum(p == e.topic for p, e in zip(predicted, about, strict=True)) >= 0.9 * len(about)


def test_a_clear_policy_topic_needs_length_and_probability(classifiers):
    topics = classifiers.topics
    assert topics.clear_policy_topic(MISREAD_QUESTION) == "unemployment"
    assert topics.predict("失业金") == "unemployment"
    assert topics.clear_policy_topic("失业金") is None  # too short to overrule the intent
    assert topics.clear_policy_topic("今天天气真不错，适合出去走走，你觉得呢") is None


def test_reading_many_at_once_gives_what_reading_one_by_one_gives(classifiers):
    texts = ["租房可以提取公积金吗", "我现在还在领失业保险金，剩下几个月能不能一次性领走", "你好",
             "小区门口烧烤摊油烟太大，晚上吵得睡不着", "孩子出生了怎么上户口、办医保", ""]
    topics, cases = classifiers.topics, classifiers.cases

    def topic_rows(guesses):
        return [(g.topic, round(g.probability, 9)) for g in guesses]

    def case_rows(guesses):
        return [(g.category, g.department, round(g.probability, 9)) for g in guesses]

    assert topic_rows(topics.guesses(texts)) == topic_rows(map(topics.guess, texts))
    assert case_rows(cases.predict_many(texts)) == case_rows(map(cases.predict, texts))
    for text, found in zip(texts, classifiers.search.find_many(texts, k=3), strict=True):
        one = classifiers.search.find(text, k=3)
        assert [h.entry.id for h in found.hits] == [h.entry.id for h in one.hits]
        assert [round(h.probability, 9) for h in found.hits] == \
            [round(h.probability, 9) for h in one.hits]
        assert round(found.closeness, 9) == round(one.closeness, 9)
