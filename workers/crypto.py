"""Secrets at rest: AES-256-GCM with a random 96-bit nonce, the key id inside the value, and associated
data binding the ciphertext to its organization, table, column and row.

Stored form: ``enc:v1:<key id>:<base64url(nonce || ciphertext || tag)>``. jsonb credential columns hold an
object whose every value is such a token (the field name joins the associated data).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from nfsync.connectors.base.errors import ConfigError
from nfsync.connectors.base.secret import Secret
from nfsync.workers.errors import DecryptionError, SecretError, UnknownKeyError

TOKEN_PREFIX = "enc:v1:"  # noqa: S105 - a format marker, not a password
NONCE_BYTES = 12
KEY_BYTES = 32
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


@dataclass(frozen=True)
class SecretField:
    """Where a secret lives; its associated data binds the ciphertext to exactly this place."""

    table: str
    column: str
    organization_id: str
    row_id: str
    field: str | None = None

    def associated_data(self) -> bytes:
        parts = ["nfsync", "v1", self.table, self.column, self.organization_id, self.row_id]
        if self.field is not None:
            parts.append(self.field)
        return "|".join(parts).encode()

    def with_field(self, field: str) -> SecretField:
        return SecretField(self.table, self.column, self.organization_id, self.row_id, field)


def _b64decode(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def generate_key_entry(key_id: str | None = None) -> str:
    """A new keyring entry ``kid:base64key`` for NFSYNC_SECRET_KEYS."""
    kid = key_id or "k" + secrets.token_hex(4)
    if not _KEY_ID.match(kid):
        raise ConfigError(f"key id {kid!r} must be 1-32 letters, digits, '_' or '-'")
    return f"{kid}:{_b64encode(AESGCM.generate_key(bit_length=256))}"


def key_id_of(token: str) -> str:
    """The key id a stored value was encrypted with."""
    if not token.startswith(TOKEN_PREFIX):
        raise DecryptionError("value is not an nfsync ciphertext (expected enc:v1:...)")
    return token[len(TOKEN_PREFIX) :].split(":", 1)[0]


def is_ciphertext(value: object) -> bool:
    return isinstance(value, str) and value.startswith(TOKEN_PREFIX)


class Keyring:
    """The keys from NFSYNC_SECRET_KEYS; the first is primary and encrypts, all of them decrypt."""

    def __init__(self, keys: dict[str, bytes], primary: str) -> None:
        self._ciphers = {kid: AESGCM(key) for kid, key in keys.items()}
        self._keys = dict(keys)
        self._primary_key = keys[primary]
        self.primary = primary

    def derive(self, purpose: str) -> bytes:
        """A 32-byte key for another purpose (OAuth state signing), derived from the primary key by HMAC."""
        return hmac.new(self._primary_key, f"nfsync/{purpose}".encode(), hashlib.sha256).digest()

    def blind_indexes(self, purpose: str, value: str) -> dict[str, str]:
        """``value``'s HMAC-SHA256 (hex) under a key derived for ``purpose`` from each key of the ring, by key id,
        primary first: a lookup key that reveals nothing without the keyring (customers' e-mail, issue #18)."""
        out = {}
        for kid in sorted(self._keys, key=lambda k: k != self.primary):
            key = self._keys[kid]
            derived = hmac.new(key, f"nfsync/{purpose}".encode(), hashlib.sha256).digest()
            out[kid] = hmac.new(derived, value.encode(), hashlib.sha256).hexdigest()
        return out

    @classmethod
    def parse(cls, text: str) -> Keyring:
        keys: dict[str, bytes] = {}
        for position, entry in enumerate(part.strip() for part in text.split(",")):
            if not entry:
                continue
            kid, key = _parse_entry(entry, position)
            if kid in keys:
                raise ConfigError(f"key id {kid!r} appears twice")
            keys[kid] = key
        if not keys:
            raise ConfigError("holds no key")
        return cls(keys, next(iter(keys)))

    @classmethod
    def from_secret(cls, value: Secret | None) -> Keyring:
        if value is None:
            raise ConfigError("NFSYNC_SECRET_KEYS is not set; generate a key with `nfsync keys generate` and export it")
        return cls.parse(value.reveal())

    @property
    def key_ids(self) -> list[str]:
        return list(self._ciphers)

    def encrypt(self, plaintext: str | Secret, where: SecretField) -> str:
        value = plaintext.reveal() if isinstance(plaintext, Secret) else plaintext
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self.primary].encrypt(nonce, value.encode(), where.associated_data())
        return f"{TOKEN_PREFIX}{self.primary}:{_b64encode(nonce + sealed)}"

    def decrypt(self, token: str, where: SecretField) -> Secret:
        kid = key_id_of(token)
        cipher = self._ciphers.get(kid)
        if cipher is None:
            raise UnknownKeyError(
                f"value for {where.table}.{where.column} was encrypted with key id {kid!r}, which is not in "
                "NFSYNC_SECRET_KEYS",
                key_id=kid,
            )
        raw = _decode_body(token[len(TOKEN_PREFIX) + len(kid) + 1 :])
        try:
            plain = cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], where.associated_data())
        except InvalidTag:
            raise DecryptionError(
                f"value for {where.table}.{where.column} of row {where.row_id} does not decrypt "
                "(tampered, or copied from another row or column)"
            ) from None
        return Secret(plain.decode())

    def encrypt_fields(self, values: dict[str, str | Secret], where: SecretField) -> dict[str, str]:
        """Encrypt a flat credentials object field by field (for jsonb credential columns)."""
        return {name: self.encrypt(value, where.with_field(name)) for name, value in values.items()}

    def decrypt_fields(self, stored: dict[str, str], where: SecretField) -> dict[str, Secret]:
        return {name: self.decrypt(token, where.with_field(name)) for name, token in stored.items()}

    def needs_rotation(self, token: str) -> bool:
        return is_ciphertext(token) and key_id_of(token) != self.primary

    def reencrypt(self, token: str, where: SecretField) -> str:
        return self.encrypt(self.decrypt(token, where), where)


def _parse_entry(entry: str, position: int) -> tuple[str, bytes]:
    kid, sep, encoded = entry.partition(":")
    if not sep or not _KEY_ID.match(kid):
        raise ConfigError(f"entry {position + 1} must look like 'kid:base64key' with a key id of 1-32 [A-Za-z0-9_-]")
    try:
        key = _b64decode(encoded.strip())
    except (binascii.Error, ValueError):
        raise ConfigError(f"key {kid!r} is not valid base64") from None
    if len(key) != KEY_BYTES:
        raise ConfigError(f"key {kid!r} is {len(key)} bytes; AES-256 needs {KEY_BYTES}")
    return kid, key


def _decode_body(body: str) -> bytes:
    try:
        raw = _b64decode(body)
    except (binascii.Error, ValueError):
        raise DecryptionError("ciphertext is not valid base64") from None
    if len(raw) < NONCE_BYTES + 16:
        raise DecryptionError("ciphertext is too short")
    return raw


__all__ = ["Keyring", "SecretError", "SecretField", "generate_key_entry", "is_ciphertext", "key_id_of"]
