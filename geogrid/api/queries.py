"""Query parameters read by one pydantic model, without FastAPI's per-parameter machinery.

On the two hottest routes (locate, nearest station) FastAPI's handling of four or five query
parameters costs about 24 µs of a 57 µs request (measured in-process, thread CPU time); one
``model_validate`` of a model with the same fields costs about 1 µs. The model stays the
contract: it validates (errors answer 422 exactly as FastAPI's would) and it declares the
parameters in the OpenAPI document (:func:`query_parameters`).
"""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


def read_query(model: type[M], request: Request) -> M:
    """The request's query parameters as ``model`` (422 naming each bad parameter)."""
    try:
        return model.model_validate(dict(request.query_params))
    except ValidationError as error:
        raise RequestValidationError(
            [{**e, "loc": ("query", *e["loc"])} for e in error.errors(include_url=False)]
        ) from None


def query_parameters(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra=`` declaring ``model``'s fields as the operation's query parameters."""
    schema = model.model_json_schema()
    required = set(schema.get("required", ()))
    parameters = []
    for name, field in schema["properties"].items():
        field = dict(field)
        field.pop("title", None)
        description = field.pop("description", None)
        parameter: dict[str, Any] = {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": field,
        }
        if description:
            parameter["description"] = description
        parameters.append(parameter)
    return {"parameters": parameters}


__all__ = ["query_parameters", "read_query"]
