-- SMART App Launch (src/auth/app-grants.ts): what a user granted an app at /auth/authorize, kept
-- in the database so that any node can redeem a code or a refresh token and every node sees a
-- revocation. Codes and refresh tokens are stored as SHA-256 hashes only: a copy of these tables
-- opens nothing.
--
-- auth_grant: one login of one user for one app (the "family" of its code, refresh tokens and
-- access tokens). Access tokens carry the grant id; revoking the grant ends all of them
-- (RFC 6749 §4.1.2 code reuse, refresh token reuse, RFC 7009 revocation).
CREATE TABLE auth_grant (
  id text PRIMARY KEY,
  client_id text NOT NULL,
  acting_user text NOT NULL,
  scope text NOT NULL,
  patient_id text,
  encounter_id text,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz
);
CREATE INDEX auth_grant_expires_idx ON auth_grant (expires_at);

-- Authorization codes: one use, short-lived, bound to the client, the redirect URI and the PKCE
-- challenge (RFC 7636 S256). redeemed_at is set by the one statement that redeems the code.
CREATE TABLE auth_code (
  code_hash text PRIMARY KEY,
  grant_id text NOT NULL REFERENCES auth_grant (id) ON DELETE CASCADE,
  redirect_uri text NOT NULL,
  code_challenge text NOT NULL,
  expires_at timestamptz NOT NULL,
  redeemed_at timestamptz
);
CREATE INDEX auth_code_grant_idx ON auth_code (grant_id);

-- Refresh tokens, rotated on every use: used_at marks a token that has been exchanged; a second
-- use of it revokes its grant (OAuth 2.0 Security BCP, refresh token rotation).
CREATE TABLE auth_refresh_token (
  token_hash text PRIMARY KEY,
  grant_id text NOT NULL REFERENCES auth_grant (id) ON DELETE CASCADE,
  expires_at timestamptz NOT NULL,
  used_at timestamptz
);
CREATE INDEX auth_refresh_token_grant_idx ON auth_refresh_token (grant_id);

-- EHR launch contexts (POST /auth/launch): an opaque, short-lived `launch` value that
-- /auth/authorize?launch= resolves into the patient (and encounter) of the token response.
CREATE TABLE auth_launch (
  launch_hash text PRIMARY KEY,
  created_by text NOT NULL,
  patient_id text NOT NULL,
  encounter_id text,
  expires_at timestamptz NOT NULL
);
CREATE INDEX auth_launch_expires_idx ON auth_launch (expires_at);
