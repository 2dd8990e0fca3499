"""Checking an API response against the OpenAPI schema drf-spectacular generates (OpenAPI 3.0: `nullable`
is turned into JSON Schema's null type so jsonschema can validate). The role-dependent responses are
`oneOf` variants without a discriminator, where a body may fit two (an empty answers list; a case payload
also carries `finished`, `done` and `total`): a body must fit at least one, so `oneOf` is read as `anyOf`."""

import re

from drf_spectacular.generators import SchemaGenerator
from jsonschema import Draft202012Validator


def api_schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def _json_schema(node):
    if isinstance(node, list):
        return [_json_schema(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {("anyOf" if k == "oneOf" else k): _json_schema(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable"):
        return {"anyOf": [out, {"type": "null"}]}
    return out


def response_schema(schema: dict, path: str, method: str, status: int) -> dict | None:
    """The JSON schema of one response of the operation whose path template matches `path`."""
    for template, operations in schema["paths"].items():
        if re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", template), path) and method.lower() in operations:
            content = operations[method.lower()]["responses"].get(str(status), {}).get("content", {})
            return content.get("application/json", {}).get("schema")
    return None


def schema_errors(schema: dict, path: str, method: str, status: int, body) -> list[str]:
    """Why `body` does not conform to the schema of that response ([] when it does)."""
    sub = response_schema(schema, path, method, status)
    if sub is None:
        return [f"{method} {path}: no schema for status {status}"]
    root = {**_json_schema(sub), "components": _json_schema(schema["components"])}
    return [f"{method} {path}: {e.json_path}: {e.message}"[:300] for e in Draft202012Validator(root).iter_errors(body)]
