//! AWS STS and IAM over the nimbus store.
//!
//! STS answers who a caller is and issues temporary credentials whose access key ids carry
//! their account (see `nimbus_core::ids`), so every service places their requests in the
//! right account without asking STS. IAM records roles and policies, per account and
//! without region, so that tools can create, find and reference them; nimbus does not
//! enforce them. Operations are methods on [`Iam`]; `sts_api` and `iam_api` adapt them to
//! the generated wire traits.

mod errors;
mod iam_api;
mod inline;
mod managed;
mod names;
mod page;
mod policies;
mod roles;
mod schema;
mod sts;
mod sts_api;

use std::sync::Arc;

use nimbus_core::{Clock, ServiceError};
use nimbus_store::{DbError, ServiceStore, Store, TxError};

pub use iam_api::IamService;
pub use inline::InlinePolicy;
pub use page::{Page, PageRequest};
pub use policies::{AttachedPolicy, ManagedPolicy, NewPolicy, PolicyScope};
pub use roles::{NewRole, Role};
pub use sts::{CallerIdentity, IssuedCredentials};
pub use sts_api::StsService;

/// The STS and IAM state of every account.
pub struct Iam {
    db: ServiceStore<ServiceError>,
    clock: Clock,
    /// The account of access keys that do not name one, as the edge derives it.
    default_account: String,
}

impl Iam {
    /// Prepares the tables and returns the service.
    pub async fn open(
        store: Store,
        clock: Clock,
        default_account: &str,
    ) -> Result<Arc<Iam>, DbError> {
        store.migrate("iam", schema::IAM_MIGRATIONS).await?;
        store.migrate("sts", schema::STS_MIGRATIONS).await?;
        Ok(Arc::new(Iam {
            db: ServiceStore::new(store, errors::internal),
            clock,
            default_account: default_account.to_owned(),
        }))
    }

    /// Deletes every role and policy of every account.
    pub async fn reset_iam(&self) -> Result<(), ServiceError> {
        self.db.clear_tables(schema::IAM_TABLES).await
    }

    /// Forgets every issued credential.
    pub async fn reset_sts(&self) -> Result<(), ServiceError> {
        self.db.clear_tables(schema::STS_TABLES).await
    }
}

/// Turns a failed domain check inside a transaction into an abort.
fn abort<T>(err: ServiceError) -> Result<T, TxError<ServiceError>> {
    Err(TxError::Abort(err))
}
