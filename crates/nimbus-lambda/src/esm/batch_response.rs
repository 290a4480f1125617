//! Partial batch responses (`ReportBatchItemFailures`): which records of a batch the
//! function reported as failed, with AWS's rules for malformed answers.

use std::collections::HashSet;

use serde_json::Value;

/// Why a response fails the whole batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Malformed(pub &'static str);

/// The identifiers the function reported as failed. An empty or `null` response, or an empty
/// or `null` `batchItemFailures`, means every record succeeded. A response that is not JSON,
/// is not an object, or has an item whose `itemIdentifier` is missing, empty or not in the
/// batch fails the whole batch, as AWS documents.
pub(crate) fn failed_items(
    payload: &[u8],
    batch_ids: &HashSet<&str>,
) -> Result<HashSet<String>, Malformed> {
    if payload.iter().all(u8::is_ascii_whitespace) {
        return Ok(HashSet::new());
    }
    let value: Value =
        serde_json::from_slice(payload).map_err(|_| Malformed("the response is not JSON"))?;
    let failures = match &value {
        Value::Null => return Ok(HashSet::new()),
        Value::Object(object) => match object.get("batchItemFailures") {
            None | Some(Value::Null) => return Ok(HashSet::new()),
            Some(Value::Array(items)) => items,
            Some(_) => return Err(Malformed("batchItemFailures is not a list")),
        },
        _ => return Err(Malformed("the response is not an object")),
    };
    let mut failed = HashSet::with_capacity(failures.len());
    for item in failures {
        let id = item
            .get("itemIdentifier")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())
            .ok_or(Malformed("an item has no itemIdentifier"))?;
        if !batch_ids.contains(id) {
            return Err(Malformed("an itemIdentifier names no record of the batch"));
        }
        failed.insert(id.to_owned());
    }
    Ok(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> HashSet<&'static str> {
        ["a", "b", "c"].into_iter().collect()
    }

    fn parse(text: &str) -> Result<Vec<String>, Malformed> {
        failed_items(text.as_bytes(), &ids()).map(|set| {
            let mut list: Vec<String> = set.into_iter().collect();
            list.sort();
            list
        })
    }

    #[test]
    fn complete_success_forms() {
        for text in [
            "",
            "  ",
            "null",
            "{}",
            r#"{"batchItemFailures":null}"#,
            r#"{"batchItemFailures":[]}"#,
        ] {
            assert_eq!(parse(text), Ok(vec![]), "{text}");
        }
    }

    #[test]
    fn listed_items_fail() {
        let text = r#"{"batchItemFailures":[{"itemIdentifier":"b"},{"itemIdentifier":"c"}]}"#;
        assert_eq!(parse(text), Ok(vec!["b".to_owned(), "c".to_owned()]));
    }

    #[test]
    fn malformed_responses_fail_the_batch() {
        for text in [
            "not json",
            r#""a string""#,
            "[1]",
            r#"{"batchItemFailures":"a"}"#,
            r#"{"batchItemFailures":[{"itemIdentifier":""}]}"#,
            r#"{"batchItemFailures":[{"itemIdentifier":null}]}"#,
            r#"{"batchItemFailures":[{"itemIdentifer":"a"}]}"#,
            r#"{"batchItemFailures":[{"itemIdentifier":"zzz"}]}"#,
        ] {
            assert!(parse(text).is_err(), "{text}");
        }
    }
}
