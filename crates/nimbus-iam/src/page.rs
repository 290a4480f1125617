//! IAM's `Marker`/`MaxItems` pagination over lists sorted by a key.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use nimbus_core::ServiceError;

use crate::errors;

/// `MaxItems` when the caller gives none.
const DEFAULT_MAX_ITEMS: usize = 100;

/// Where a list starts and how long it may be.
#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    pub marker: Option<String>,
    pub max_items: Option<i32>,
}

/// One page of a list; `marker` is set when more items follow.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub marker: Option<String>,
}

impl<T> Page<T> {
    pub fn is_truncated(&self) -> bool {
        self.marker.is_some()
    }
}

impl PageRequest {
    /// The sort key the page starts at, from the opaque marker.
    pub fn start_key(&self) -> Result<Option<String>, ServiceError> {
        let Some(marker) = &self.marker else {
            return Ok(None);
        };
        URL_SAFE_NO_PAD
            .decode(marker)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .map(Some)
            .ok_or_else(|| errors::validation("Invalid Marker."))
    }

    /// Cuts one page out of `items`, which are sorted by `key`.
    pub fn take<T>(
        &self,
        items: Vec<T>,
        key: impl Fn(&T) -> String,
    ) -> Result<Page<T>, ServiceError> {
        let start = self.start_key()?;
        let max = self
            .max_items
            .and_then(|n| usize::try_from(n).ok())
            .filter(|n| *n > 0)
            .unwrap_or(DEFAULT_MAX_ITEMS);
        let mut rest = items.into_iter().filter(|item| {
            start
                .as_deref()
                .is_none_or(|start| key(item).as_str() >= start)
        });
        let page: Vec<T> = rest.by_ref().take(max).collect();
        let marker = rest.next().map(|next| URL_SAFE_NO_PAD.encode(key(&next)));
        Ok(Page {
            items: page,
            marker,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_follow_markers_to_the_end() {
        let items: Vec<String> = (0..5).map(|i| format!("r{i}")).collect();
        let mut request = PageRequest {
            marker: None,
            max_items: Some(2),
        };
        let mut seen = Vec::new();
        loop {
            let page = request.take(items.clone(), Clone::clone).unwrap();
            seen.extend(page.items.clone());
            if !page.is_truncated() {
                break;
            }
            request.marker = page.marker;
        }
        assert_eq!(seen, items);
        let bad = PageRequest {
            marker: Some("***".into()),
            max_items: None,
        };
        assert!(bad.take(items, Clone::clone).is_err());
    }
}
