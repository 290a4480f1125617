//! `FilterCriteria`: EventBridge patterns a record must match (any of them) to reach the
//! function. Records that match none are settled as processed, as AWS discards them.

use nimbus_core::ServiceError;
use nimbus_pattern::Pattern;
use serde_json::Value;

use crate::errors;

/// AWS's default quota of filters per mapping.
pub(crate) const MAX_FILTERS: usize = 5;
/// The longest pattern AWS accepts.
const MAX_PATTERN_CHARS: usize = 4096;

/// Compiled filters; empty means every record passes.
#[derive(Debug, Clone, Default)]
pub(crate) struct Filters(Vec<Pattern>);

impl Filters {
    /// Compiles the patterns of a mapping, refusing what AWS refuses.
    pub(crate) fn compile(patterns: &[String]) -> Result<Filters, ServiceError> {
        if patterns.len() > MAX_FILTERS {
            return Err(errors::invalid(format!(
                "The number of filters exceeds the limit of {MAX_FILTERS} filters per event source mapping."
            )));
        }
        patterns
            .iter()
            .map(|text| {
                if text.chars().count() > MAX_PATTERN_CHARS {
                    return Err(errors::invalid("Invalid filter pattern definition."));
                }
                Pattern::parse_str(text)
                    .map_err(|_| errors::invalid("Invalid filter pattern definition."))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Filters)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether a record (in the form filters see it) passes.
    pub(crate) fn admits(&self, view: &Value) -> bool {
        self.0.is_empty() || self.0.iter().any(|p| p.matches(view))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_filter_admits() {
        let filters = Filters::compile(&[
            r#"{"body":{"kind":["a"]}}"#.to_owned(),
            r#"{"body":{"n":[{"numeric":[">",5]}]}}"#.to_owned(),
        ])
        .unwrap_or_default();
        assert!(!filters.is_empty());
        assert!(filters.admits(&serde_json::json!({"body":{"kind":"a"}})));
        assert!(filters.admits(&serde_json::json!({"body":{"n":9}})));
        assert!(!filters.admits(&serde_json::json!({"body":{"kind":"b","n":1}})));
        assert!(!filters.admits(&serde_json::json!({"body":"plain text"})));
    }

    #[test]
    fn bad_patterns_are_refused() {
        assert!(Filters::compile(&["not json".to_owned()]).is_err());
        assert!(Filters::compile(&[r#"{"body":"x"}"#.to_owned()]).is_err());
        assert!(Filters::compile(&vec!["{}".to_owned(); 6]).is_err());
    }
}
