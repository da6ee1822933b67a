-- Migration 5: the keyring check value (issue #13). One row: a known text encrypted under the primary key of
-- NFSYNC_SECRET_KEYS. Every process that holds a keyring decrypts it at start and refuses to run when it cannot (a
-- replica with a wrong or missing key would otherwise write secrets the others cannot read). Written by the first
-- process with a keyring (or `db init` with NFSYNC_SECRET_KEYS set), re-encrypted by `nfsync keys rotate`.
-- Locks: creates a table.

CREATE TABLE nfsync_key_check (
    id         boolean   NOT NULL DEFAULT true,
    value      text      NOT NULL,
    updated_at timestamp NOT NULL DEFAULT now(),
    CONSTRAINT nfsync_key_check_pkey PRIMARY KEY (id),
    CONSTRAINT nfsync_key_check_one_row CHECK (id)
);
COMMENT ON TABLE nfsync_key_check IS
    'nfsync: a known text encrypted with the keyring (enc:v1 token): processes refuse to start with a keyring that '
    'cannot decrypt it. One row.';
COMMENT ON COLUMN nfsync_key_check.id IS 'Always true: the table holds one row.';
COMMENT ON COLUMN nfsync_key_check.value IS 'The check text encrypted under the primary key of its time.';
COMMENT ON COLUMN nfsync_key_check.updated_at IS 'When it was written or re-encrypted (UTC).';
