"""The OGC API's own definition in OpenAPI 3.0, at ``/ogc/api`` (its ``service-desc``).

OGC API – Features declares its API definition in OpenAPI 3.0, and GDAL's OAPIF driver reads
it as 3.0 (it takes the page size from the ``limit`` parameter's maximum there). FastAPI writes
3.1 only, and no maintained library converts 3.1 down, so the ``/ogc`` part of geogrid's
document (:func:`geogrid.api.openapi.build`) is rewritten here with the few rules that separate
the two versions for what FastAPI emits:

- ``anyOf: [X, {type: null}]`` and ``type: [X, "null"]`` become ``X`` with ``nullable: true``
  (a ``$ref`` is wrapped in ``allOf``, since 3.0 ignores siblings of a ``$ref``);
- a schema's ``examples`` list becomes ``example`` (its first);
- ``const`` becomes a one-value ``enum``; a numeric ``exclusiveMinimum``/``exclusiveMaximum``
  becomes the bound with the boolean flag.

Only the schemas the ``/ogc`` paths reach are kept.
"""

from __future__ import annotations

import copy
from typing import Any

from geogrid.features import MAX_LIMIT

VERSION = "3.0.3"
_REF = "#/components/schemas/"


def _downgrade_schema(schema: dict[str, Any]) -> dict[str, Any]:
    out = {k: _downgrade(v, key=k) for k, v in schema.items()}
    options = out.get("anyOf")
    if isinstance(options, list) and any(o == {"type": "null"} for o in options):
        kept = [o for o in options if o != {"type": "null"}]
        del out["anyOf"]
        out["nullable"] = True
        if len(kept) == 1 and "$ref" in kept[0]:
            out["allOf"] = kept
        elif len(kept) == 1:
            out = {**kept[0], **out}
        else:
            out["anyOf"] = kept
    kind = out.get("type")
    if isinstance(kind, list):
        rest = [t for t in kind if t != "null"]
        out["type"] = rest[0] if len(rest) == 1 else rest
        if "null" in kind:
            out["nullable"] = True
    if isinstance(out.get("examples"), list):
        examples = out.pop("examples")
        if examples:
            out["example"] = examples[0]
    if "const" in out:
        out["enum"] = [out.pop("const")]
    for bound, flag in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(out.get(bound), int | float) and not isinstance(out[bound], bool):
            out[flag] = out[bound]
            out[bound] = True
    return out


def _downgrade(node: Any, key: str = "") -> Any:
    if isinstance(node, list):
        return [_downgrade(v) for v in node]
    if not isinstance(node, dict):
        return node
    if key in ("schema", "items", "additionalProperties") or "type" in node or "anyOf" in node:
        return _downgrade_schema(node)
    if key in ("properties", "schemas"):
        return {k: _downgrade_schema(v) if isinstance(v, dict) else v for k, v in node.items()}
    return {k: _downgrade(v, key=k) for k, v in node.items()}


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"][len(_REF) :]} if str(node.get("$ref", "")).startswith(_REF) else set()
        for value in node.values():
            found |= _refs(value)
        return found
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node)) if node else set()
    return set()


def _limit_maximum(paths: dict[str, Any]) -> None:
    """Say the page size geogrid uses at most, as OGC's own limit parameter does."""
    for item in paths.values():
        for operation in item.values():
            for parameter in operation.get("parameters", ()):
                if parameter.get("name") == "limit":
                    parameter["schema"]["maximum"] = MAX_LIMIT


def ogc_document(full: dict[str, Any]) -> dict[str, Any]:
    """The ``/ogc`` operations of ``full`` (geogrid's OpenAPI 3.1 document) as OpenAPI 3.0."""
    paths = copy.deepcopy({p: v for p, v in full["paths"].items() if p.startswith("/ogc")})
    _limit_maximum(paths)
    schemas = full.get("components", {}).get("schemas", {})
    wanted: set[str] = set()
    todo = _refs(paths)
    while todo:
        name = todo.pop()
        if name in wanted or name not in schemas:
            continue
        wanted.add(name)
        todo |= _refs(schemas[name])
    components: dict[str, Any] = {"schemas": {n: copy.deepcopy(schemas[n]) for n in sorted(wanted)}}
    if "securitySchemes" in full.get("components", {}):
        components["securitySchemes"] = full["components"]["securitySchemes"]
    info = dict(full["info"])
    info["title"] = f"{info.get('title', 'geogrid')} — OGC API – Features"
    info.pop("summary", None)  # 3.1 only
    document = {"openapi": VERSION, "info": info, "paths": paths, "components": components}
    return _downgrade(document)  # type: ignore[no-any-return]
