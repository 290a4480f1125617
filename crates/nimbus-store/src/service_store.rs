//! The store as a service uses it: a domain abort passes through as the service's own error,
//! an engine failure becomes the service's internal error.

use crate::{DbError, Store, Tx, TxError};

/// A [`Store`] paired with how a service reports engine failures.
#[derive(Clone)]
pub struct ServiceStore<E> {
    store: Store,
    on_failure: fn(&DbError) -> E,
}

impl<E: Send + 'static> ServiceStore<E> {
    /// `on_failure` turns an engine failure into the error the client sees (and logs it).
    pub fn new(store: Store, on_failure: fn(&DbError) -> E) -> Self {
        ServiceStore { store, on_failure }
    }

    /// The underlying store (migrations, close).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Runs `work` in the next group commit; see [`Store::write`].
    pub async fn write<T, F>(&self, work: F) -> Result<T, E>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Tx) -> Result<T, TxError<E>> + Send + 'static,
    {
        let outcome = self.store.write(work).await;
        self.service_result(outcome)
    }

    /// Runs `work`, which checks everything before its first change, in the next group
    /// commit; see [`Store::write_prechecked`].
    pub async fn write_prechecked<T, F>(&self, work: F) -> Result<T, E>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Tx) -> Result<T, TxError<E>> + Send + 'static,
    {
        let outcome = self.store.write_prechecked(work).await;
        self.service_result(outcome)
    }

    /// Runs `work` with the next commit rather than in one of its own; see
    /// [`Store::write_deferred`].
    pub async fn write_deferred<T, F>(&self, work: F) -> Result<T, E>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Tx) -> Result<T, TxError<E>> + Send + 'static,
    {
        let outcome = self.store.write_deferred(work).await;
        self.service_result(outcome)
    }

    fn service_result<T>(&self, outcome: Result<T, TxError<E>>) -> Result<T, E> {
        outcome.map_err(|err| match err {
            TxError::Abort(err) => err,
            TxError::Db(err) => (self.on_failure)(&err),
        })
    }

    /// Runs a short read on a snapshot of committed state; see [`Store::read`].
    pub fn read<T>(&self, work: impl FnOnce(&mut dyn Tx) -> Result<T, DbError>) -> Result<T, E> {
        self.store.read(work).map_err(|err| (self.on_failure)(&err))
    }

    /// Empties the given tables in one commit (a service's reset).
    pub async fn clear_tables(&self, tables: &'static [&'static str]) -> Result<(), E> {
        self.write(move |tx| {
            for table in tables {
                tx.execute(&format!("DELETE FROM {table}"), &[])?;
            }
            Ok(())
        })
        .await
    }
}
