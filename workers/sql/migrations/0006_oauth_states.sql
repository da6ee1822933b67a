-- Migration 6: OAuth `state` values are single-use, short-lived and bound to the token that asked for them
-- (issue #13). A state was a signed, stateless value valid for an hour and reusable: a second callback with the
-- same state attached another shop. Now each authorize URL records its state's nonce here; the callback consumes it
-- in the transaction that connects the account, and refuses it when it is unknown, used, expired, for another
-- integration, or when the token that asked has been revoked since.
-- Locks: creates a table.

CREATE TABLE oauth_states (
    nonce           varchar(64)  NOT NULL,
    organization_id uuid         NOT NULL,
    integration_id  uuid         NOT NULL,
    token_id        uuid         NOT NULL,
    redirect_uri    varchar(500) NOT NULL,
    created_at      timestamp    NOT NULL DEFAULT now(),
    expires_at      timestamp    NOT NULL,
    used_at         timestamp             DEFAULT NULL,
    CONSTRAINT oauth_states_pkey PRIMARY KEY (nonce),
    CONSTRAINT oauth_states_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES organizations (id),
    CONSTRAINT oauth_states_integration_id_fkey
        FOREIGN KEY (integration_id) REFERENCES marketplace_integrations (id) ON DELETE CASCADE,
    CONSTRAINT oauth_states_token_id_fkey FOREIGN KEY (token_id) REFERENCES api_tokens (id) ON DELETE CASCADE
);
CREATE INDEX oauth_states_expires_at_idx ON oauth_states (expires_at);
COMMENT ON TABLE oauth_states IS
    'nfsync: one row per OAuth authorize URL handed out: the state''s nonce, who asked, for which integration; '
    'consumed once by the callback. Pruned after expiry by the scheduler''s retention.';
COMMENT ON COLUMN oauth_states.nonce IS 'The random part of the signed state value.';
COMMENT ON COLUMN oauth_states.organization_id IS 'Organization of the integration.';
COMMENT ON COLUMN oauth_states.integration_id IS 'The integration the merchant is connecting.';
COMMENT ON COLUMN oauth_states.token_id IS 'The API token that asked for the URL: revoked, the state is dead.';
COMMENT ON COLUMN oauth_states.redirect_uri IS 'Where the platform was told to send the merchant back.';
COMMENT ON COLUMN oauth_states.created_at IS 'When the URL was handed out (UTC).';
COMMENT ON COLUMN oauth_states.expires_at IS 'After this (UTC) the callback refuses the state.';
COMMENT ON COLUMN oauth_states.used_at IS 'When a callback consumed it (UTC); a used state is refused.';
