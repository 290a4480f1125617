//! Timestamp text forms used on the wire.

use chrono::{DateTime, SecondsFormat, Utc};

/// Epoch seconds → ISO 8601 with milliseconds (`2011-07-15T23:28:33.359Z`), AWS's XML form.
pub fn to_iso8601(secs: f64) -> String {
    let millis = (secs * 1000.0).round() as i64;
    DateTime::<Utc>::from_timestamp_millis(millis)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Epoch seconds → RFC 7231 HTTP date, restJson's header form.
pub fn to_http_date(secs: f64) -> String {
    DateTime::<Utc>::from_timestamp(secs.floor() as i64, 0)
        .unwrap_or_default()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

/// Any accepted text form (ISO 8601, HTTP date, or epoch seconds) → epoch seconds.
pub fn parse(text: &str) -> Option<f64> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<f64>() {
        return secs.is_finite().then_some(secs);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.timestamp_millis() as f64 / 1000.0);
    }
    if let Ok(t) = DateTime::parse_from_rfc2822(text) {
        return Some(t.timestamp_millis() as f64 / 1000.0);
    }
    // ISO 8601 without a zone, as some clients send it: read as UTC.
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|t| t.and_utc().timestamp_millis() as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let cases: &[(&str, Option<f64>)] = &[
            ("2011-07-15T23:28:33.359Z", Some(1_310_772_513.359)),
            ("2011-07-15T23:28:33Z", Some(1_310_772_513.0)),
            ("2011-07-15T23:28:33", Some(1_310_772_513.0)),
            ("Fri, 15 Jul 2011 23:28:33 GMT", Some(1_310_772_513.0)),
            ("1310772513", Some(1_310_772_513.0)),
            ("yesterday", None),
            ("NaN", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text), *want, "{text}");
        }
        assert_eq!(to_iso8601(1_310_772_513.359), "2011-07-15T23:28:33.359Z");
        assert_eq!(
            to_http_date(1_310_772_513.0),
            "Fri, 15 Jul 2011 23:28:33 GMT"
        );
    }
}
