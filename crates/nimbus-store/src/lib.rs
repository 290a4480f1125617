//! The storage seam.
//!
//! Services keep their SQL in one module each and talk to the store through [`Tx`], an
//! engine-neutral transaction handle: parameters and rows are [`SqlValue`]s and SQL uses
//! numbered `?N` placeholders, so the same statements can later run on PostgreSQL (which
//! rewrites them to `$N`). Writes go through one writer that group-commits: a caller is
//! acknowledged only after the transaction holding its write is committed and, on disk,
//! fsync'd. Reads use a small pool of read-only connections.

mod checkpointer;
mod error;
mod readers;
mod service_store;
mod sqlite;
mod value;

pub mod conformance;

pub use error::{DbError, TxError};
pub use service_store::ServiceStore;
pub use sqlite::{Store, StoreConfig, StoreObserver};
pub use value::{Row, SqlValue};

/// A transaction (or read snapshot) as services see it.
pub trait Tx {
    /// Runs a statement; returns the number of rows changed.
    fn execute(&mut self, sql: &str, params: &[SqlValue]) -> Result<usize, DbError>;

    /// Runs a query and collects its rows.
    fn query(&mut self, sql: &str, params: &[SqlValue]) -> Result<Vec<Row>, DbError>;

    /// Runs a query that returns at most one row.
    fn query_one(&mut self, sql: &str, params: &[SqlValue]) -> Result<Option<Row>, DbError> {
        Ok(self.query(sql, params)?.into_iter().next())
    }
}

/// Builds a `[SqlValue; N]` from anything convertible: `params![queue_id, "body", 3]`.
#[macro_export]
macro_rules! params {
    ($($value:expr),* $(,)?) => {
        [$($crate::SqlValue::from($value)),*]
    };
}

/// One numbered schema step of a service. Versions start at 1 and never change once released.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i64,
    pub sql: &'static str,
}
