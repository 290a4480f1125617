//! The composition root: opens the store, builds the services, starts their workers, and
//! closes everything in order on shutdown. The only place that knows every crate.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use nimbus_core::effects::{FunctionInvoker, FunctionUrlHandler, QueueSender};
use nimbus_core::{Clock, CredentialLookup, Service};
use nimbus_dynamodb::{Dynamodb, DynamodbService, StreamsService};
use nimbus_iam::{Iam, IamService, StsService};
use nimbus_lambda::{Lambda, LambdaConfig, LambdaInvoker, LambdaService, LambdaUrls};
use nimbus_logs::{Logs, LogsService, LogsWriter};
use nimbus_model::ServiceModel;
use nimbus_model::dynamodbstreams::DynamodbstreamsHandler;
use nimbus_model::iam::IamHandler;
use nimbus_model::lambda::LambdaHandler;
use nimbus_model::logs::LogsHandler;
use nimbus_model::sns::SnsHandler;
use nimbus_model::sqs::SqsHandler;
use nimbus_model::sts::StsHandler;
use nimbus_server::{AdminGetFn, AdminReply, CommitObserver, ServerMetrics};
use nimbus_sns::{Endpoints, Sns, SnsService, SnsTopicPublisher};
use nimbus_sqs::{Sqs, SqsQueueConsumer, SqsQueueSender, SqsService};
use nimbus_store::{Store, StoreConfig, StoreObserver};
use tokio::sync::watch;

use crate::settings::{LambdaSdk, Settings, Storage};

/// The running services and what must be closed after the server drains.
pub struct Composition {
    pub services: Vec<(Arc<dyn Service>, &'static ServiceModel)>,
    /// Temporary credentials STS issued, for the edge's signature check.
    pub issued_credentials: Arc<dyn CredentialLookup>,
    /// Pages services serve under `/_nimbus/`.
    pub admin_pages: Vec<(&'static str, AdminGetFn)>,
    /// Serves function URL traffic at the edge.
    pub function_urls: Arc<dyn FunctionUrlHandler>,
    lambda: Arc<Lambda>,
    store: Store,
    /// A directory made for this run only (`--in-memory`), removed on close.
    scratch: Option<PathBuf>,
}

/// How long an unused function instance stays warm.
const FUNCTION_IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// AWS's default account concurrency.
const ACCOUNT_CONCURRENCY: usize = 1000;

/// Feeds the store's group commits into the server's metrics.
struct CommitMetrics(Arc<dyn CommitObserver>);

impl StoreObserver for CommitMetrics {
    fn record_commit(&self, batch_size: usize, seconds: f64) {
        self.0.record_commit(batch_size, seconds);
    }
}

/// Builds every service. `shutdown` is the same signal the server stops on, for workers
/// (long polls, sweeps) to stop with.
pub async fn compose(
    settings: &Settings,
    clock: &Clock,
    metrics: &ServerMetrics,
    shutdown: watch::Receiver<bool>,
) -> Result<Composition> {
    let database = match &settings.storage {
        Storage::InMemory => None,
        Storage::Directory(dir) => Some(dir.join("nimbus.sqlite")),
    };
    tracing::info!(?database, clock = ?clock.mode(), "opening the store");
    let observer = Arc::new(CommitMetrics(metrics.commit_observer()));
    let store = Store::open_observed(StoreConfig::new(database), observer).await?;

    let sqs = Sqs::open(store.clone(), clock.clone()).await?;
    sqs.spawn_workers(shutdown.clone());
    let iam = Iam::open(store.clone(), clock.clone(), &settings.account).await?;

    // Function code and instance scratch space live beside the database, or in a directory
    // of this run's own when nothing is kept.
    let (lambda_dir, scratch) = match &settings.storage {
        Storage::Directory(dir) => (dir.join("lambda"), None),
        Storage::InMemory => {
            let dir = std::env::temp_dir().join(format!(
                "nimbus-{}-{}",
                std::process::id(),
                nimbus_core::ids::uuid()
            ));
            (dir.clone(), Some(dir))
        }
    };
    let lambda_config = LambdaConfig {
        work_dir: lambda_dir.clone(),
        account_concurrency: ACCOUNT_CONCURRENCY,
        idle_timeout: FUNCTION_IDLE_TIMEOUT,
        async_retry_scale: settings.async_retry_scale,
        sdk_dir: match &settings.lambda_sdk {
            LambdaSdk::Default => Some(lambda_dir.join("sdk")),
            LambdaSdk::Dir(dir) => Some(dir.clone()),
            LambdaSdk::Off => None,
        },
    };
    let logs = Logs::open(store.clone(), clock.clone()).await?;
    logs.spawn_workers(shutdown.clone());
    let log_writer = Arc::new(LogsWriter(Arc::clone(&logs)));
    let lambda = Lambda::open(
        store.clone(),
        clock.clone(),
        lambda_config,
        Some(log_writer),
    )
    .await?;
    // Event source mappings read queues through the same receive and delete paths clients use.
    lambda.connect_queues(Arc::new(SqsQueueConsumer(Arc::clone(&sqs))));
    let function_invoker: Arc<dyn FunctionInvoker> = Arc::new(LambdaInvoker(Arc::clone(&lambda)));

    // SNS delivers to queues and functions through the same seams other services use.
    let queue_sender: Arc<dyn QueueSender> = Arc::new(SqsQueueSender(Arc::clone(&sqs)));
    let endpoints = Endpoints {
        queues: Some(Arc::clone(&queue_sender)),
        functions: Some(function_invoker),
    };
    let sns = Sns::open(store.clone(), clock.clone(), endpoints).await?;
    sns.spawn_workers(shutdown.clone());
    // Lambda's destinations and dead-letter targets; SNS is bound late because it holds
    // the function invoker (and weakly, so the two do not keep each other alive).
    lambda.set_queue_sender(queue_sender);
    lambda.set_topic_publisher(Arc::new(SnsTopicPublisher::new(&sns)));
    let dynamodb = Dynamodb::open(store.clone(), clock.clone()).await?;
    dynamodb.spawn_workers(shutdown.clone());
    // Stream mappings read the same records GetRecords serves.
    lambda.connect_streams(Arc::new(StreamsService(Arc::clone(&dynamodb))));
    lambda.spawn_workers(shutdown.clone());
    lambda_metrics(metrics, &lambda);

    let services: Vec<(Arc<dyn Service>, &'static ServiceModel)> = vec![
        (
            Arc::new(SqsHandler::new(SqsService(sqs))),
            &nimbus_model::sqs::SERVICE,
        ),
        (
            Arc::new(SnsHandler::new(SnsService(Arc::clone(&sns)))),
            &nimbus_model::sns::SERVICE,
        ),
        (
            Arc::new(StsHandler::new(StsService(Arc::clone(&iam)))),
            &nimbus_model::sts::SERVICE,
        ),
        (
            Arc::new(IamHandler::new(IamService(Arc::clone(&iam)))),
            &nimbus_model::iam::SERVICE,
        ),
        (
            Arc::new(LambdaHandler::new(LambdaService(Arc::clone(&lambda)))),
            &nimbus_model::lambda::SERVICE,
        ),
        (
            Arc::new(LogsHandler::new(LogsService(logs))),
            &nimbus_model::logs::SERVICE,
        ),
        (
            Arc::new(DynamodbstreamsHandler::new(StreamsService(Arc::clone(
                &dynamodb,
            )))),
            &nimbus_model::dynamodbstreams::SERVICE,
        ),
        (
            Arc::new(DynamodbService(dynamodb)),
            &nimbus_model::dynamodb::SERVICE,
        ),
    ];
    let admin_pages = vec![
        ("sns/", sns_pages(sns)),
        (nimbus_lambda::CODE_PATH, lambda_code(Arc::clone(&lambda))),
    ];
    let function_urls: Arc<dyn FunctionUrlHandler> = Arc::new(LambdaUrls(Arc::clone(&lambda)));

    Ok(Composition {
        services,
        issued_credentials: iam,
        admin_pages,
        function_urls,
        lambda,
        store,
        scratch,
    })
}

/// Lambda's counters in `/_nimbus/metrics`: throttles per function and what became of
/// asynchronous events. Read through a weak handle so metrics never keep Lambda alive.
fn lambda_metrics(metrics: &ServerMetrics, lambda: &Arc<Lambda>) {
    let counted = Arc::downgrade(lambda);
    metrics.add_counter_source(
        "nimbus_lambda_throttles",
        "Lambda invocations refused for lack of reserved or account concurrency",
        Arc::new(move || {
            let Some(lambda) = counted.upgrade() else {
                return Vec::new();
            };
            lambda
                .throttle_counts()
                .into_iter()
                .map(|t| {
                    let labels = vec![
                        ("account".to_owned(), t.account),
                        ("region".to_owned(), t.region),
                        ("function".to_owned(), t.function),
                    ];
                    (labels, t.count)
                })
                .collect()
        }),
    );
    let counted = Arc::downgrade(lambda);
    metrics.add_counter_source(
        "nimbus_lambda_async_events",
        "Attempts of asynchronous Lambda events by what became of them",
        Arc::new(move || {
            let Some(lambda) = counted.upgrade() else {
                return Vec::new();
            };
            lambda
                .async_event_counts()
                .into_iter()
                .map(|(outcome, count)| (vec![("outcome".to_owned(), outcome.to_owned())], count))
                .collect()
        }),
    );
}

/// `/_nimbus/sns/…`: the signing certificate and the kept email/SMS notifications.
fn sns_pages(sns: Arc<Sns>) -> AdminGetFn {
    Arc::new(move |path, _query| {
        let cert_file = nimbus_sns::CERT_PATH.rsplit('/').next().unwrap_or_default();
        if path == cert_file {
            return Some(AdminReply {
                status: 200,
                content_type: "application/x-pem-file",
                body: sns.signing_certificate().as_bytes().to_vec(),
            });
        }
        if path == "notifications" {
            let body = match sns.notifications() {
                Ok(list) => serde_json::json!({ "notifications": list }),
                Err(err) => serde_json::json!({ "error": err.message }),
            };
            return Some(AdminReply {
                status: 200,
                content_type: "application/json",
                body: body.to_string().into_bytes(),
            });
        }
        None
    })
}

/// GetFunction's `Code.Location` and GetLayerVersion's `Content.Location`: the stored zips.
fn lambda_code(lambda: Arc<Lambda>) -> AdminGetFn {
    Arc::new(move |path, _query| {
        lambda.code_download(path).map(|zip| AdminReply {
            status: 200,
            content_type: "application/zip",
            body: zip,
        })
    })
}

impl Composition {
    /// Tells the services that hand out nimbus's own address (functions' `AWS_ENDPOINT_URL`)
    /// where the server listens.
    pub fn set_endpoint(&self, url: &str) {
        self.lambda.set_endpoint(url);
    }

    /// Runs after the server has drained: workers have seen the shutdown signal, so the
    /// store can flush its last group commit and close.
    pub async fn close(self) {
        self.store.close().await;
        tracing::info!("store closed");
        if let Some(dir) = &self.scratch {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
