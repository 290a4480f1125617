//! Secret access keys as a type: never printed, wiped on drop, read through one `expose()`.

use std::collections::HashMap;
use std::fmt;

/// A secret access key.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey(Vec<u8>);

impl SecretKey {
    pub fn new(secret: impl Into<String>) -> Self {
        SecretKey(secret.into().into_bytes())
    }

    /// The key material; the only way to read it.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

impl Drop for SecretKey {
    fn drop(&mut self) {
        for byte in self.0.iter_mut() {
            *byte = 0;
        }
        // Keeps the zeroing from being optimized away as a dead store.
        std::hint::black_box(&self.0);
    }
}

/// The configured access keys, by access key id.
#[derive(Debug, Clone, Default)]
pub struct Keyring {
    keys: HashMap<String, SecretKey>,
}

impl Keyring {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, access_key_id: impl Into<String>, secret: SecretKey) {
        self.keys.insert(access_key_id.into(), secret);
    }

    pub fn get(&self, access_key_id: &str) -> Option<&SecretKey> {
        self.keys.get(access_key_id)
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

impl FromIterator<(String, SecretKey)> for Keyring {
    fn from_iter<T: IntoIterator<Item = (String, SecretKey)>>(iter: T) -> Self {
        Keyring {
            keys: iter.into_iter().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_the_secret() {
        let mut ring = Keyring::new();
        ring.insert("AKID", SecretKey::new("very-secret"));
        let printed = format!("{ring:?}");
        assert!(!printed.contains("very-secret"), "{printed}");
        assert!(printed.contains("redacted"));
    }
}
