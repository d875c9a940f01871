"""Runs the `rasa` command line with one measured speed-up; used by `make run` and the tests.

Rasa checks every action server response against a fixed JSON schema with
`jsonschema.validate`, which first re-validates the schema itself on every call. Under
load that was over a third of the Rasa server's CPU time (py-spy, `make bench`). Here
the validator for each schema is built once and reused: responses are still validated
against the same schema, with the same errors raised.

usage: .venv-rasa/bin/python -m bot.rasa.server run …   (the arguments of `rasa`)
"""

from __future__ import annotations

import json
import sys
from typing import Any

import jsonschema

_original_validate = jsonschema.validate
_validators: dict[str, Any] = {}


def validate(instance: Any, schema: dict, cls: Any = None, *args: Any, **kwargs: Any) -> None:
    """`jsonschema.validate` with the schema checked once and its validator cached."""
    if cls is not None or args or kwargs:
        return _original_validate(instance, schema, cls, *args, **kwargs)
    key = json.dumps(schema, sort_keys=True, default=str)
    validator = _validators.get(key)
    if validator is None:
        validator_class = jsonschema.validators.validator_for(schema)
        validator_class.check_schema(schema)
        validator = _validators[key] = validator_class(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
    if error is not None:
        raise error
    return None


def main() -> None:
    jsonschema.validate = validate
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
