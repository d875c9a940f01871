"""Is this message a problem in daily life (noise, a broken streetlight, wages owed) rather
than chat? A problem is offered filing even when the citizen never wrote 投诉 or 举报.

A logistic regression over character 1-3 grams, trained on the case examples
(data/case_examples.yml) against the small talk and out-of-scope examples of nlu/.
Needs scikit-learn (Rasa environment).
"""

from __future__ import annotations

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from bot.nlp.search import normalize
from bot.nlp.training_data import case_examples, nlu_examples

CHAT_INTENTS = ("chitchat", "out_of_scope", "greet", "goodbye", "thanks", "affirm", "deny")
# Below this length a message tells too little to be filed.
MIN_LENGTH = 8
THRESHOLD = 0.45


class ProblemDetector:
    def __init__(self, pipeline) -> None:
        self.pipeline = pipeline

    @classmethod
    def train(cls) -> ProblemDetector:
        problems = [example.text for example in case_examples()]
        chat = [text for intent in CHAT_INTENTS for text in nlu_examples(intent)]
        pipeline = make_pipeline(
            TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True),
            LogisticRegression(C=10, class_weight="balanced", max_iter=2000))
        pipeline.fit([normalize(t) for t in problems + chat], [1] * len(problems) + [0] * len(chat))
        return cls(pipeline)

    def probability(self, text: str) -> float:
        return float(self.pipeline.predict_proba([normalize(text)])[0, 1])

    def is_problem(self, text: str) -> bool:
        """A daily-life problem worth offering to file."""
        return len(text.strip()) >= MIN_LENGTH and self.probability(text) >= THRESHOLD
