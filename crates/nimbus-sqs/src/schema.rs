//! SQS tables. Times are epoch milliseconds read from the server clock.

use nimbus_store::Migration;

pub static MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sql: "
CREATE TABLE sqs_queues (
    id INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    fifo INTEGER NOT NULL,
    attributes TEXT NOT NULL,
    tags TEXT NOT NULL,
    retention_ms INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    modified_at INTEGER NOT NULL,
    purged_at INTEGER,
    next_sequence INTEGER NOT NULL DEFAULT 0,
    UNIQUE (account, region, name)
);
CREATE TABLE sqs_deleted_queues (
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    deleted_at INTEGER NOT NULL,
    PRIMARY KEY (account, region, name)
);
CREATE TABLE sqs_messages (
    id INTEGER PRIMARY KEY,
    queue_id INTEGER NOT NULL,
    message_id TEXT NOT NULL,
    body TEXT NOT NULL,
    attributes TEXT,
    system_attributes TEXT,
    md5_body TEXT NOT NULL,
    md5_attributes TEXT,
    md5_system_attributes TEXT,
    sender_id TEXT NOT NULL,
    sent_at INTEGER NOT NULL,
    visible_at INTEGER NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    first_receive_at INTEGER,
    receipt_nonce TEXT,
    group_id TEXT,
    dedup_id TEXT,
    sequence_number TEXT,
    dead_letter_source TEXT
);
CREATE INDEX sqs_messages_visible ON sqs_messages (queue_id, visible_at, id);
CREATE INDEX sqs_messages_group ON sqs_messages (queue_id, group_id, id) WHERE group_id IS NOT NULL;
CREATE INDEX sqs_messages_sent ON sqs_messages (queue_id, sent_at);
CREATE TABLE sqs_dedup (
    queue_id INTEGER NOT NULL,
    scope TEXT NOT NULL,
    dedup_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    sequence_number TEXT,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (queue_id, scope, dedup_id)
);
CREATE TABLE sqs_move_tasks (
    handle TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    source_arn TEXT NOT NULL,
    destination_arn TEXT,
    max_per_second INTEGER,
    status TEXT NOT NULL,
    moved INTEGER NOT NULL DEFAULT 0,
    to_move INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    failure_reason TEXT
)
",
    },
    Migration {
        version: 2,
        sql: "
CREATE TABLE sqs_receive_attempts (
    queue_id INTEGER NOT NULL,
    attempt_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    receipts TEXT NOT NULL,
    PRIMARY KEY (queue_id, attempt_id)
)
",
    },
    // The sweep looks for and deletes forgotten deduplication ids every second; without this
    // index that was a scan of five minutes of FIFO sends each time.
    Migration {
        version: 2,
        sql: "CREATE INDEX sqs_dedup_expiry ON sqs_dedup (expires_at)",
    },
];

/// Every SQS table, for reset.
pub const TABLES: &[&str] = &[
    "sqs_queues",
    "sqs_deleted_queues",
    "sqs_messages",
    "sqs_dedup",
    "sqs_move_tasks",
];
