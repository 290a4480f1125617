//! Every SQL statement of the DynamoDB service.

use nimbus_store::{DbError, SqlValue, Tx, params};

use crate::TableKey;
use crate::keys::StoredKey;
use crate::table::{Table, TableMeta, Usage};

fn decode_meta(text: &str) -> Result<TableMeta, DbError> {
    serde_json::from_str(text).map_err(|e| DbError::Engine(format!("stored table definition: {e}")))
}

fn encode_meta(meta: &TableMeta) -> String {
    serde_json::to_string(meta).unwrap_or_default()
}

pub fn load_table(tx: &mut dyn Tx, key: &TableKey) -> Result<Option<Table>, DbError> {
    let row = tx.query_one(
        "SELECT id, meta FROM ddb_tables WHERE account = ?1 AND region = ?2 AND name = ?3",
        &params![key.0.as_str(), key.1.as_str(), key.2.as_str()],
    )?;
    row.map(|row| {
        Ok(Table {
            id: row.i64(0)?,
            meta: decode_meta(row.str(1)?)?,
        })
    })
    .transpose()
}

/// Inserts a table; `None` when the name is taken.
pub fn insert_table(
    tx: &mut dyn Tx,
    account: &str,
    region: &str,
    meta: &TableMeta,
) -> Result<Option<i64>, DbError> {
    let changed = tx.execute(
        "INSERT INTO ddb_tables (account, region, name, meta) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (account, region, name) DO NOTHING",
        &params![account, region, meta.name.as_str(), encode_meta(meta)],
    )?;
    if changed == 0 {
        return Ok(None);
    }
    let row = tx.query_one(
        "SELECT id FROM ddb_tables WHERE account = ?1 AND region = ?2 AND name = ?3",
        &params![account, region, meta.name.as_str()],
    )?;
    row.map(|r| r.i64(0)).transpose()
}

pub fn update_table_meta(tx: &mut dyn Tx, id: i64, meta: &TableMeta) -> Result<(), DbError> {
    tx.execute(
        "UPDATE ddb_tables SET meta = ?2 WHERE id = ?1",
        &params![id, encode_meta(meta)],
    )?;
    Ok(())
}

pub fn delete_table(tx: &mut dyn Tx, id: i64) -> Result<(), DbError> {
    tx.execute(
        "DELETE FROM ddb_index_entries WHERE table_id = ?1",
        &params![id],
    )?;
    tx.execute("DELETE FROM ddb_items WHERE table_id = ?1", &params![id])?;
    tx.execute("DELETE FROM ddb_tables WHERE id = ?1", &params![id])?;
    Ok(())
}

/// Table names of an account and region after `start`, in order, at most `limit`.
pub fn table_names(
    tx: &mut dyn Tx,
    account: &str,
    region: &str,
    start: Option<&str>,
    limit: i64,
) -> Result<Vec<String>, DbError> {
    let rows = tx.query(
        "SELECT name FROM ddb_tables WHERE account = ?1 AND region = ?2 AND name > ?3
         ORDER BY name LIMIT ?4",
        &params![account, region, start.unwrap_or(""), limit],
    )?;
    rows.iter().map(|r| r.string(0)).collect()
}

/// Item count and bytes of a table and of each index.
pub fn usage(tx: &mut dyn Tx, table: &Table) -> Result<Usage, DbError> {
    let row = tx.query_one(
        "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM ddb_items WHERE table_id = ?1",
        &params![table.id],
    )?;
    let (items, bytes) = match row {
        Some(row) => (row.i64(0)?, row.i64(1)?),
        None => (0, 0),
    };
    let mut indexes = Vec::new();
    for index in table.indexes() {
        let row = tx.query_one(
            "SELECT COUNT(*), COALESCE(SUM(i.size), 0) FROM ddb_index_entries e
             JOIN ddb_items i ON i.table_id = e.table_id AND i.hash = e.hash AND i.pk = e.pk AND i.sk = e.sk
             WHERE e.table_id = ?1 AND e.index_name = ?2",
            &params![table.id, index.name.as_str()],
        )?;
        if let Some(row) = row {
            indexes.push((index.name.clone(), row.i64(0)?, row.i64(1)?));
        }
    }
    Ok(Usage {
        items,
        bytes,
        indexes,
    })
}

/// The stored JSON of one item.
pub fn get_item(
    tx: &mut dyn Tx,
    table_id: i64,
    key: &StoredKey,
) -> Result<Option<Vec<u8>>, DbError> {
    let row = tx.query_one(
        "SELECT item FROM ddb_items WHERE table_id = ?1 AND hash = ?2 AND pk = ?3 AND sk = ?4",
        &[
            SqlValue::Integer(table_id),
            SqlValue::Integer(key.hash),
            SqlValue::Blob(key.pk.clone()),
            SqlValue::Blob(key.sk.clone()),
        ],
    )?;
    row.map(|r| r.blob(0).map(<[u8]>::to_vec)).transpose()
}

pub fn put_item(
    tx: &mut dyn Tx,
    table_id: i64,
    key: &StoredKey,
    size: usize,
    item: Vec<u8>,
    expires: Option<i64>,
) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO ddb_items (table_id, hash, pk, sk, size, item, expires) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (table_id, hash, pk, sk) DO UPDATE
         SET size = excluded.size, item = excluded.item, expires = excluded.expires",
        &[
            SqlValue::Integer(table_id),
            SqlValue::Integer(key.hash),
            SqlValue::Blob(key.pk.clone()),
            SqlValue::Blob(key.sk.clone()),
            SqlValue::Integer(i64::try_from(size).unwrap_or(i64::MAX)),
            SqlValue::Blob(item),
            expires.into(),
        ],
    )?;
    Ok(())
}

pub fn set_expiry(
    tx: &mut dyn Tx,
    table_id: i64,
    key: &StoredKey,
    expires: Option<i64>,
) -> Result<(), DbError> {
    tx.execute(
        "UPDATE ddb_items SET expires = ?5 WHERE table_id = ?1 AND hash = ?2 AND pk = ?3 AND sk = ?4",
        &[
            SqlValue::Integer(table_id),
            SqlValue::Integer(key.hash),
            SqlValue::Blob(key.pk.clone()),
            SqlValue::Blob(key.sk.clone()),
            expires.into(),
        ],
    )?;
    Ok(())
}

pub fn clear_expiry(tx: &mut dyn Tx, table_id: i64) -> Result<(), DbError> {
    tx.execute(
        "UPDATE ddb_items SET expires = NULL WHERE table_id = ?1 AND expires IS NOT NULL",
        &params![table_id],
    )?;
    Ok(())
}

/// Keys of up to `limit` items whose expiry is in `[since, until]`.
pub fn expired_keys(
    tx: &mut dyn Tx,
    table_id: i64,
    since: i64,
    until: i64,
    limit: i64,
) -> Result<Vec<StoredKey>, DbError> {
    let rows = tx.query(
        "SELECT hash, pk, sk FROM ddb_items
         WHERE table_id = ?1 AND expires IS NOT NULL AND expires >= ?2 AND expires <= ?3 LIMIT ?4",
        &params![table_id, since, until, limit],
    )?;
    rows.iter()
        .map(|r| {
            Ok(StoredKey {
                hash: r.i64(0)?,
                pk: r.blob(1)?.to_vec(),
                sk: r.blob(2)?.to_vec(),
            })
        })
        .collect()
}

/// Ids and definitions of every table with time to live enabled.
pub fn ttl_tables(tx: &mut dyn Tx) -> Result<Vec<Table>, DbError> {
    let rows = tx.query("SELECT id, meta FROM ddb_tables", &[])?;
    let mut out = Vec::new();
    for row in rows {
        let meta = decode_meta(row.str(1)?)?;
        if meta.ttl.as_ref().is_some_and(|t| t.enabled) {
            out.push(Table {
                id: row.i64(0)?,
                meta,
            });
        }
    }
    Ok(out)
}

pub fn delete_item(tx: &mut dyn Tx, table_id: i64, key: &StoredKey) -> Result<(), DbError> {
    tx.execute(
        "DELETE FROM ddb_items WHERE table_id = ?1 AND hash = ?2 AND pk = ?3 AND sk = ?4",
        &[
            SqlValue::Integer(table_id),
            SqlValue::Integer(key.hash),
            SqlValue::Blob(key.pk.clone()),
            SqlValue::Blob(key.sk.clone()),
        ],
    )?;
    Ok(())
}

fn index_entry_params(
    table_id: i64,
    index: &str,
    ikey: &StoredKey,
    key: &StoredKey,
) -> [SqlValue; 8] {
    [
        SqlValue::Integer(table_id),
        SqlValue::Text(index.to_owned()),
        SqlValue::Integer(ikey.hash),
        SqlValue::Blob(ikey.pk.clone()),
        SqlValue::Blob(ikey.sk.clone()),
        SqlValue::Integer(key.hash),
        SqlValue::Blob(key.pk.clone()),
        SqlValue::Blob(key.sk.clone()),
    ]
}

pub fn insert_index_entry(
    tx: &mut dyn Tx,
    table_id: i64,
    index: &str,
    ikey: &StoredKey,
    key: &StoredKey,
) -> Result<(), DbError> {
    tx.execute(
        "INSERT OR IGNORE INTO ddb_index_entries (table_id, index_name, ihash, ipk, isk, hash, pk, sk)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        &index_entry_params(table_id, index, ikey, key),
    )?;
    Ok(())
}

pub fn delete_index_entry(
    tx: &mut dyn Tx,
    table_id: i64,
    index: &str,
    ikey: &StoredKey,
    key: &StoredKey,
) -> Result<(), DbError> {
    tx.execute(
        "DELETE FROM ddb_index_entries WHERE table_id = ?1 AND index_name = ?2 AND ihash = ?3
         AND ipk = ?4 AND isk = ?5 AND pk = ?7 AND sk = ?8 AND hash = ?6",
        &index_entry_params(table_id, index, ikey, key),
    )?;
    Ok(())
}

pub fn delete_index(tx: &mut dyn Tx, table_id: i64, index: &str) -> Result<(), DbError> {
    tx.execute(
        "DELETE FROM ddb_index_entries WHERE table_id = ?1 AND index_name = ?2",
        &params![table_id, index],
    )?;
    Ok(())
}

/// Every item of a table with its key, in key order (for building a new index).
pub fn all_items(tx: &mut dyn Tx, table_id: i64) -> Result<Vec<(StoredKey, Vec<u8>)>, DbError> {
    let rows = tx.query(
        "SELECT hash, pk, sk, item FROM ddb_items WHERE table_id = ?1",
        &params![table_id],
    )?;
    rows.iter()
        .map(|r| {
            Ok((
                StoredKey {
                    hash: r.i64(0)?,
                    pk: r.blob(1)?.to_vec(),
                    sk: r.blob(2)?.to_vec(),
                },
                r.blob(3)?.to_vec(),
            ))
        })
        .collect()
}

/// A position in a table or index: the index key (for index reads) and the table key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub index_key: Option<StoredKey>,
    pub key: StoredKey,
}

/// One sort-key bound of a Query.
#[derive(Debug, Clone)]
pub struct Bound {
    pub bytes: Vec<u8>,
    pub inclusive: bool,
}

/// A range read: a Query (one partition, optional sort bounds) or a Scan (a hash range).
#[derive(Debug, Clone)]
pub struct Range {
    pub table_id: i64,
    pub index: Option<String>,
    /// Query: the partition (hash and key bytes).
    pub partition: Option<(i64, Vec<u8>)>,
    pub lower: Option<Bound>,
    pub upper: Option<Bound>,
    /// Scan: hashes in `[from, to)`.
    pub hashes: Option<(i64, i64)>,
    pub forward: bool,
}

/// One row a range read found: where it is, its stored size and JSON.
#[derive(Debug)]
pub struct Found {
    pub position: Position,
    pub size: i64,
    pub item: Vec<u8>,
}

/// Reads up to `limit` rows of `range` strictly after `after` in the read direction.
pub fn read_range(
    tx: &mut dyn Tx,
    range: &Range,
    after: Option<&Position>,
    limit: usize,
) -> Result<Vec<Found>, DbError> {
    let indexed = range.index.is_some();
    // Columns in read order: the order the position compares in.
    let (from, order): (&str, &[&str]) = match (indexed, range.partition.is_some()) {
        (false, true) => ("ddb_items i", &["i.sk"]),
        (false, false) => ("ddb_items i", &["i.hash", "i.pk", "i.sk"]),
        (true, true) => (
            "ddb_index_entries e JOIN ddb_items i ON i.table_id = e.table_id AND i.hash = e.hash AND i.pk = e.pk AND i.sk = e.sk",
            &["e.isk", "e.pk", "e.sk"],
        ),
        (true, false) => (
            "ddb_index_entries e JOIN ddb_items i ON i.table_id = e.table_id AND i.hash = e.hash AND i.pk = e.pk AND i.sk = e.sk",
            &["e.ihash", "e.ipk", "e.isk", "e.pk", "e.sk"],
        ),
    };
    let t = if indexed { "e" } else { "i" };
    let mut params: Vec<SqlValue> = vec![SqlValue::Integer(range.table_id)];
    let mut sql = format!(
        "SELECT i.hash, i.pk, i.sk, i.size, i.item{} FROM {from} WHERE {t}.table_id = ?1",
        if indexed {
            ", e.ihash, e.ipk, e.isk"
        } else {
            ""
        }
    );
    let mut bind = |sql: &mut String, clause: &str, value: SqlValue| {
        params.push(value);
        sql.push_str(&clause.replace('?', &format!("?{}", params.len())));
    };
    if let Some(index) = &range.index {
        bind(
            &mut sql,
            " AND e.index_name = ?",
            SqlValue::Text(index.clone()),
        );
    }
    let (hash_col, pk_col, sk_col) = if indexed {
        ("e.ihash", "e.ipk", "e.isk")
    } else {
        ("i.hash", "i.pk", "i.sk")
    };
    if let Some((hash, pk)) = &range.partition {
        bind(
            &mut sql,
            &format!(" AND {hash_col} = ?"),
            SqlValue::Integer(*hash),
        );
        bind(
            &mut sql,
            &format!(" AND {pk_col} = ?"),
            SqlValue::Blob(pk.clone()),
        );
    }
    if let Some(lower) = &range.lower {
        let op = if lower.inclusive { ">=" } else { ">" };
        bind(
            &mut sql,
            &format!(" AND {sk_col} {op} ?"),
            SqlValue::Blob(lower.bytes.clone()),
        );
    }
    if let Some(upper) = &range.upper {
        let op = if upper.inclusive { "<=" } else { "<" };
        bind(
            &mut sql,
            &format!(" AND {sk_col} {op} ?"),
            SqlValue::Blob(upper.bytes.clone()),
        );
    }
    if let Some((from_hash, to_hash)) = range.hashes {
        bind(
            &mut sql,
            &format!(" AND {hash_col} >= ?"),
            SqlValue::Integer(from_hash),
        );
        bind(
            &mut sql,
            &format!(" AND {hash_col} < ?"),
            SqlValue::Integer(to_hash),
        );
    }
    if let Some(after) = after {
        let mut values: Vec<SqlValue> = Vec::new();
        let ikey = after.index_key.as_ref();
        for column in order {
            values.push(match *column {
                "e.ihash" => SqlValue::Integer(ikey.map_or(0, |k| k.hash)),
                "e.ipk" => SqlValue::Blob(ikey.map(|k| k.pk.clone()).unwrap_or_default()),
                "e.isk" => SqlValue::Blob(ikey.map(|k| k.sk.clone()).unwrap_or_default()),
                "i.hash" => SqlValue::Integer(after.key.hash),
                "e.pk" | "i.pk" => SqlValue::Blob(after.key.pk.clone()),
                _ => SqlValue::Blob(after.key.sk.clone()),
            });
        }
        let first = params.len() + 1;
        let holes: Vec<String> = (first..first + values.len())
            .map(|n| format!("?{n}"))
            .collect();
        let op = if range.forward { ">" } else { "<" };
        sql.push_str(&format!(
            " AND ({}) {op} ({})",
            order.join(", "),
            holes.join(", ")
        ));
        params.extend(values);
    }
    let direction = if range.forward { "ASC" } else { "DESC" };
    let ordering: Vec<String> = order.iter().map(|c| format!("{c} {direction}")).collect();
    sql.push_str(&format!(" ORDER BY {} LIMIT {limit}", ordering.join(", ")));
    let rows = tx.query(&sql, &params)?;
    rows.iter()
        .map(|r| {
            let key = StoredKey {
                hash: r.i64(0)?,
                pk: r.blob(1)?.to_vec(),
                sk: r.blob(2)?.to_vec(),
            };
            let index_key = if indexed {
                Some(StoredKey {
                    hash: r.i64(5)?,
                    pk: r.blob(6)?.to_vec(),
                    sk: r.blob(7)?.to_vec(),
                })
            } else {
                None
            };
            Ok(Found {
                position: Position { index_key, key },
                size: r.i64(3)?,
                item: r.blob(4)?.to_vec(),
            })
        })
        .collect()
}

/// A transaction token seen within the idempotency window: its request fingerprint.
pub fn transaction_token(
    tx: &mut dyn Tx,
    account: &str,
    region: &str,
    token: &str,
    since_ms: i64,
) -> Result<Option<String>, DbError> {
    let row = tx.query_one(
        "SELECT fingerprint FROM ddb_transaction_tokens
         WHERE account = ?1 AND region = ?2 AND token = ?3 AND created_at >= ?4",
        &params![account, region, token, since_ms],
    )?;
    row.map(|r| r.string(0)).transpose()
}

pub fn record_transaction_token(
    tx: &mut dyn Tx,
    account: &str,
    region: &str,
    token: &str,
    fingerprint: &str,
    now_ms: i64,
) -> Result<(), DbError> {
    tx.execute(
        "DELETE FROM ddb_transaction_tokens WHERE created_at < ?1",
        &params![now_ms - 10 * 60 * 1000],
    )?;
    tx.execute(
        "INSERT INTO ddb_transaction_tokens (account, region, token, fingerprint, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (account, region, token) DO UPDATE SET fingerprint = excluded.fingerprint, created_at = excluded.created_at",
        &params![account, region, token, fingerprint, now_ms],
    )?;
    Ok(())
}

pub fn insert_stream_record(
    tx: &mut dyn Tx,
    table_id: i64,
    label: &str,
    record: &str,
    now_ms: i64,
) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO ddb_stream_records (table_id, label, record, created_at) VALUES (?1, ?2, ?3, ?4)",
        &params![table_id, label, record, now_ms],
    )?;
    Ok(())
}

/// Records of a stream after `after` created since `since_ms`: (seq, record JSON, created).
pub fn stream_records(
    tx: &mut dyn Tx,
    table_id: i64,
    label: &str,
    after: i64,
    since_ms: i64,
    limit: i64,
) -> Result<Vec<(i64, String, i64)>, DbError> {
    let rows = tx.query(
        "SELECT seq, record, created_at FROM ddb_stream_records
         WHERE table_id = ?1 AND label = ?2 AND seq > ?3 AND created_at >= ?4 ORDER BY seq LIMIT ?5",
        &params![table_id, label, after, since_ms, limit],
    )?;
    rows.iter()
        .map(|r| Ok((r.i64(0)?, r.string(1)?, r.i64(2)?)))
        .collect()
}

/// The first and last retained sequence of a stream.
pub fn stream_bounds(
    tx: &mut dyn Tx,
    table_id: i64,
    label: &str,
    since_ms: i64,
) -> Result<(Option<i64>, Option<i64>), DbError> {
    let row = tx.query_one(
        "SELECT MIN(seq), MAX(seq) FROM ddb_stream_records WHERE table_id = ?1 AND label = ?2 AND created_at >= ?3",
        &params![table_id, label, since_ms],
    )?;
    match row {
        Some(row) => Ok((row.opt_i64(0)?, row.opt_i64(1)?)),
        None => Ok((None, None)),
    }
}

/// The highest sequence ever written to any stream (records after it are new).
pub fn last_stream_seq(tx: &mut dyn Tx) -> Result<i64, DbError> {
    let row = tx.query_one("SELECT COALESCE(MAX(seq), 0) FROM ddb_stream_records", &[])?;
    row.map_or(Ok(0), |r| r.i64(0))
}

/// Whether any stream record was written before `before_ms`.
pub fn has_stream_records_before(tx: &mut dyn Tx, before_ms: i64) -> Result<bool, DbError> {
    Ok(tx
        .query_one(
            "SELECT 1 FROM ddb_stream_records WHERE created_at < ?1 LIMIT 1",
            &params![before_ms],
        )?
        .is_some())
}

pub fn trim_stream_records(tx: &mut dyn Tx, before_ms: i64) -> Result<(), DbError> {
    tx.execute(
        "DELETE FROM ddb_stream_records WHERE created_at < ?1",
        &params![before_ms],
    )?;
    Ok(())
}
