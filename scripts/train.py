"""Trains the Rasa model if its inputs changed; prints the model path on its last line.

usage: .venv-rasa/bin/python scripts/train.py [--force]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.training import train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--force", action="store_true", help="train even if up to date")
    args = parser.parse_args()
    print(train(force=args.force))


if __name__ == "__main__":
    main()
