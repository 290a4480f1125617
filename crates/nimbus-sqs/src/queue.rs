//! Queue identity: names, URLs, ARNs and the stored queue row.

use nimbus_core::{RequestContext, ServiceError, arn};
use nimbus_store::{DbError, Row, Tx, params};

use crate::attributes::{self, AttributeMap};
use crate::errors;

/// A queue as stored.
#[derive(Debug, Clone)]
pub struct Queue {
    pub id: i64,
    pub account: String,
    pub region: String,
    pub name: String,
    pub fifo: bool,
    pub attributes: AttributeMap,
    pub tags: std::collections::BTreeMap<String, String>,
    pub created_at_ms: i64,
    pub modified_at_ms: i64,
    pub purged_at_ms: Option<i64>,
}

/// Where a queue lives: account, region and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QueueKey {
    pub account: String,
    pub region: String,
    pub name: String,
}

impl Queue {
    pub fn arn(&self) -> String {
        arn::build("sqs", &self.region, &self.account, &self.name)
    }

    pub fn url(&self, base_url: &str) -> String {
        format!("{base_url}/{}/{}", self.account, self.name)
    }

    pub fn visibility_timeout_ms(&self) -> i64 {
        attributes::int(&self.attributes, "VisibilityTimeout") * 1000
    }

    pub fn delay_ms(&self) -> i64 {
        attributes::int(&self.attributes, "DelaySeconds") * 1000
    }

    pub fn retention_ms(&self) -> i64 {
        attributes::int(&self.attributes, "MessageRetentionPeriod") * 1000
    }

    pub fn max_message_size(&self) -> usize {
        usize::try_from(attributes::int(&self.attributes, "MaximumMessageSize"))
            .unwrap_or(1_048_576)
    }

    pub fn redrive_policy(&self) -> Option<attributes::RedrivePolicy> {
        attributes::text(&self.attributes, "RedrivePolicy")
            .and_then(attributes::RedrivePolicy::parse)
    }
}

const COLUMNS: &str =
    "id, account, region, name, fifo, attributes, tags, created_at, modified_at, purged_at";

fn from_row(row: &Row) -> Result<Queue, DbError> {
    Ok(Queue {
        id: row.i64(0)?,
        account: row.string(1)?,
        region: row.string(2)?,
        name: row.string(3)?,
        fifo: row.bool(4)?,
        attributes: serde_json::from_str(row.str(5)?)
            .map_err(|e| DbError::Engine(e.to_string()))?,
        tags: serde_json::from_str(row.str(6)?).map_err(|e| DbError::Engine(e.to_string()))?,
        created_at_ms: row.i64(7)?,
        modified_at_ms: row.i64(8)?,
        purged_at_ms: row.opt_i64(9)?,
    })
}

/// Loads a queue by its key.
pub fn load(tx: &mut dyn Tx, key: &QueueKey) -> Result<Option<Queue>, DbError> {
    tx.query_one(
        &format!(
            "SELECT {COLUMNS} FROM sqs_queues WHERE account = ?1 AND region = ?2 AND name = ?3"
        ),
        &params![&key.account, &key.region, &key.name],
    )?
    .map(|row| from_row(&row))
    .transpose()
}

/// Whether a queue row still exists (a cheap primary-key probe for writes that use cached
/// queue metadata).
pub fn exists(tx: &mut dyn Tx, id: i64) -> Result<bool, DbError> {
    Ok(tx
        .query_one("SELECT 1 FROM sqs_queues WHERE id = ?1", &params![id])?
        .is_some())
}

/// Loads every queue of an account and region, by name.
pub fn load_all(tx: &mut dyn Tx, account: &str, region: &str) -> Result<Vec<Queue>, DbError> {
    tx.query(
        &format!(
            "SELECT {COLUMNS} FROM sqs_queues WHERE account = ?1 AND region = ?2 ORDER BY name"
        ),
        &params![account, region],
    )?
    .iter()
    .map(from_row)
    .collect()
}

/// Writes a queue's attributes and tags back.
pub fn save_settings(tx: &mut dyn Tx, queue: &Queue) -> Result<(), DbError> {
    let attributes =
        serde_json::to_string(&queue.attributes).map_err(|e| DbError::Engine(e.to_string()))?;
    let tags = serde_json::to_string(&queue.tags).map_err(|e| DbError::Engine(e.to_string()))?;
    tx.execute(
        "UPDATE sqs_queues SET attributes = ?2, tags = ?3, retention_ms = ?4, modified_at = ?5 WHERE id = ?1",
        &params![queue.id, attributes, tags, queue.retention_ms(), queue.modified_at_ms],
    )?;
    Ok(())
}

/// Checks a queue name: 1–80 characters of `[A-Za-z0-9_-]`, FIFO names ending in `.fifo`.
pub fn check_name(name: &str, fifo: bool) -> Result<(), ServiceError> {
    let stem = if fifo {
        name.strip_suffix(".fifo")
    } else {
        Some(name)
    };
    let valid = stem.is_some_and(|stem| {
        !stem.is_empty()
            && name.len() <= 80
            && stem
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    });
    if valid {
        return Ok(());
    }
    Err(errors::invalid_parameter_value(
        if fifo || name.ends_with(".fifo") {
            "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length."
        } else {
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"
        },
    ))
}

/// The queue a `QueueUrl` names. Any host is accepted; the path is `/<account>/<name>`.
pub fn key_from_url(ctx: &RequestContext, url: &str) -> Result<QueueKey, ServiceError> {
    let without_query = url.split(['?', '#']).next().unwrap_or("");
    let path = match without_query.find("://") {
        Some(scheme_end) => {
            let rest = &without_query[scheme_end + 3..];
            rest.find('/').map_or("", |slash| &rest[slash..])
        }
        None => without_query,
    };
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        [.., account, name]
            if account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) =>
        {
            Ok(QueueKey {
                account: (*account).to_owned(),
                region: ctx.region.clone(),
                name: (*name).to_owned(),
            })
        }
        [name] if !url.contains("://") => Ok(QueueKey {
            account: ctx.account_id.clone(),
            region: ctx.region.clone(),
            name: (*name).to_owned(),
        }),
        _ => Err(ServiceError::new(
            "InvalidAddress",
            404,
            format!("The address {url} is not valid for this endpoint."),
        )
        .with_query_code("InvalidAddress")),
    }
}

/// The queue an ARN names.
pub fn key_from_arn(queue_arn: &str) -> Option<QueueKey> {
    let parsed = arn::parse(queue_arn)?;
    (parsed.service == "sqs" && !parsed.resource.contains(':')).then(|| QueueKey {
        account: parsed.account.to_owned(),
        region: parsed.region.to_owned(),
        name: parsed.resource.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> RequestContext {
        RequestContext::internal("000000000000", "us-east-1", "http://localhost:4566")
    }

    #[test]
    fn urls_from_any_host() {
        for url in [
            "http://localhost:4566/000000000000/jobs",
            "https://sqs.us-east-1.amazonaws.com/000000000000/jobs",
            "http://127.0.0.1:4566/000000000000/jobs?x=1",
        ] {
            assert_eq!(key_from_url(&ctx(), url).unwrap().name, "jobs", "{url}");
        }
        assert!(key_from_url(&ctx(), "http://localhost:4566/").is_err());
        assert!(key_from_url(&ctx(), "http://localhost:4566/abc/jobs").is_err());
    }

    #[test]
    fn names() {
        assert!(check_name("jobs-1_a", false).is_ok());
        assert!(check_name("jobs.fifo", true).is_ok());
        assert!(check_name(".fifo", true).is_err());
        assert!(check_name("jobs.fifo", false).is_err());
        assert!(check_name("jobs", true).is_err());
        assert!(check_name(&"a".repeat(81), false).is_err());
        assert!(check_name(&format!("{}.fifo", "a".repeat(75)), true).is_ok());
        assert!(check_name(&format!("{}.fifo", "a".repeat(76)), true).is_err());
        assert!(check_name("", false).is_err());
    }

    #[test]
    fn arns() {
        let key = key_from_arn("arn:aws:sqs:eu-west-1:000000000002:dlq").unwrap();
        assert_eq!(
            (key.account.as_str(), key.region.as_str(), key.name.as_str()),
            ("000000000002", "eu-west-1", "dlq")
        );
        assert!(key_from_arn("arn:aws:sns:eu-west-1:000000000002:t").is_none());
    }
}
