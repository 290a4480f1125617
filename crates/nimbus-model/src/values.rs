//! Value types of the canonical JSON form: timestamps are epoch seconds, blobs are base64.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// A point in time, held as seconds since the Unix epoch (fractions allowed), which is also
/// its canonical JSON form.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default)]
pub struct Timestamp(pub f64);

impl Timestamp {
    pub fn from_secs(secs: i64) -> Self {
        Timestamp(secs as f64)
    }

    pub fn from_millis(ms: i64) -> Self {
        Timestamp(ms as f64 / 1000.0)
    }

    /// Milliseconds since the epoch, rounded down.
    pub fn as_millis(self) -> i64 {
        (self.0 * 1000.0).floor() as i64
    }

    pub fn as_secs_f64(self) -> f64 {
        self.0
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Whole seconds serialize as integers, as AWS sends them.
        if self.0.fract() == 0.0 && self.0.abs() < 9.0e15 {
            s.serialize_i64(self.0 as i64)
        } else {
            s.serialize_f64(self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Timestamp;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("epoch seconds")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Timestamp, E> {
                Ok(Timestamp(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Timestamp, E> {
                Ok(Timestamp(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Timestamp, E> {
                Ok(Timestamp(v as f64))
            }
        }
        d.deserialize_any(V)
    }
}

/// Binary data; canonical JSON form is standard base64.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Blob(pub Vec<u8>);

impl Blob {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn into_inner(self) -> Vec<u8> {
        self.0
    }
}

impl From<Vec<u8>> for Blob {
    fn from(v: Vec<u8>) -> Self {
        Blob(v)
    }
}

impl Serialize for Blob {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD
            .decode(text.as_bytes())
            .map(Blob)
            .map_err(|_| de::Error::custom("invalid base64"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_forms() {
        let cases: &[(&str, Timestamp)] = &[
            ("1700000000", Timestamp(1.7e9)),
            ("1700000000.5", Timestamp(1_700_000_000.5)),
        ];
        for (json, ts) in cases {
            assert_eq!(serde_json::to_string(ts).unwrap(), *json);
            assert_eq!(serde_json::from_str::<Timestamp>(json).unwrap(), *ts);
        }
        assert_eq!(Timestamp::from_millis(1500).as_millis(), 1500);
        let blob = Blob(b"hi\0".to_vec());
        assert_eq!(serde_json::to_string(&blob).unwrap(), "\"aGkA\"");
        assert_eq!(serde_json::from_str::<Blob>("\"aGkA\"").unwrap(), blob);
        assert!(serde_json::from_str::<Blob>("\"***\"").is_err());
    }
}
