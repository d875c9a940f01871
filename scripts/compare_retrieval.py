"""Compares ways of finding the knowledge entry for a question, on testsets/knowledge.yml.

Candidates: nearest example by TF-IDF cosine (character n-grams), a logistic
regression over entries (what bot/nlp/search.py uses), and Rasa's own
ResponseSelector trained on the same examples as retrieval intents. Prints top-1
and top-3 accuracy on the held-out questions and the time per question. The
ResponseSelector model is trained in a scratch folder (a few minutes).

usage: .venv-rasa/bin/python scripts/compare_retrieval.py [--skip-rasa]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.knowledge.loader import load_knowledge  # noqa: E402 - after the path is set
from bot.nlp.search import KnowledgeSearch, normalize  # noqa: E402

RS_CONFIG = """recipe: default.v1
language: zh
assistant_id: compare
pipeline:
  - name: JiebaTokenizer
    dictionary_path: {jieba}
  - name: CountVectorsFeaturizer
  - name: CountVectorsFeaturizer
    analyzer: char_wb
    min_ngram: 1
    max_ngram: 3
  - name: DIETClassifier
    epochs: 30
    number_of_transformer_layers: 0
    entity_recognition: false
  - name: ResponseSelector
    epochs: 60
    retrieval_intent: faq
    number_of_transformer_layers: 0
policies: []
"""


def held_out() -> list[tuple[str, str]]:
    items = yaml.safe_load((ROOT / "testsets" / "knowledge.yml").read_text(encoding="utf-8"))
    return [(q, item["entry"]) for item in items if item["entry"] for q in item["questions"]]


def score(name: str, pairs: list[tuple[str, str]], rank) -> None:
    started = time.perf_counter()
    top1 = top3 = 0
    for question, entry in pairs:
        ranked = rank(question)[:3]
        top1 += bool(ranked) and ranked[0] == entry
        top3 += entry in ranked
    per = (time.perf_counter() - started) / len(pairs) * 1000
    print(f"{name:<42} top-1 {top1 / len(pairs):.3f}  top-3 {top3 / len(pairs):.3f}  {per:.1f} ms/question")


def nearest_example(kb):
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts, owners = [], []
    for index, entry in enumerate(kb.entries):
        for example in entry.examples:
            texts.append(normalize(example))
            owners.append(index)
    owners = np.array(owners)
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True)
    matrix = vectorizer.fit_transform(texts)

    def rank(question: str) -> list[str]:
        sims = (matrix @ vectorizer.transform([normalize(question)]).T).toarray().ravel()
        best = np.full(len(kb.entries), -1.0)
        np.maximum.at(best, owners, sims)
        return [kb.entries[i].id for i in np.argsort(-best)[:3]]

    return rank


def response_selector(kb, workdir: Path):
    data = workdir / "data"
    data.mkdir()
    lines = ['version: "3.1"', "nlu:"]
    responses = ["version: \"3.1\"", "intents:", "  - faq", "  - other", "responses:"]
    for entry in kb.entries:
        lines += [f"  - intent: faq/{entry.id}", "    examples: |"]
        lines += [f"      - {' '.join(e.split())}" for e in entry.examples]
        responses += [f"  utter_faq/{entry.id}:", f"    - text: \"{entry.id}\""]
    lines += ["  - intent: other", "    examples: |", "      - 你好", "      - 再见", "      - 谢谢"]
    (data / "nlu.yml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (workdir / "domain.yml").write_text("\n".join(responses) + "\n", encoding="utf-8")
    (workdir / "config.yml").write_text(RS_CONFIG.format(jieba=ROOT / "nlu" / "jieba"))
    started = time.perf_counter()
    subprocess.run([str(Path(sys.executable).with_name("rasa")), "train", "nlu", "--nlu",
                    str(data), "--config", "config.yml", "--domain", "domain.yml", "--out",
                    "models", "--fixed-model-name", "rs"], cwd=workdir, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print(f"(ResponseSelector trained in {time.perf_counter() - started:.0f} s)")
    from rasa.core.agent import Agent

    agent = Agent.load(str(workdir / "models" / "rs.tar.gz"))

    def rank(question: str) -> list[str]:
        parsed = asyncio.run(agent.parse_message(question))
        ranking = parsed.get("response_selector", {}).get("faq", {}).get("ranking", [])
        return [r["intent_response_key"].split("/", 1)[1] for r in ranking[:3]]

    return rank


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skip-rasa", action="store_true", help="leave out the ResponseSelector")
    args = parser.parse_args()
    kb = load_knowledge()
    pairs = held_out()
    print(f"{len(pairs)} held-out questions, {len(kb)} entries")
    score("nearest example (TF-IDF char_wb 1-3)", pairs, nearest_example(kb))
    search = KnowledgeSearch(kb)
    score("logistic regression over entries (in use)", pairs,
          lambda q: [h.entry.id for h in search.find(q, k=3).hits])
    if not args.skip_rasa:
        with tempfile.TemporaryDirectory() as tmp:
            score("Rasa ResponseSelector", pairs, response_selector(kb, Path(tmp)))


if __name__ == "__main__":
    main()
