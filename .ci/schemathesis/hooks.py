"""schemathesis hooks of .ci/contract.

- `shape_refusals`: positive_data_acceptance is told (schemathesis.toml) that 422 may answer a schema-valid
  request, because business rules are refused with 422. This check keeps that from hiding a document that is
  looser than the server: a 422 answer to a schema-valid request fails when one of its reasons is one the schema
  could state itself (a length, a pattern, a type, nullability, an unknown field).
- `before_call`: two things a generator cannot know. A list cursor is opaque: only a `next_cursor` the list
  handed out is valid (a rule the document states in words), so a made-up cursor is dropped from a schema-valid
  request rather than sent. And the stateful phase may carry a `null` id of one response (a token without an
  organisation) into the path of the next request as the text `None`; such an id is sent as the nil UUID.
  And a long poll of the change feed (`wait`, up to 30 s) is held to 1 s: with nothing changing it would
  only wait out the whole time (past the request timeout) before the same kind of answer.
"""

import re

import schemathesis

# Messages of the server's field errors that speak of a value's shape, not of a business rule.
SHAPE = re.compile(
    r"^(is required|may not be null|is read-only|is not a field of this resource|must not contain the NUL character"
    r"|must be a JSON object)$"
    r"|characters|digits|invalid type|unknown variant|invalid value|invalid length|expected "
)

NIL_UUID = "00000000-0000-0000-0000-000000000000"


def _positive(case):
    meta = case.meta
    return meta is not None and meta.generation.mode.is_positive


@schemathesis.check
def shape_refusals(ctx, response, case):
    """A schema-valid request is refused with 422 only for a business rule."""
    if not _positive(case) or response.status_code != 422:
        return None
    try:
        errors = response.json().get("errors") or []
    except ValueError:
        return None
    shape = [e for e in errors if SHAPE.search(str(e.get("message", "")))]
    if shape:
        reasons = "; ".join(f"{e.get('field')}: {e.get('message')}" for e in shape)
        raise AssertionError(f"A schema-valid request was refused for a reason the schema could state: {reasons}")
    return None


@schemathesis.hook
def before_call(context, case, kwargs):
    if case.query and "cursor" in case.query and _positive(case):
        del case.query["cursor"]
    wait = (case.query or {}).get("wait")
    if case.operation.path == "/api/v1/changes" and isinstance(wait, int) and 1 < wait <= 30:
        case.query["wait"] = 1
    if case.path_parameters:
        for name, value in list(case.path_parameters.items()):
            if value is None or value == "None":
                case.path_parameters[name] = NIL_UUID
