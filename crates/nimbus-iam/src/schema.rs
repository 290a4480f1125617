//! STS and IAM tables. IAM is global: keys hold the account, never a region. Names are
//! compared without case, as IAM does, through the `*_key` columns (lower-cased names).
//! Times are epoch milliseconds read from the server clock.

use nimbus_store::Migration;

pub static IAM_MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    sql: "
CREATE TABLE iam_roles (
    account TEXT NOT NULL,
    name_key TEXT NOT NULL,
    name TEXT NOT NULL,
    path TEXT NOT NULL,
    role_id TEXT NOT NULL,
    assume_role_policy TEXT NOT NULL,
    description TEXT,
    max_session_duration INTEGER NOT NULL,
    permissions_boundary TEXT,
    tags TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (account, name_key)
);
CREATE TABLE iam_role_policies (
    account TEXT NOT NULL,
    role_key TEXT NOT NULL,
    name_key TEXT NOT NULL,
    name TEXT NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (account, role_key, name_key)
);
CREATE TABLE iam_policies (
    account TEXT NOT NULL,
    name_key TEXT NOT NULL,
    name TEXT NOT NULL,
    path TEXT NOT NULL,
    arn TEXT NOT NULL,
    policy_id TEXT NOT NULL,
    document TEXT NOT NULL,
    description TEXT,
    tags TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (account, name_key)
);
CREATE UNIQUE INDEX iam_policies_arn ON iam_policies (account, arn);
CREATE TABLE iam_role_attachments (
    account TEXT NOT NULL,
    role_key TEXT NOT NULL,
    policy_arn TEXT NOT NULL,
    policy_name TEXT NOT NULL,
    PRIMARY KEY (account, role_key, policy_arn)
);
CREATE INDEX iam_role_attachments_policy ON iam_role_attachments (account, policy_arn)
",
}];

pub static STS_MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    sql: "
CREATE TABLE sts_credentials (
    access_key_id TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    secret_access_key TEXT NOT NULL,
    session_token TEXT NOT NULL,
    identity_arn TEXT NOT NULL,
    user_id TEXT NOT NULL,
    assumed_role INTEGER NOT NULL,
    issued_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sts_credentials_expiry ON sts_credentials (expires_at)
",
}];

/// IAM's tables, for reset.
pub const IAM_TABLES: &[&str] = &[
    "iam_roles",
    "iam_role_policies",
    "iam_policies",
    "iam_role_attachments",
];

/// STS's tables, for reset.
pub const STS_TABLES: &[&str] = &["sts_credentials"];
