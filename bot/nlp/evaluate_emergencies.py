"""The emergency detector on the project's held-out sets, never trained on.

* `testsets/emergencies.yml`, `emergencies_2.yml` … `_4.yml`: emergencies typed in panic
  (recall: answered as an emergency, or with the number first);
* `testsets/emergency_lookalikes.yml` … `_4.yml`: past events, all-clears,
  policy questions, hazards and figures of speech that reuse emergency words (false
  alarms);

The first three pairs were read while the signs and thresholds were set (development);
the fourth, written last in other hands, only confirms.
* ordinary messages: the held-out knowledge questions, case letters, category letters
  and NLU test sentences (false alarms).

usage: python -m bot.nlp.evaluate_emergencies [--show] [--json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import yaml

from bot.config import ROOT
from bot.nlp.emergency import assess_many
from bot.safety.emergency import Assessment, Level

TESTSETS = ROOT / "testsets"


def _yaml(name: str) -> list:
    return yaml.safe_load((TESTSETS / name).read_text(encoding="utf-8")) or []


def ordinary_heldout() -> list[str]:
    """Held-out everyday messages of every other kind."""
    texts = [q for block in _yaml("knowledge.yml") for q in block["questions"]]
    texts += [item["text"] for item in _yaml("cases.yml")]
    texts += [item["text"] for item in _yaml("category_letters.yml")]
    for block in _yaml("nlu.yml")["nlu"] if isinstance(_yaml("nlu.yml"), dict) else []:
        texts += [line.strip()[2:] for line in str(block.get("examples", "")).splitlines()
                  if line.strip().startswith("- ")]
    return texts


SETS = {"dev": ("emergencies.yml", "emergency_lookalikes.yml"),
        "dev_2": ("emergencies_2.yml", "emergency_lookalikes_2.yml"),
        "dev_3": ("emergencies_3.yml", "emergency_lookalikes_3.yml"),
        "heldout": ("emergencies_4.yml", "emergency_lookalikes_4.yml")}


def figures(show: bool = False) -> dict:
    ordinary = ordinary_heldout()
    plain = assess_many(ordinary)
    result: dict = {}
    for name, (positives, negatives) in SETS.items():
        emergencies, lookalikes = _yaml(positives), _yaml(negatives)
        found = assess_many(item["text"] for item in emergencies)
        alike = assess_many(item["text"] for item in lookalikes)
        right_kind = [a.kind is not None and a.kind.value == item["kind"]
                      for a, item in zip(found, emergencies, strict=True)]
        result[name] = {
            "emergencies": len(emergencies),
            "recall": _share(a.alarming for a in found),
            "recall_full_answer": _share(a.level is Level.EMERGENCY for a in found),
            "kind_right": _share(right_kind),
            "lookalikes": len(lookalikes),
            "lookalike_alarm_rate": _share(a.alarming for a in alike),
            "lookalike_answered_as_emergency": _share(a.level is Level.EMERGENCY for a in alike),
            "lookalike_number_first": _share(a.level is Level.DOUBT for a in alike),
            "near_misses": {"emergencies": sum(a.level is Level.NEAR_MISS for a in found),
                            "lookalikes": sum(a.level is Level.NEAR_MISS for a in alike)},
        }
        if show:
            _show(f"{name}: missed emergencies",
                  [(i["text"], a) for i, a in zip(emergencies, found, strict=True)
                   if not a.alarming])
            _show(f"{name}: wrong kind",
                  [(f"{i['text']} [{i['kind']}]", a)
                   for i, a, ok in zip(emergencies, found, right_kind, strict=True)
                   if a.alarming and not ok])
            _show(f"{name}: look-alikes alarmed",
                  [(i["text"], a) for i, a in zip(lookalikes, alike, strict=True) if a.alarming])
    result["ordinary"] = {"messages": len(ordinary),
                          "alarm_rate": _share(a.alarming for a in plain),
                          "answered_as_emergency": _share(a.level is Level.EMERGENCY for a in plain),
                          "near_misses": sum(a.level is Level.NEAR_MISS for a in plain)}
    if show:
        _show("ordinary alarmed", [(t, a) for t, a in zip(ordinary, plain, strict=True)
                                   if a.alarming])
    return result


def _share(flags) -> float:
    flags = list(flags)
    return round(sum(flags) / len(flags), 4) if flags else 0.0


def _show(title: str, rows: list[tuple[str, Assessment]]) -> None:
    print(f"-- {title} ({len(rows)})")
    for text, a in rows:
        print(f"  {a.level.value:9} {a.kind or '-':14} p={a.probability:.2f} "
              f"signs={','.join(a.signs) or '-'} calm={','.join(a.calm) or '-'} | {text[:70]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--show", action="store_true", help="list every miss and false alarm")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    result = figures(args.show)
    text = json.dumps(result, ensure_ascii=False, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
