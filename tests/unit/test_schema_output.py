"""Schema-constrained output is checked after generation: grammars bound shape, lengths and
enums, but not numeric ranges, so those are caught here as a clear error."""

import pytest

from sutazai.lib.errors import ModelOutputInvalid
from sutazai.lib.models.interface import validate_schema_output

SCHEMA = {"type": "object", "properties": {"p": {"type": "number", "maximum": 1}}, "required": ["p"]}


def test_valid_output_passes() -> None:
    validate_schema_output('{"p": 0.5}', SCHEMA, "m")


@pytest.mark.parametrize(("text", "fragment"), [
    ('{"p": 100}', "breaks the schema: 100 is greater than the maximum of 1"),
    ("{p: 1", "not JSON"),
    ("{}", "'p' is a required property"),
])
def test_invalid_output_is_a_clear_error(text: str, fragment: str) -> None:
    with pytest.raises(ModelOutputInvalid, match=fragment.replace("(", r"\(")):
        validate_schema_output(text, SCHEMA, "m")
