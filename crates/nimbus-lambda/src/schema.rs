//! Lambda tables. A function's settings are one JSON document (`FunctionRecord`) whose
//! `format` column says how to read it; the code zip is kept so it survives restarts and can
//! be downloaded again. Published versions keep their own settings document; their zips are
//! kept once per digest (`lambda_version_code`), shared by the versions with that code.
//! Queued events carry their attempt counts and last outcome, so retries and destination
//! records survive restarts. Provisioned concurrency configurations are kept per version or
//! alias, so their instances start again after a restart.

use nimbus_store::Migration;

pub static MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sql: "
CREATE TABLE lambda_functions (
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    format INTEGER NOT NULL,
    record TEXT NOT NULL,
    tags TEXT NOT NULL,
    zip BLOB NOT NULL,
    PRIMARY KEY (account, region, name)
)
",
    },
    Migration {
        version: 2,
        sql: "
CREATE TABLE lambda_url_ids (
    url_id TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    name TEXT NOT NULL
)
",
    },
    Migration {
        version: 3,
        sql: "
CREATE TABLE lambda_event_queue (
    id INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    payload BLOB NOT NULL,
    enqueued_at INTEGER NOT NULL,
    due_at INTEGER NOT NULL,
    claimed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX lambda_event_queue_due ON lambda_event_queue (claimed, due_at, id)
",
    },
    Migration {
        version: 4,
        sql: "
CREATE TABLE lambda_layers (
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    format INTEGER NOT NULL,
    record TEXT NOT NULL,
    zip BLOB NOT NULL,
    PRIMARY KEY (account, region, name, version)
);
CREATE TABLE lambda_layer_names (
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    last_version INTEGER NOT NULL,
    PRIMARY KEY (account, region, name)
)
",
    },
    Migration {
        version: 5,
        sql: "
CREATE TABLE lambda_event_invoke_configs (
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    qualifier TEXT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (account, region, name, qualifier)
);
ALTER TABLE lambda_event_queue ADD COLUMN request_id TEXT;
ALTER TABLE lambda_event_queue ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE lambda_event_queue ADD COLUMN function_errors INTEGER NOT NULL DEFAULT 0;
ALTER TABLE lambda_event_queue ADD COLUMN last_outcome TEXT
",
    },
    Migration {
        version: 6,
        sql: "
CREATE TABLE lambda_versions (
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    format INTEGER NOT NULL,
    record TEXT NOT NULL,
    code_sha256 TEXT NOT NULL,
    PRIMARY KEY (account, region, name, version)
);
CREATE TABLE lambda_version_code (
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    code_sha256 TEXT NOT NULL,
    zip BLOB NOT NULL,
    PRIMARY KEY (account, region, name, code_sha256)
);
CREATE TABLE lambda_version_heads (
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    last_version INTEGER NOT NULL,
    published_revision TEXT NOT NULL,
    PRIMARY KEY (account, region, name)
);
CREATE TABLE lambda_aliases (
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    alias TEXT NOT NULL,
    format INTEGER NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (account, region, name, alias)
);
ALTER TABLE lambda_event_queue ADD COLUMN qualifier TEXT;
ALTER TABLE lambda_url_ids ADD COLUMN qualifier TEXT
",
    },
    Migration {
        version: 7,
        sql: "
CREATE TABLE lambda_event_source_mappings (
    uuid TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    source_arn TEXT NOT NULL,
    function_arn TEXT NOT NULL,
    format INTEGER NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX lambda_event_source_mappings_function ON lambda_event_source_mappings (account, region, function_arn)
",
    },
    Migration {
        version: 8,
        sql: "
CREATE TABLE lambda_provisioned_concurrency (
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    qualifier TEXT NOT NULL,
    requested INTEGER NOT NULL,
    last_modified TEXT NOT NULL,
    PRIMARY KEY (account, region, name, qualifier)
)
",
    },
    // The worker's search for due events skips the events of functions at their reserved
    // concurrency; with the function in the index that skip reads no table rows (a backlog
    // of a saturated function made each search read every one of its events).
    Migration {
        version: 9,
        sql: "
DROP INDEX lambda_event_queue_due;
CREATE INDEX lambda_event_queue_due ON lambda_event_queue (claimed, due_at, id, account, region, name)
",
    },
];

/// The `format` written today.
pub const RECORD_FORMAT: i64 = 1;

/// Every Lambda table, for reset.
pub const TABLES: &[&str] = &[
    "lambda_functions",
    "lambda_url_ids",
    "lambda_event_queue",
    "lambda_layers",
    "lambda_layer_names",
    "lambda_versions",
    "lambda_version_code",
    "lambda_version_heads",
    "lambda_aliases",
    "lambda_event_source_mappings",
    "lambda_event_invoke_configs",
    "lambda_provisioned_concurrency",
];
