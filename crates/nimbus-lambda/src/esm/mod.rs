//! Event source mappings: a stored mapping from a queue or table stream to a function, and the pollers that
//! read the queue in batches and invoke the function synchronously.
//!
//! The machinery is source-neutral: [`poller`] batches, filters, invokes, reads partial batch
//! responses and settles records through the [`poller::EventSource`] trait; [`sqs`] is the
//! first source. Table streams ([`stream`]) are read in order from a durable checkpoint
//! instead, retrying a failed batch until it succeeds or is given up. [`supervisor`] runs one poller group per enabled mapping and moves mappings
//! through AWS's states (`Creating` → `Enabled`, `Disabling` → `Disabled`, …).

mod api;
mod batch_response;
mod filter;
mod poller;
mod sqs;
mod store;
mod stream;
mod stream_api;
mod stream_mapping;
mod supervisor;

use std::sync::{Arc, OnceLock};

use nimbus_core::effects::{QueueConsumer, StreamReader};
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
    /// The settings of a stream source (DynamoDB Streams); `None` for queues.
    #[serde(default)]
    pub stream: Option<StreamSettings>,
}

/// What a stream mapping adds: where it starts, how it retries, and how far it has read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct StreamSettings {
    /// `TRIM_HORIZON` or `LATEST`, as given.
    pub starting_position: String,
    pub parallelization_factor: u32,
    pub bisect_on_error: bool,
    /// -1 retries until the records expire.
    pub max_retry_attempts: i32,
    /// -1 keeps records until the stream drops them.
    pub max_record_age_secs: i32,
    /// `DestinationConfig.OnFailure.Destination`: an SQS queue or SNS topic ARN.
    pub on_failure: Option<String>,
    /// The sequence number of the last record processed or given up on; reading resumes
    /// after it (`None`: from the oldest retained record). Only the poller moves it.
    pub checkpoint: Option<String>,
}

/// What Lambda holds for its event source mappings.
#[derive(Default)]
pub(crate) struct EventSources {
    /// Wakes the supervisor after a mapping changed.
    pub changed: Notify,
    /// The queues mappings read (wired by the binary).
    pub queues: OnceLock<Arc<dyn QueueConsumer>>,
    /// The table streams mappings read (wired by the binary).
    pub streams: OnceLock<Arc<dyn StreamReader>>,
}
