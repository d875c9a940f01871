"""What the trained models are made from, and the hash of it that names them.

The inputs are config.yml, domain.yml, nlu/, knowledge/, data/ and the code that trains;
their sha256 names the models (models/<hash>.tar.gz and models/<hash>.classifiers.joblib),
so an unchanged project reuses its models and a changed one trains new ones.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from bot.config import ROOT

MODELS = ROOT / "models"


# Code whose change changes what is trained (the Rasa model or the saved classifiers).
TRAINING_CODE = ("bot/nlp/fingerprint.py", "bot/nlp/training.py",
                 "bot/nlp/training_data.py", "bot/nlp/classifiers.py", "bot/nlp/keywords.py",
                 "bot/nlp/keyword_mix.py",
                 "bot/nlp/search.py", "bot/nlp/topics.py", "bot/knowledge/loader.py",
                 "bot/nlp/categories.py", "bot/cases/departments.py", "bot/nlp/problems.py", "bot/nlp/vectors.py")


# Inputs of the scikit-learn classifiers only: changing them retrains those, not Rasa.
CLASSIFIER_ONLY = (
    "data/topic_letters.yml", "data/topic_keywords.yml",
    "data/category_keywords.yml", "data/departments.yml",
    "bot/nlp/classifiers.py", "bot/nlp/keywords.py", "bot/nlp/keyword_mix.py", "bot/nlp/search.py",
    "bot/nlp/topics.py", "bot/nlp/categories.py", "bot/cases/departments.py",
    "bot/nlp/problems.py", "bot/nlp/vectors.py",
)
# Read by the bot itself, not by anything trained here; the sensitive signals are read
# at filing (bot/cases/sensitive.py), so editing them retrains nothing.
NOT_TRAINED = ("data/emergencies/", "data/sensitive.yml")


def training_inputs(rasa_only: bool = False) -> list[Path]:
    files = [ROOT / "config.yml", ROOT / "domain.yml", ROOT / "requirements" / "rasa-engine.txt"]
    files += [ROOT / name for name in TRAINING_CODE]
    for folder in ("nlu", "knowledge", "data"):
        files.extend(sorted(p for p in (ROOT / folder).rglob("*") if p.is_file()
                            and not str(p.relative_to(ROOT)).startswith(NOT_TRAINED)))
    if rasa_only:
        files = [f for f in files if str(f.relative_to(ROOT)) not in CLASSIFIER_ONLY]
    return files


def content_hash(rasa_only: bool = False) -> str:
    """The name of the models trained from the current inputs (Rasa's: `rasa_only`)."""
    digest = hashlib.sha256()
    for path in training_inputs(rasa_only):
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:16]
