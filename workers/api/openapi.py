"""`/openapi.json`, generated from the route declarations, so it cannot drift from what runs."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from nfsync.workers.api.framework import ErrorBody, Route

REF = "#/components/schemas/{model}"
_ERRORS = {
    "400": "Refused (by the platform, or a request nfsync cannot carry out)",
    "401": "No or unknown bearer token",
    "403": "The token lacks the scope",
    "404": "Not found (or another organization's)",
    "422": "Invalid request",
    "503": "A dependency is unavailable",
}


def _models(routes: list[Route]) -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = [ErrorBody]
    for route in routes:
        found += [m for m in (route.body, route.query, route.response) if m is not None and m not in found]
    return found


def _parameters(route: Route, schemas: dict[str, Any]) -> list[dict[str, Any]]:
    params = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"{(\w+)}", route.path)
    ]
    if route.query is not None:
        props = schemas[route.query.__name__].get("properties", {})
        required = set(schemas[route.query.__name__].get("required", []))
        params += [{"name": n, "in": "query", "required": n in required, "schema": s} for n, s in props.items()]
    return params


def _operation(route: Route, schemas: dict[str, Any]) -> dict[str, Any]:
    success: dict[str, Any] = {"description": "OK"}
    if route.response is not None:
        success["content"] = {"application/json": {"schema": {"$ref": REF.format(model=route.response.__name__)}}}
    responses = {str(route.status): success}
    error = {"content": {"application/json": {"schema": {"$ref": REF.format(model="ErrorBody")}}}}
    for code, text in _ERRORS.items():
        if route.public and code in ("401", "403"):
            continue
        responses[code] = {"description": text, **error}
    operation: dict[str, Any] = {
        "summary": route.summary,
        "operationId": route.handler.__name__,
        "tags": list(route.tags),
        "parameters": _parameters(route, schemas),
        "responses": responses,
    }
    if not route.public:
        operation["security"] = [{"bearer": []}]
    if route.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": REF.format(model=route.body.__name__)}}},
        }
    return operation


def build_openapi(routes: list[Route], version: str) -> dict[str, Any]:
    _, top = models_json_schema([(m, "validation") for m in _models(routes)], ref_template=REF)
    schemas: dict[str, Any] = top.get("$defs", {})
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, schemas)
    return {
        "openapi": "3.1.0",
        "info": {"title": "nfsync", "version": version, "description": "NextFlow CRM <-> marketplaces sync service"},
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }
