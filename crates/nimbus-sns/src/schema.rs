//! SNS tables. Times are epoch milliseconds read from the server clock.
//!
//! Publishing writes one `sns_messages` row and one `sns_deliveries` row per matching
//! subscription in the same transaction (the outbox); the delivery worker drains
//! `sns_deliveries` and drops a message once its last delivery is settled.

use nimbus_store::Migration;

pub static MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    sql: "
CREATE TABLE sns_topics (
    arn TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    fifo INTEGER NOT NULL,
    attributes TEXT NOT NULL,
    tags TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    next_sequence INTEGER NOT NULL DEFAULT 0,
    published INTEGER NOT NULL DEFAULT 0,
    delivered INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    filtered_out INTEGER NOT NULL DEFAULT 0,
    subscriptions_deleted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sns_topics_owner ON sns_topics (account, region, arn);
CREATE TABLE sns_subscriptions (
    arn TEXT PRIMARY KEY,
    topic_arn TEXT NOT NULL,
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    protocol TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    attributes TEXT NOT NULL,
    confirmed INTEGER NOT NULL,
    token TEXT NOT NULL,
    base_url TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX sns_subscriptions_topic ON sns_subscriptions (topic_arn, arn);
CREATE INDEX sns_subscriptions_owner ON sns_subscriptions (account, region, arn);
CREATE TABLE sns_messages (
    id INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL,
    topic_arn TEXT NOT NULL,
    subject TEXT,
    body TEXT NOT NULL,
    per_protocol TEXT,
    attributes TEXT NOT NULL,
    group_id TEXT,
    dedup_id TEXT,
    sequence_number TEXT,
    published_at INTEGER NOT NULL,
    trace_header TEXT,
    base_url TEXT NOT NULL,
    pending INTEGER NOT NULL
);
CREATE TABLE sns_deliveries (
    id INTEGER PRIMARY KEY,
    message_row INTEGER,
    subscription_arn TEXT NOT NULL,
    kind TEXT NOT NULL,
    lane TEXT,
    attempt INTEGER NOT NULL DEFAULT 0,
    first_attempt_at INTEGER,
    due_at INTEGER NOT NULL
);
CREATE INDEX sns_deliveries_due ON sns_deliveries (due_at, id);
CREATE INDEX sns_deliveries_lane ON sns_deliveries (lane, id) WHERE lane IS NOT NULL;
CREATE INDEX sns_deliveries_subscription ON sns_deliveries (subscription_arn);
CREATE TABLE sns_dedup (
    topic_arn TEXT NOT NULL,
    dedup_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    sequence_number TEXT,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (topic_arn, dedup_id)
);
CREATE TABLE sns_notifications (
    id INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    subscription_arn TEXT,
    protocol TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE sns_keys (
    name TEXT PRIMARY KEY,
    value BLOB NOT NULL
)
",
}];

/// Every SNS table that reset wipes; the signing key survives, like the server's identity.
pub const TABLES: &[&str] = &[
    "sns_topics",
    "sns_subscriptions",
    "sns_messages",
    "sns_deliveries",
    "sns_dedup",
    "sns_notifications",
];
