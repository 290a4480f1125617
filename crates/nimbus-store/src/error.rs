//! Errors at the storage boundary: an engine failure is never confused with a domain abort.

/// The engine failed (I/O, corruption, bad SQL, shutdown).
#[derive(Debug, Clone, thiserror::Error)]
pub enum DbError {
    #[error("storage engine error: {0}")]
    Engine(String),
    #[error("column {index} has an unexpected type (wanted {wanted})")]
    ColumnType { index: usize, wanted: &'static str },
    #[error("the store is closed")]
    Closed,
    #[error("a write transaction panicked")]
    Panicked,
    #[error("the commit was rolled back: a write in it failed after changing data")]
    BatchRolledBack,
}

impl From<rusqlite::Error> for DbError {
    fn from(err: rusqlite::Error) -> Self {
        DbError::Engine(err.to_string())
    }
}

/// The result of a write: the caller's own abort (`Abort`, rolled back, nothing written) or an
/// engine failure (`Db`).
#[derive(Debug, thiserror::Error)]
pub enum TxError<E> {
    #[error("transaction aborted")]
    Abort(E),
    #[error(transparent)]
    Db(#[from] DbError),
}
