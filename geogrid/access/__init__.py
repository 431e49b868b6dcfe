"""Who may do what: roles, API keys and the masking of personal data.

Modules: ``keys``, ``roles``.
"""

from geogrid.access.keys import KEYS_CHANNEL, KeyCache
from geogrid.access.roles import ANONYMOUS, ROLE_ZH, Principal, Role, mask_name, mask_phone

__all__ = [
    "ANONYMOUS",
    "KEYS_CHANNEL",
    "ROLE_ZH",
    "KeyCache",
    "Principal",
    "Role",
    "mask_name",
    "mask_phone",
]
