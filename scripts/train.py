"""Trains the Rasa model if its inputs changed, and embeds the emergency paraphrases the bot
trains on (cached in models/, so the bot starts in seconds); prints the model path on its
last line.

usage: .venv-rasa/bin/python scripts/train.py [--force]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.nlp import emergency
from bot.nlp.training import train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--force", action="store_true", help="train even if up to date")
    args = parser.parse_args()
    model = train(force=args.force)
    emergency.model()  # validates data/emergencies/ and fills the vector cache
    print(model)


if __name__ == "__main__":
    main()
