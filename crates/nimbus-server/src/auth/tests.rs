use chrono::TimeZone;
use http::HeaderValue;

use super::*;

const AKID: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

fn strict() -> Authenticator {
    let mut keys = Keyring::new();
    keys.insert(AKID, SecretKey::new(SECRET));
    Authenticator::new(AuthMode::Strict, keys)
}

fn signer(secret: &str, akid: &str) -> Signer {
    Signer {
        access_key_id: akid.into(),
        secret: SecretKey::new(secret),
        region: "eu-west-1".into(),
        service: "sqs".into(),
    }
}

fn at(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2015, 8, 30, 12, minute, 0)
        .single()
        .unwrap()
}

fn signed(signer: &Signer, body: &[u8], when: DateTime<Utc>) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("host", HeaderValue::from_static("localhost:4566"));
    headers.insert(
        "x-amz-target",
        HeaderValue::from_static("AmazonSQS.ListQueues"),
    );
    signer.sign_headers("POST", "/", None, &mut headers, body, when);
    headers
}

fn parts<'a>(headers: &'a HeaderMap, query: Option<&'a str>, body: &'a [u8]) -> RequestParts<'a> {
    RequestParts {
        method: "POST",
        path: "/",
        query,
        headers,
        body,
    }
}

#[test]
fn a_good_signature_verifies_and_yields_the_scope() {
    let headers = signed(&signer(SECRET, AKID), b"{}", at(36));
    let verified = strict()
        .authenticate(&parts(&headers, None, b"{}"), at(40))
        .unwrap();
    assert!(verified.signature_checked);
    assert_eq!(verified.region.as_deref(), Some("eu-west-1"));
    assert_eq!(verified.signing_service.as_deref(), Some("sqs"));
    assert_eq!(verified.access_key_id.as_deref(), Some(AKID));
}

#[test]
fn bad_signatures_unknown_keys_and_tampering_are_rejected() {
    let auth = strict();
    let wrong = signed(&signer("not-the-secret", AKID), b"{}", at(36));
    assert_eq!(
        auth.authenticate(&parts(&wrong, None, b"{}"), at(36)),
        Err(AuthError::SignatureMismatch)
    );

    let unknown = signed(&signer(SECRET, "AKIDUNKNOWN"), b"{}", at(36));
    assert_eq!(
        auth.authenticate(&parts(&unknown, None, b"{}"), at(36)),
        Err(AuthError::UnknownAccessKey)
    );

    let good = signed(&signer(SECRET, AKID), b"{}", at(36));
    let tampered = parts(&good, None, b"{\"QueueNamePrefix\":\"x\"}");
    assert_eq!(
        auth.authenticate(&tampered, at(36)),
        Err(AuthError::SignatureMismatch)
    );

    let mut extra_header = good.clone();
    extra_header.insert(
        "x-amz-target",
        HeaderValue::from_static("AmazonSQS.PurgeQueue"),
    );
    assert_eq!(
        auth.authenticate(&parts(&extra_header, None, b"{}"), at(36)),
        Err(AuthError::SignatureMismatch)
    );
}

#[test]
fn requests_outside_fifteen_minutes_are_rejected_either_way() {
    let auth = strict();
    let headers = signed(&signer(SECRET, AKID), b"", at(0));
    assert!(
        auth.authenticate(&parts(&headers, None, b""), at(15))
            .is_ok()
    );
    let late = auth
        .authenticate(&parts(&headers, None, b""), at(16))
        .unwrap_err();
    assert!(matches!(late, AuthError::Expired { .. }));
    let message = ServiceError::from(late).message;
    assert_eq!(
        message,
        "Signature expired: 20150830T120000Z is now earlier than 20150830T120100Z (20150830T121600Z - 15 min.)"
    );

    let future = signed(&signer(SECRET, AKID), b"", at(40));
    let early = auth
        .authenticate(&parts(&future, None, b""), at(20))
        .unwrap_err();
    assert!(matches!(early, AuthError::NotYetCurrent { .. }));
    assert_eq!(ServiceError::from(early).code, "SignatureDoesNotMatch");
}

#[test]
fn presigned_queries_verify_until_they_expire() {
    let auth = strict();
    let query = signer(SECRET, AKID).presign(
        "POST",
        "/",
        "Action=ListQueues",
        "localhost:4566",
        60,
        at(0),
    );
    let mut headers = HeaderMap::new();
    headers.insert("host", HeaderValue::from_static("localhost:4566"));
    assert!(
        auth.authenticate(&parts(&headers, Some(&query), b""), at(0))
            .unwrap()
            .signature_checked
    );
    assert!(matches!(
        auth.authenticate(&parts(&headers, Some(&query), b""), at(2)),
        Err(AuthError::Expired { .. })
    ));
    let forged = query.replace("Action=ListQueues", "Action=DeleteQueue");
    assert_eq!(
        auth.authenticate(&parts(&headers, Some(&forged), b""), at(0)),
        Err(AuthError::SignatureMismatch)
    );
}

#[test]
fn strict_mode_requires_a_signature_and_off_mode_only_reads_it() {
    let headers = HeaderMap::new();
    assert_eq!(
        strict().authenticate(&parts(&headers, None, b""), at(0)),
        Err(AuthError::Missing)
    );

    let off = Authenticator::default();
    let anonymous = off
        .authenticate(&parts(&headers, None, b""), at(0))
        .unwrap();
    assert!(anonymous.region.is_none());
    let bad = signed(&signer("whatever", "000000000042"), b"", at(0));
    let read = off.authenticate(&parts(&bad, None, b""), at(59)).unwrap();
    assert!(!read.signature_checked);
    assert_eq!(read.access_key_id.as_deref(), Some("000000000042"));
}

#[test]
fn errors_map_to_aws_codes_and_statuses() {
    let cases = [
        (AuthError::Missing, "MissingAuthenticationToken", 403),
        (
            AuthError::Incomplete("x".into()),
            "IncompleteSignature",
            400,
        ),
        (AuthError::UnknownAccessKey, "InvalidClientTokenId", 403),
        (AuthError::SignatureMismatch, "SignatureDoesNotMatch", 403),
        (AuthError::ExpiredToken, "ExpiredToken", 403),
    ];
    for (err, code, status) in cases {
        let service_error = ServiceError::from(err);
        assert_eq!(
            (service_error.code.as_ref(), service_error.status),
            (code, status)
        );
    }
}

/// One issued key, as STS would store it.
struct OneIssuedKey(nimbus_core::IssuedCredential);

impl nimbus_core::CredentialLookup for OneIssuedKey {
    fn issued_credential(&self, access_key_id: &str) -> Option<nimbus_core::IssuedCredential> {
        (access_key_id == "ASIAEXAMPLEKEY000000").then(|| self.0.clone())
    }
}

#[test]
fn issued_keys_verify_with_their_session_token_until_they_expire() {
    let clock = nimbus_core::Clock::new(nimbus_core::ClockMode::Test);
    let issued = OneIssuedKey(nimbus_core::IssuedCredential {
        secret_access_key: "temporary-secret".into(),
        session_token: "the-token".into(),
        expires_at_ms: clock.now_ms() + 60_000,
    });
    let auth =
        strict().with_issued_keys(IssuedKeys::new(std::sync::Arc::new(issued), clock.clone()));
    let sign = |token: Option<&'static str>| {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("localhost:4566"));
        if let Some(token) = token {
            headers.insert("x-amz-security-token", HeaderValue::from_static(token));
        }
        signer("temporary-secret", "ASIAEXAMPLEKEY000000").sign_headers(
            "POST",
            "/",
            None,
            &mut headers,
            b"",
            at(0),
        );
        headers
    };

    let good = sign(Some("the-token"));
    let verified = auth.authenticate(&parts(&good, None, b""), at(1)).unwrap();
    assert!(verified.signature_checked);
    for bad in [sign(None), sign(Some("another-token"))] {
        assert_eq!(
            auth.authenticate(&parts(&bad, None, b""), at(1)),
            Err(AuthError::UnknownAccessKey)
        );
    }
    clock.advance(std::time::Duration::from_secs(61));
    assert_eq!(
        auth.authenticate(&parts(&good, None, b""), at(1)),
        Err(AuthError::ExpiredToken)
    );
    // Without the seam, the key is simply unknown.
    assert_eq!(
        strict().authenticate(&parts(&good, None, b""), at(1)),
        Err(AuthError::UnknownAccessKey)
    );
}
