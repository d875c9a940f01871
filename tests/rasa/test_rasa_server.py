"""The Rasa launcher's cached schema validation behaves like jsonschema.validate."""

from __future__ import annotations

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction

from bot.rasa.server import validate

GOOD = {"events": [{"event": "slot", "name": "case_district", "value": "崇川区"}],
        "responses": [{"text": "请问具体地址？", "buttons": []}]}


def test_a_valid_action_response_passes_every_time():
    for _ in range(3):  # a new schema dict each call, as Rasa builds it
        validate(GOOD, RemoteAction.action_response_format_spec())


@pytest.mark.parametrize("bad", [{"events": "x"}, {"events": [{"no_event_key": 1}]},
                                 {"responses": "not a list"}])
def test_an_invalid_response_raises_the_same_error_as_jsonschema(bad):
    spec = RemoteAction.action_response_format_spec()
    with pytest.raises(jsonschema.ValidationError) as ours:
        validate(bad, spec)
    with pytest.raises(jsonschema.ValidationError) as theirs:
        jsonschema.validate(bad, spec)
    assert ours.value.message == theirs.value.message


def test_an_invalid_schema_is_still_refused():
    with pytest.raises(jsonschema.SchemaError):
        validate({}, {"type": "no-such-type"})
