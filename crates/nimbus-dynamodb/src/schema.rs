//! DynamoDB tables in the store. Times are epoch milliseconds read from the server clock.
//!
//! Items (a rowid table, so kilobyte payloads stay on their own pages rather than spilling
//! out of a key-ordered tree) are keyed by (table, hash of the partition key, partition key
//! bytes, sort key bytes):
//! key bytes sort as DynamoDB sorts them (see `keys`), and the hash orders a Scan and splits it
//! into parallel segments the way DynamoDB's partitions do. `expires` is the item's
//! time-to-live attribute (epoch seconds) while the table has TTL enabled, for the TTL sweep.

use nimbus_store::Migration;

pub static MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sql: "
CREATE TABLE ddb_tables (
    id INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    meta TEXT NOT NULL,
    UNIQUE (account, region, name)
);
CREATE TABLE ddb_items (
    id INTEGER PRIMARY KEY,
    table_id INTEGER NOT NULL,
    hash INTEGER NOT NULL,
    pk BLOB NOT NULL,
    sk BLOB NOT NULL,
    size INTEGER NOT NULL,
    item BLOB NOT NULL,
    expires INTEGER
);
CREATE UNIQUE INDEX ddb_items_key ON ddb_items (table_id, hash, pk, sk);
CREATE INDEX ddb_items_expiry ON ddb_items (table_id, expires) WHERE expires IS NOT NULL;
CREATE TABLE ddb_index_entries (
    table_id INTEGER NOT NULL,
    index_name TEXT NOT NULL,
    ihash INTEGER NOT NULL,
    ipk BLOB NOT NULL,
    isk BLOB NOT NULL,
    hash INTEGER NOT NULL,
    pk BLOB NOT NULL,
    sk BLOB NOT NULL,
    PRIMARY KEY (table_id, index_name, ihash, ipk, isk, pk, sk)
) WITHOUT ROWID;
CREATE TABLE ddb_stream_records (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    table_id INTEGER NOT NULL,
    label TEXT NOT NULL,
    record TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX ddb_stream_records_stream ON ddb_stream_records (table_id, label, seq);
CREATE INDEX ddb_stream_records_age ON ddb_stream_records (created_at);
CREATE TABLE ddb_transaction_tokens (
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    token TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (account, region, token)
)
",
    },
    // Every transaction forgets the tokens older than ten minutes (SDKs send one with each
    // TransactWriteItems); without this index that was a scan of ten minutes of tokens.
    Migration {
        version: 2,
        sql: "CREATE INDEX ddb_transaction_tokens_age ON ddb_transaction_tokens (created_at)",
    },
];

/// Every DynamoDB table, for reset.
pub const TABLES: &[&str] = &[
    "ddb_tables",
    "ddb_items",
    "ddb_index_entries",
    "ddb_transaction_tokens",
    "ddb_stream_records",
];
