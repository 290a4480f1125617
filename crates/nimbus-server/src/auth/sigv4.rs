//! The SigV4 computation shared by verification and by the signer: canonical request, string
//! to sign, derived key, signature.

use hmac::{Hmac, Mac};
use http::HeaderMap;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use sha2::{Digest, Sha256};

use super::parse::ALGORITHM;

/// Characters SigV4 leaves alone: `A-Za-z0-9-_.~`.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
/// Path segments keep their separators.
const PATH: &AsciiSet = &UNRESERVED.remove(b'/');

/// Hash of an empty payload.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// The parts of a request that a signature covers.
pub struct SignedParts<'a> {
    pub method: &'a str,
    /// The path as it travelled on the wire (still percent-encoded).
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    /// Lowercase names, sorted.
    pub signed_headers: &'a [String],
    pub payload_hash: &'a str,
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// The canonical request. Non-S3 services encode the wire path once more ("double
/// encoding"), which is what the SDKs sign.
pub fn canonical_request(parts: &SignedParts) -> String {
    let path = if parts.path.is_empty() {
        "/"
    } else {
        parts.path
    };
    let mut out = String::with_capacity(256);
    out.push_str(parts.method);
    out.push('\n');
    out.extend(utf8_percent_encode(path, PATH));
    out.push('\n');
    out.push_str(&canonical_query(parts.query.unwrap_or("")));
    out.push('\n');
    for name in parts.signed_headers {
        out.push_str(name);
        out.push(':');
        out.push_str(&canonical_header_value(parts.headers, name));
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&parts.signed_headers.join(";"));
    out.push('\n');
    out.push_str(parts.payload_hash);
    out
}

/// Sorted, re-encoded query pairs; the signature itself is never part of what it signs.
pub fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
        .filter(|(name, _)| *name != "X-Amz-Signature")
        .map(|(name, value)| (reencode(name), reencode(value)))
        .collect();
    pairs.sort_unstable();
    let mut out = String::with_capacity(query.len() + 8);
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(name);
        out.push('=');
        out.push_str(value);
    }
    out
}

fn reencode(component: &str) -> String {
    let decoded = percent_decode_str(component).decode_utf8_lossy();
    utf8_percent_encode(&decoded, UNRESERVED).to_string()
}

/// All values of a header, trimmed, inner runs of spaces collapsed, joined with commas.
fn canonical_header_value(headers: &HeaderMap, name: &str) -> String {
    let mut out = String::new();
    for (i, value) in headers.get_all(name).iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let text = String::from_utf8_lossy(value.as_bytes());
        let mut words = text.split_whitespace();
        if let Some(first) = words.next() {
            out.push_str(first);
            for word in words {
                out.push(' ');
                out.push_str(word);
            }
        }
    }
    out
}

pub fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // `new_from_slice` only rejects key lengths for fixed-key MACs; HMAC takes any length.
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// `kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")`.
pub fn signing_key(secret: &[u8], date: &str, region: &str, service: &str) -> [u8; 32] {
    let mut seed = Vec::with_capacity(secret.len() + 4);
    seed.extend_from_slice(b"AWS4");
    seed.extend_from_slice(secret);
    let k_date = hmac(&seed, date.as_bytes());
    seed.iter_mut().for_each(|b| *b = 0);
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    hmac(&k_service, b"aws4_request")
}

pub fn signature(key: &[u8; 32], string_to_sign: &str) -> String {
    hex::encode(hmac(key, string_to_sign.as_bytes()))
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    // From AWS's published Signature Version 4 test suite.
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    const AMZ_DATE: &str = "20150830T123600Z";
    const SCOPE: &str = "20150830/us-east-1/service/aws4_request";

    fn suite_headers() -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("example.amazonaws.com"));
        headers.insert("x-amz-date", HeaderValue::from_static(AMZ_DATE));
        headers
    }

    fn sign(
        method: &str,
        query: Option<&str>,
        headers: &HeaderMap,
        names: &[&str],
    ) -> (String, String) {
        let signed: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let creq = canonical_request(&SignedParts {
            method,
            path: "/",
            query,
            headers,
            signed_headers: &signed,
            payload_hash: EMPTY_SHA256,
        });
        let sts = string_to_sign(AMZ_DATE, SCOPE, &creq);
        let key = signing_key(SECRET.as_bytes(), "20150830", "us-east-1", "service");
        (creq, signature(&key, &sts))
    }

    #[test]
    fn get_vanilla() {
        let (creq, sig) = sign("GET", None, &suite_headers(), &["host", "x-amz-date"]);
        assert_eq!(
            creq,
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            string_to_sign(AMZ_DATE, SCOPE, &creq),
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nbb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63"
        );
        assert_eq!(
            sig,
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
    }

    #[test]
    fn get_vanilla_query_order_key_case() {
        let (_, sig) = sign(
            "GET",
            Some("Param2=value2&Param1=value1"),
            &suite_headers(),
            &["host", "x-amz-date"],
        );
        assert_eq!(
            sig,
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"
        );
    }

    #[test]
    fn post_vanilla() {
        let (_, sig) = sign("POST", None, &suite_headers(), &["host", "x-amz-date"]);
        assert_eq!(
            sig,
            "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"
        );
    }

    #[test]
    fn header_values_are_trimmed_and_collapsed() {
        let mut headers = suite_headers();
        headers.insert(
            "my-header1",
            HeaderValue::from_static("  value1   with  spaces "),
        );
        headers.append("my-header2", HeaderValue::from_static("a"));
        headers.append("my-header2", HeaderValue::from_static("b"));
        let (creq, _) = sign("GET", None, &headers, &["host", "my-header1", "my-header2"]);
        assert!(
            creq.contains("my-header1:value1 with spaces\nmy-header2:a,b\n"),
            "{creq}"
        );
    }

    #[test]
    fn paths_are_encoded_again_and_queries_reencoded() {
        let headers = suite_headers();
        let creq = canonical_request(&SignedParts {
            method: "GET",
            path: "/functions/arn%3Aaws%3Alambda/x y",
            query: Some("b=%7e&a=x+y&X-Amz-Signature=zz&c"),
            headers: &headers,
            signed_headers: &["host".to_owned()],
            payload_hash: UNSIGNED_PAYLOAD,
        });
        let mut lines = creq.lines();
        lines.next();
        assert_eq!(
            lines.next(),
            Some("/functions/arn%253Aaws%253Alambda/x%20y")
        );
        assert_eq!(lines.next(), Some("a=x%2By&b=~&c="));
    }
}
