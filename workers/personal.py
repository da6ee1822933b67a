"""Personal data of buyers (issue #18): how it is shown (masked, in the API and in logs) and how a guest is keyed.

Nothing here reads or writes the database; ``workers/crm_customers.py`` stores the values encrypted.
"""

from __future__ import annotations

from nfsync.workers.crypto import Keyring

GUEST_PREFIX = "email:"
GUEST_PURPOSE = "customer-email"


def normalise_email(email: str) -> str:
    """The form two spellings of one address share: trimmed and lower case (the local part too: the stricter reading
    merges what most mail hosts treat as one mailbox)."""
    return email.strip().lower()


def guest_keys(keyring: Keyring, email: str) -> list[str]:
    """The ``platformBuyerId`` candidates of a guest with this e-mail, one per key of the ring, primary first."""
    indexes = keyring.blind_indexes(GUEST_PURPOSE, normalise_email(email))
    return [f"{GUEST_PREFIX}{kid}:{digest}" for kid, digest in indexes.items()]


def mask(field: str, value: str | None) -> str | None:
    """What the API and logs show of a personal value: enough to recognise it, never enough to use it."""
    if not value:
        return None
    if field == "email":
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@{domain}" if domain else "***"
    if field == "phone":
        digits = [c for c in value if c.isdigit()]
        return "***" + "".join(digits[-2:]) if len(digits) > 4 else "***"
    if field == "name":
        return " ".join(f"{word[:1]}***" for word in value.split()[:3]) or "***"
    return "***"
