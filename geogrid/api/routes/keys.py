"""API keys (admin only). Keys are created with `geogrid keys create`."""

from __future__ import annotations

from fastapi import APIRouter

from geogrid.access import keys
from geogrid.access.roles import Permission
from geogrid.api.deps import ConnDep, require
from geogrid.api.schemas.lookup import KeyInfo

router = APIRouter(prefix="/v1/keys", tags=["keys"], dependencies=[require(Permission.manage_keys)])


@router.get("")
def list_keys(conn: ConnDep) -> list[KeyInfo]:
    """Every API key (names, roles, prefixes; never the secrets)."""
    return [
        KeyInfo(
            name=k.name,
            role=k.role.name,
            prefix=k.prefix,
            created_at=k.created_at.isoformat(),
            revoked_at=None if k.revoked_at is None else k.revoked_at.isoformat(),
            department=k.department,
            owner=k.owner,
        )
        for k in keys.list_keys(conn)
    ]
