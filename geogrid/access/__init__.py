"""Who may do what: roles and their permissions, API keys, people who sign in, their
sessions, the audit log, rate limits and the masking of personal data.

Modules: ``audit``, ``keys``, ``passwords``, ``ratelimits``, ``roles``, ``sessions``,
``users``.
"""

from geogrid.access.keys import KEYS_CHANNEL, KeyCache
from geogrid.access.roles import (
    ANONYMOUS,
    PERMISSION_ZH,
    ROLE_PERMISSIONS,
    ROLE_ZH,
    Permission,
    Principal,
    Role,
    mask_name,
    mask_phone,
)
from geogrid.access.sessions import COOKIE, CSRF_FIELD, CSRF_HEADER, SignedIn
from geogrid.access.users import User

__all__ = [
    "ANONYMOUS",
    "COOKIE",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "KEYS_CHANNEL",
    "PERMISSION_ZH",
    "ROLE_PERMISSIONS",
    "ROLE_ZH",
    "KeyCache",
    "Permission",
    "Principal",
    "Role",
    "SignedIn",
    "User",
    "mask_name",
    "mask_phone",
]
