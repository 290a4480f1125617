//! CloudWatch Logs tables. Times are epoch milliseconds.

use nimbus_store::Migration;

pub static MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    sql: "
CREATE TABLE logs_groups (
    id INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    retention_days INTEGER,
    log_class TEXT NOT NULL,
    kms_key_id TEXT,
    tags TEXT NOT NULL,
    UNIQUE (account, region, name)
);
CREATE TABLE logs_streams (
    id INTEGER PRIMARY KEY,
    group_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    first_event_at INTEGER,
    last_event_at INTEGER,
    last_ingestion_at INTEGER,
    stored_bytes INTEGER NOT NULL DEFAULT 0,
    UNIQUE (group_id, name)
);
CREATE TABLE logs_events (
    id INTEGER PRIMARY KEY,
    group_id INTEGER NOT NULL,
    stream_id INTEGER NOT NULL,
    timestamp INTEGER NOT NULL,
    ingestion_time INTEGER NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX logs_events_stream ON logs_events (stream_id, timestamp, id);
CREATE INDEX logs_events_group ON logs_events (group_id, timestamp, id)
",
}];

/// Every Logs table, for reset.
pub const TABLES: &[&str] = &["logs_groups", "logs_streams", "logs_events"];
