//! Receipt handles: which receive of which message a handle names.

use base64::Engine;
use nimbus_core::ServiceError;

use crate::errors;

/// Identifies one receive of one message.
pub struct ReceiptHandle {
    pub queue_id: i64,
    pub message_row: i64,
    pub nonce: String,
}

impl ReceiptHandle {
    pub fn encode(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(format!(
            "nimbus:{}:{}:{}",
            self.queue_id, self.message_row, self.nonce
        ))
    }

    pub fn decode(handle: &str, queue_id: i64) -> Result<ReceiptHandle, ServiceError> {
        let invalid = || errors::receipt_handle_is_invalid(handle);
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(handle)
            .map_err(|_| invalid())?;
        let text = String::from_utf8(decoded).map_err(|_| invalid())?;
        let mut parts = text.split(':');
        let (Some("nimbus"), Some(q), Some(m), Some(nonce), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(invalid());
        };
        let parsed = ReceiptHandle {
            queue_id: q.parse().map_err(|_| invalid())?,
            message_row: m.parse().map_err(|_| invalid())?,
            nonce: nonce.to_owned(),
        };
        if parsed.queue_id == queue_id {
            Ok(parsed)
        } else {
            Err(invalid())
        }
    }
}
