//! Event source mappings: a stored mapping from a queue to a function, and the pollers that
//! read the queue in batches and invoke the function synchronously.
//!
//! The machinery is source-neutral: [`poller`] batches, filters, invokes, reads partial batch
//! responses and settles records through the [`poller::EventSource`] trait; [`sqs`] is the
//! first source. [`supervisor`] runs one poller group per enabled mapping and moves mappings
//! through AWS's states (`Creating` → `Enabled`, `Disabling` → `Disabled`, …).

mod api;
mod batch_response;
mod filter;
mod poller;
mod sqs;
mod store;
mod supervisor;

use std::sync::{Arc, OnceLock};

use nimbus_core::effects::QueueConsumer;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

pub(crate) use api::configuration;

/// The `format` of a stored mapping record.
const MAPPING_FORMAT: i64 = 1;

/// A mapping's state as AWS names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum MappingState {
    Creating,
    Enabling,
    Enabled,
    Disabling,
    Disabled,
    Updating,
    Deleting,
}

impl MappingState {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            MappingState::Creating => "Creating",
            MappingState::Enabling => "Enabling",
            MappingState::Enabled => "Enabled",
            MappingState::Disabling => "Disabling",
            MappingState::Disabled => "Disabled",
            MappingState::Updating => "Updating",
            MappingState::Deleting => "Deleting",
        }
    }

    /// Whether the supervisor still has to act on the mapping.
    fn is_transitional(self) -> bool {
        !matches!(self, MappingState::Enabled | MappingState::Disabled)
    }
}

/// Everything kept about a mapping (stored as JSON, format 1; new fields need defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct MappingRecord {
    pub uuid: String,
    pub account: String,
    pub region: String,
    pub source_arn: String,
    /// The function's ARN, qualified when the mapping names a version or alias.
    pub function_arn: String,
    pub batch_size: u32,
    pub batching_window_secs: u32,
    pub report_batch_item_failures: bool,
    #[serde(default)]
    pub max_concurrency: Option<u32>,
    /// `FilterCriteria.Filters[].Pattern`, as given.
    #[serde(default)]
    pub filters: Vec<String>,
    pub enabled: bool,
    pub state: MappingState,
    pub state_reason: String,
    pub last_modified_ms: i64,
    /// Bumped by every change, so running pollers restart with the new settings.
    pub generation: u64,
}

/// What Lambda holds for its event source mappings.
#[derive(Default)]
pub(crate) struct EventSources {
    /// Wakes the supervisor after a mapping changed.
    pub changed: Notify,
    /// The queues mappings read (wired by the binary).
    pub queues: OnceLock<Arc<dyn QueueConsumer>>,
}
