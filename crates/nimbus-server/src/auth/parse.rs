//! Reading the SigV4 parameters a request carries, in the `Authorization` header or in a
//! presigned query string. Parsing never verifies; it only extracts.

use percent_encoding::percent_decode_str;

use super::AuthError;

pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// `AKID/20150830/us-east-1/service/aws4_request`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialScope {
    pub access_key_id: String,
    /// `YYYYMMDD`.
    pub date: String,
    pub region: String,
    pub service: String,
}

impl CredentialScope {
    /// `date/region/service/aws4_request`, as in the string to sign.
    pub fn scope_string(&self) -> String {
        format!(
            "{}/{}/{}/aws4_request",
            self.date, self.region, self.service
        )
    }

    fn parse(credential: &str) -> Result<Self, AuthError> {
        let mut parts = credential.split('/');
        let (Some(key), Some(date), Some(region), Some(service), Some("aws4_request"), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(AuthError::Incomplete(format!(
                "Credential should be scoped to a valid region and service, not '{credential}'."
            )));
        };
        if key.is_empty() || date.len() != 8 || region.is_empty() || service.is_empty() {
            return Err(AuthError::Incomplete(format!(
                "Credential should be scoped correctly, not '{credential}'."
            )));
        }
        Ok(CredentialScope {
            access_key_id: key.to_owned(),
            date: date.to_owned(),
            region: region.to_owned(),
            service: service.to_owned(),
        })
    }
}

/// Where the signature travelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureLocation {
    Header,
    /// Presigned URL; carries its own lifetime in seconds.
    Query {
        expires_secs: u64,
    },
}

/// Everything a signed request claims about itself.
#[derive(Debug, Clone)]
pub struct SignatureClaim {
    pub scope: CredentialScope,
    /// Lowercase header names, in the order given (already sorted by conforming clients).
    pub signed_headers: Vec<String>,
    /// Hex signature as sent.
    pub signature: String,
    /// `X-Amz-Date` from the query (presigned); header requests read it from the headers.
    pub query_date: Option<String>,
    pub location: SignatureLocation,
}

/// Longest lifetime AWS accepts for a presigned URL (7 days).
const MAX_PRESIGNED_SECS: u64 = 604_800;

/// Finds a SigV4 claim in the request, if any.
pub fn find_claim(
    authorization: Option<&str>,
    query: Option<&str>,
) -> Result<Option<SignatureClaim>, AuthError> {
    if let Some(header) = authorization {
        return parse_authorization(header).map(Some);
    }
    match query {
        Some(q) if q.contains("X-Amz-Signature=") || q.contains("X-Amz-Credential=") => {
            parse_presigned(q).map(Some)
        }
        _ => Ok(None),
    }
}

/// The scope a request claims, without the rest of its claim: all that unchecked requests
/// need, and cheaper than [`find_claim`] on every request.
pub fn find_scope(
    authorization: Option<&str>,
    query: Option<&str>,
) -> Result<Option<CredentialScope>, AuthError> {
    match authorization {
        Some(header) => CredentialScope::parse(header_parts(header)?.credential).map(Some),
        None => Ok(find_claim(None, query)?.map(|claim| claim.scope)),
    }
}

/// The parameters of an `Authorization` header, as sent.
struct HeaderParts<'a> {
    credential: &'a str,
    signed_headers: &'a str,
    signature: &'a str,
}

fn header_parts(header: &str) -> Result<HeaderParts<'_>, AuthError> {
    let Some(rest) = header.strip_prefix(ALGORITHM) else {
        return Err(AuthError::Incomplete(
            "Unsupported authorization type; only AWS4-HMAC-SHA256 is accepted.".into(),
        ));
    };
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let Some((name, value)) = part.trim().split_once('=') else {
            continue;
        };
        match name.trim() {
            "Credential" => credential = Some(value.trim()),
            "SignedHeaders" => signed_headers = Some(value.trim()),
            "Signature" => signature = Some(value.trim()),
            _ => {}
        }
    }
    let missing = |name: &str| {
        AuthError::Incomplete(format!("Authorization header requires '{name}' parameter."))
    };
    Ok(HeaderParts {
        credential: credential.ok_or_else(|| missing("Credential"))?,
        signed_headers: signed_headers.ok_or_else(|| missing("SignedHeaders"))?,
        signature: signature.ok_or_else(|| missing("Signature"))?,
    })
}

fn parse_authorization(header: &str) -> Result<SignatureClaim, AuthError> {
    let parts = header_parts(header)?;
    Ok(SignatureClaim {
        scope: CredentialScope::parse(parts.credential)?,
        signed_headers: split_signed_headers(parts.signed_headers),
        signature: parts.signature.to_owned(),
        query_date: None,
        location: SignatureLocation::Header,
    })
}

fn parse_presigned(query: &str) -> Result<SignatureClaim, AuthError> {
    let (mut algorithm, mut credential, mut date, mut expires, mut headers, mut signature) =
        (None, None, None, None, None, None);
    for pair in query.split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_decode_str(value).decode_utf8_lossy().into_owned();
        match name {
            "X-Amz-Algorithm" => algorithm = Some(value),
            "X-Amz-Credential" => credential = Some(value),
            "X-Amz-Date" => date = Some(value),
            "X-Amz-Expires" => expires = Some(value),
            "X-Amz-SignedHeaders" => headers = Some(value),
            "X-Amz-Signature" => signature = Some(value),
            _ => {}
        }
    }
    let missing = |name: &str| {
        AuthError::Incomplete(format!(
            "AWS query-string parameters must include '{name}'."
        ))
    };
    if algorithm.as_deref() != Some(ALGORITHM) {
        return Err(missing("X-Amz-Algorithm"));
    }
    let scope = CredentialScope::parse(&credential.ok_or_else(|| missing("X-Amz-Credential"))?)?;
    let date = date.ok_or_else(|| missing("X-Amz-Date"))?;
    let expires_secs = match expires {
        None => MAX_PRESIGNED_SECS,
        Some(text) => match text.parse::<u64>() {
            Ok(secs) if secs <= MAX_PRESIGNED_SECS => secs,
            _ => {
                return Err(AuthError::Incomplete(
                    "X-Amz-Expires must be a number of seconds no larger than 604800.".into(),
                ));
            }
        },
    };
    let signed_headers =
        split_signed_headers(&headers.ok_or_else(|| missing("X-Amz-SignedHeaders"))?);
    Ok(SignatureClaim {
        scope,
        signed_headers,
        signature: signature.ok_or_else(|| missing("X-Amz-Signature"))?,
        query_date: Some(date),
        location: SignatureLocation::Query { expires_secs },
    })
}

fn split_signed_headers(list: &str) -> Vec<String> {
    list.split(';')
        .filter(|h| !h.is_empty())
        .map(|h| h.trim().to_ascii_lowercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_claims_are_parsed_with_loose_spacing() {
        let claim = find_claim(
            Some("AWS4-HMAC-SHA256 Credential=AKID/20150830/eu-west-1/sqs/aws4_request,SignedHeaders=host;x-amz-date,  Signature=abc"),
            None,
        )
        .unwrap()
        .unwrap();
        assert_eq!(claim.scope.region, "eu-west-1");
        assert_eq!(claim.scope.service, "sqs");
        assert_eq!(claim.signed_headers, ["host", "x-amz-date"]);
        assert_eq!(claim.signature, "abc");
    }

    #[test]
    fn presigned_claims_come_from_the_query() {
        let q = "Action=ListQueues&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20150830%2Fus-east-1%2Fsqs%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=ff";
        let claim = find_claim(None, Some(q)).unwrap().unwrap();
        assert_eq!(claim.scope.access_key_id, "AKID");
        assert_eq!(
            claim.location,
            SignatureLocation::Query { expires_secs: 60 }
        );
        assert_eq!(claim.query_date.as_deref(), Some("20150830T123600Z"));
    }

    #[test]
    fn malformed_claims_are_incomplete_signatures() {
        for header in [
            "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/sqs/aws4_request, Signature=ab",
            "AWS4-HMAC-SHA256 Credential=AKID/2015/us-east-1, SignedHeaders=host, Signature=ab",
            "AWS AKID:abc",
        ] {
            assert!(
                matches!(
                    find_claim(Some(header), None),
                    Err(AuthError::Incomplete(_))
                ),
                "{header}"
            );
        }
        assert!(
            find_claim(None, Some("Action=ListQueues"))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn the_scope_alone_agrees_with_the_whole_claim() {
        for header in [
            "AWS4-HMAC-SHA256 Credential=AKID/20150830/eu-west-1/sqs/aws4_request,SignedHeaders=host;x-amz-date,  Signature=abc",
            "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=ab, Credential=AKID/20150830/us-east-1/sqs/aws4_request",
            "AWS4-HMAC-SHA256 Credential = AKID/20150830/us-east-1/sns/aws4_request, SignedHeaders=host, Signature=ab",
            "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/sqs/aws4_request, Signature=ab",
            "AWS4-HMAC-SHA256 Credential=AKID/2015/us-east-1, SignedHeaders=host, Signature=ab",
            "AWS AKID:abc",
        ] {
            let scope = find_scope(Some(header), None);
            match find_claim(Some(header), None) {
                Ok(claim) => assert_eq!(scope.unwrap(), claim.map(|c| c.scope), "{header}"),
                Err(_) => assert!(scope.is_err(), "{header}"),
            }
        }
    }
}
