#!/usr/bin/env bash
# The evaluation figures: Rasa's report on the held-out NLU split, the project's own
# held-out sets, and the real public messages in ../shared/eval (measured, never trained on).
set -euo pipefail
cd "$(dirname "$0")/.."
export RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2 PYTHONPATH="$PWD" PYTHONWARNINGS=ignore
model=$(.venv-rasa/bin/python scripts/train.py 2>/dev/null | tail -n 1)
out=build/eval
mkdir -p "$out"

echo "== Rasa NLU report on testsets/nlu.yml (held out, never trained on)"
.venv-rasa/bin/rasa test nlu --nlu testsets/nlu.yml --model "$model" --out "$out/nlu" > "$out/rasa-test.log" 2>&1
.venv-rasa/bin/python - "$out/nlu/intent_report.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
print(f"{'intent':<18}{'precision':>10}{'recall':>8}{'f1':>8}{'support':>9}")
for name, row in sorted(report.items()):
    if isinstance(row, dict) and "support" in row and name not in ("micro avg", "macro avg", "weighted avg"):
        print(f"{name:<18}{row['precision']:>10.3f}{row['recall']:>8.3f}{row['f1-score']:>8.3f}{row['support']:>9}")
print(f"accuracy {report['accuracy']:.3f}   macro F1 {report['macro avg']['f1-score']:.3f}   "
      f"weighted F1 {report['weighted avg']['f1-score']:.3f}")
PY
echo "(full report, confusion matrix and errors in $out/nlu/)"

echo
echo "== The project's held-out sets (testsets/)"
.venv-rasa/bin/python -m bot.nlp.evaluate

echo
echo "== Emergencies (testsets/emergencies*.yml, look-alikes, ordinary messages)"
.venv/bin/python -m bot.nlp.evaluate_emergencies --json "$out/emergencies.json"

if [ -f ../shared/eval/score.py ]; then
    echo
    echo "== Real public messages (../shared/eval), through make triage"
    python3 ../shared/eval/score.py -- make -s triage

    echo
    echo "== Learning from the agents: category_dev replayed k-fold through make learn's loop"
    echo "   (each fold learned from the other four in a scratch data folder, then classified)"
    .venv-rasa/bin/python scripts/replay_learning.py ../shared/eval/category_dev.jsonl \
        --json "$out/learning.json" 2>/dev/null | grep -E "^(fold|mean)"
    echo "(figures saved in $out/learning.json)"
fi
