//! Amazon DynamoDB over the nimbus store.
//!
//! Control-plane operations take the generated wire shapes (`control`); the item operations
//! read their input straight from the request JSON (`service`), since decoding every
//! attribute value into typed maps costs more than the operation itself. Every write runs in
//! the store's group commit, with its index entries in the same transaction.

mod api;
mod batch;
mod capacity;
mod control;
mod create;
mod errors;
mod items;
mod keys;
mod read;
mod request;
mod rows;
mod schema;
mod service;
mod settings;
mod streams;
mod table;
mod transact;
mod ttl;
mod write;

use std::collections::HashMap;
use std::sync::Arc;

use nimbus_core::{Clock, RequestContext, ServiceError};
use nimbus_store::{DbError, ServiceStore, Store, TxError};
use parking_lot::RwLock;

pub use service::DynamodbService;
pub use streams::StreamsService;
pub use table::{Table, TableMeta};

/// Names a table: account, region and table name.
pub type TableKey = (String, String, String);

/// The DynamoDB service.
pub struct Dynamodb {
    db: ServiceStore<ServiceError>,
    clock: Clock,
    /// Table definitions by key, so item operations skip a lookup. Every change to a table
    /// replaces or forgets its entry after committing.
    tables: RwLock<HashMap<TableKey, Arc<Table>>>,
}

impl Dynamodb {
    /// Prepares the DynamoDB tables and returns the service.
    pub async fn open(store: Store, clock: Clock) -> Result<Arc<Dynamodb>, DbError> {
        store.migrate("dynamodb", schema::MIGRATIONS).await?;
        Ok(Arc::new(Dynamodb {
            db: ServiceStore::new(store, errors::internal),
            clock,
            tables: RwLock::default(),
        }))
    }

    fn table_key(ctx: &RequestContext, name: &str) -> TableKey {
        (ctx.account_id.clone(), ctx.region.clone(), name.to_owned())
    }

    /// The table named `name`, from the cache or the store.
    fn find_table(
        &self,
        ctx: &RequestContext,
        name: &str,
    ) -> Result<Option<Arc<Table>>, ServiceError> {
        let key = Self::table_key(ctx, name);
        if let Some(table) = self.tables.read().get(&key) {
            return Ok(Some(Arc::clone(table)));
        }
        let Some(table) = self.db.read(|tx| rows::load_table(tx, &key))? else {
            return Ok(None);
        };
        let table = Arc::new(table);
        self.tables.write().insert(key, Arc::clone(&table));
        Ok(Some(table))
    }

    /// The table for an item operation (AWS's "Requested resource not found" when absent).
    fn table(&self, ctx: &RequestContext, name: &str) -> Result<Arc<Table>, ServiceError> {
        self.find_table(ctx, name)?
            .ok_or_else(errors::table_not_found)
    }

    /// Drops a table's cached definition after it changed.
    fn forget_table(&self, ctx: &RequestContext, name: &str) {
        self.tables.write().remove(&Self::table_key(ctx, name));
    }

    /// Deletes every table and item of every account and region.
    pub async fn reset(&self) -> Result<(), ServiceError> {
        self.db.clear_tables(schema::TABLES).await?;
        self.tables.write().clear();
        Ok(())
    }
}

/// Turns a failed domain check inside a transaction into an abort.
fn abort<T>(err: ServiceError) -> Result<T, TxError<ServiceError>> {
    Err(TxError::Abort(err))
}
