"""The API's own tokens over HTTP: list them (never their values) and revoke one. A tenant sees and revokes only its
organization's tokens (another's is a 404); an operator any. Creating tokens stays a command (`nfsync tokens
create`): a token must not be able to mint a wider one."""

from __future__ import annotations

import uuid

from pydantic import BaseModel

from nfsync.workers.api.auth import list_tokens, revoke_token
from nfsync.workers.api.framework import Api, Call, UtcDateTime
from nfsync.workers.api.state import API_STATE

api = Api()


class TokenOut(BaseModel):
    id: uuid.UUID
    kind: str
    organization_id: uuid.UUID | None
    name: str
    scopes: list[str]
    created_at: UtcDateTime
    last_used_at: UtcDateTime | None
    expires_at: UtcDateTime | None
    revoked_at: UtcDateTime | None


class TokenList(BaseModel):
    items: list[TokenOut]


@api.route(
    "GET",
    "/v1/tokens",
    summary="The organization's API tokens (values are never shown)",
    scope="integrations:write",
    response=TokenList,
    tags=("tokens",),
)
async def get_tokens(call: Call) -> TokenList:
    rows = await list_tokens(call.request.app[API_STATE].tenant_pool, call.tenant)
    return TokenList(items=[TokenOut.model_validate(row) for row in rows])


@api.route(
    "POST",
    "/v1/tokens/{token_id}/revoke",
    summary="Revoke a token at once",
    scope="integrations:write",
    response=TokenOut,
    tags=("tokens",),
)
async def revoke(call: Call) -> TokenOut:
    return TokenOut.model_validate(
        await revoke_token(call.request.app[API_STATE].tenant_pool, call.path_uuid("token_id"), call.tenant)
    )
