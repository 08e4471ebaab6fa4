-- Identity hardening: MFA recovery codes and TOTP replay guard, enrolment-only sessions,
-- SSO issuer lookup, and indexes for reading the audit trail.

-- The last TOTP time step accepted for a user: a code is never accepted twice.
ALTER TABLE users ADD COLUMN mfa_last_step bigint NOT NULL DEFAULT 0;

-- One-time recovery codes, stored only as SHA-256 hashes (the codes are 50 random bits each).
CREATE TABLE mfa_recovery_codes (
    user_id     uuid NOT NULL REFERENCES users(id),
    code_hash   bytea NOT NULL,
    created_at  timestamptz NOT NULL,
    used_at     timestamptz,
    PRIMARY KEY (user_id, code_hash)
);

-- A session that may only enrol MFA (an admin past the enrolment grace period without MFA).
ALTER TABLE sessions ADD COLUMN scope text NOT NULL DEFAULT 'full'
    CHECK (scope IN ('full', 'mfa_enrollment'));

-- SSO: tenants are found by the issuer of a bearer JWT.
CREATE INDEX tenants_sso_issuer ON tenants ((settings #>> '{sso,issuer}'))
    WHERE settings ? 'sso';

CREATE INDEX audit_log_action ON audit_log (tenant_id, action, n);
CREATE INDEX audit_log_actor ON audit_log (tenant_id, actor_id, n);
