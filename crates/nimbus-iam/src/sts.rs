//! STS: caller identities and temporary credentials. Issued keys are kept in the store so
//! later requests signed with them are answered as the identity they were issued to.

use nimbus_core::{CredentialLookup, IssuedCredential, RequestContext, ServiceError, arn, ids};
use nimbus_store::{DbError, params};

use crate::{Iam, errors, names};

/// Default lifetime of `AssumeRole` credentials, in seconds.
const DEFAULT_ROLE_SESSION_SECONDS: i32 = 3600;
/// Default lifetime of `GetSessionToken` credentials, in seconds.
const DEFAULT_SESSION_TOKEN_SECONDS: i32 = 43_200;
/// Longest session of a role assumed with another role's credentials (role chaining).
const MAX_CHAINED_SESSION_SECONDS: i32 = 3600;
/// How long expired credentials are remembered, so their use is refused as expired rather
/// than unknown.
const EXPIRED_KEPT_MS: i64 = 24 * 3600 * 1000;

/// Who a caller is, as `GetCallerIdentity` reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct CallerIdentity {
    pub account: String,
    pub arn: String,
    pub user_id: String,
}

/// Temporary credentials, and the identity they act as.
#[derive(Debug, Clone, PartialEq)]
pub struct IssuedCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    pub expires_at_ms: i64,
    pub identity: CallerIdentity,
}

/// A stored credential, as the identity lookup reads it.
struct StoredCredential {
    identity: CallerIdentity,
    assumed_role: bool,
}

impl Iam {
    /// The identity of the key that signed the request: the one STS issued it to, or the
    /// account's root for any other key.
    pub fn caller_identity(&self, ctx: &RequestContext) -> Result<CallerIdentity, ServiceError> {
        if let Some(stored) = self.stored_credential(ctx)? {
            return Ok(stored.identity);
        }
        Ok(root_identity(&ctx.account_id))
    }

    fn stored_credential(
        &self,
        ctx: &RequestContext,
    ) -> Result<Option<StoredCredential>, ServiceError> {
        let Some(key) = ctx.access_key_id.as_deref() else {
            return Ok(None);
        };
        if !key.starts_with(ids::TEMPORARY_KEY_PREFIX) {
            return Ok(None);
        }
        self.db.read(|tx| {
            tx.query_one(
                "SELECT account, identity_arn, user_id, assumed_role FROM sts_credentials \
                 WHERE access_key_id = ?1",
                &params![key],
            )?
            .map(|row| {
                Ok(StoredCredential {
                    identity: CallerIdentity {
                        account: row.string(0)?,
                        arn: row.string(1)?,
                        user_id: row.string(2)?,
                    },
                    assumed_role: row.bool(3)?,
                })
            })
            .transpose()
        })
    }

    /// Issues credentials for a role. The role need not exist here (IAM is recorded, not
    /// enforced, and roles of other accounts are assumed too); when it does, its id and
    /// `MaxSessionDuration` apply.
    pub async fn assume_role(
        &self,
        ctx: &RequestContext,
        role_arn: &str,
        session_name: &str,
        duration_seconds: Option<i32>,
        session_policy: Option<&str>,
    ) -> Result<IssuedCredentials, ServiceError> {
        let (account, role_name) = parse_role_arn(role_arn)?;
        check_session_name(session_name)?;
        if let Some(policy) = session_policy {
            names::policy_document(policy)
                .map_err(|err| errors::sts_malformed_policy(err.message))?;
        }
        let role = self.role_by_arn(&account, &role_name)?;
        let max_seconds = role.as_ref().map_or(43_200, |r| r.max_session_duration);
        let duration = duration_seconds.unwrap_or(DEFAULT_ROLE_SESSION_SECONDS);
        if duration > max_seconds {
            return Err(errors::validation(
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
            ));
        }
        let chained = self.stored_credential(ctx)?.is_some_and(|c| c.assumed_role);
        if chained && duration > MAX_CHAINED_SESSION_SECONDS {
            return Err(errors::validation(
                "The requested DurationSeconds exceeds the 1 hour session limit for roles \
                 assumed by role chaining.",
            ));
        }
        let role_id = role.map_or_else(|| names::stable_id("AROA", role_arn), |r| r.role_id);
        let identity = CallerIdentity {
            arn: format!("arn:aws:sts::{account}:assumed-role/{role_name}/{session_name}"),
            user_id: format!("{role_id}:{session_name}"),
            account,
        };
        self.issue(identity, true, duration).await
    }

    /// Issues credentials that act as the caller. Credentials STS issued cannot ask for more,
    /// as on AWS.
    pub async fn session_token(
        &self,
        ctx: &RequestContext,
        duration_seconds: Option<i32>,
    ) -> Result<IssuedCredentials, ServiceError> {
        if self.stored_credential(ctx)?.is_some() {
            return Err(errors::access_denied(
                "Cannot call GetSessionToken with session credentials",
            ));
        }
        let identity = self.caller_identity(ctx)?;
        let duration = duration_seconds.unwrap_or(DEFAULT_SESSION_TOKEN_SECONDS);
        self.issue(identity, false, duration).await
    }

    /// The account an access key belongs to, as the edge derives it.
    pub fn access_key_account(&self, access_key_id: &str) -> String {
        ids::account_from_access_key(access_key_id, &self.default_account)
    }

    async fn issue(
        &self,
        identity: CallerIdentity,
        assumed_role: bool,
        duration_seconds: i32,
    ) -> Result<IssuedCredentials, ServiceError> {
        let access_key_id = ids::temporary_access_key_id(&identity.account).ok_or_else(|| {
            errors::validation(format!("Invalid account id: {}", identity.account))
        })?;
        let now = self.clock.now_ms();
        let issued = IssuedCredentials {
            access_key_id,
            secret_access_key: names::secret(40),
            session_token: names::secret(356),
            expires_at_ms: now + i64::from(duration_seconds) * 1000,
            identity,
        };
        let row = issued.clone();
        self.db
            .write(move |tx| {
                tx.execute(
                    "DELETE FROM sts_credentials WHERE expires_at < ?1",
                    &params![now - EXPIRED_KEPT_MS],
                )?;
                tx.execute(
                    "INSERT INTO sts_credentials (access_key_id, account, secret_access_key, \
                 session_token, identity_arn, user_id, assumed_role, issued_at, expires_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    &params![
                        &row.access_key_id,
                        &row.identity.account,
                        &row.secret_access_key,
                        &row.session_token,
                        &row.identity.arn,
                        &row.identity.user_id,
                        assumed_role,
                        now,
                        row.expires_at_ms,
                    ],
                )?;
                Ok(())
            })
            .await?;
        Ok(issued)
    }
}

impl CredentialLookup for Iam {
    fn issued_credential(&self, access_key_id: &str) -> Option<IssuedCredential> {
        if !access_key_id.starts_with(ids::TEMPORARY_KEY_PREFIX) {
            return None;
        }
        let found = self.db.store().read(|tx| {
            tx.query_one(
                "SELECT secret_access_key, session_token, expires_at FROM sts_credentials \
                 WHERE access_key_id = ?1",
                &params![access_key_id],
            )?
            .map(|row| {
                Ok::<_, DbError>(IssuedCredential {
                    secret_access_key: row.string(0)?,
                    session_token: row.string(1)?,
                    expires_at_ms: row.i64(2)?,
                })
            })
            .transpose()
        });
        found.unwrap_or_else(|err| {
            tracing::error!(%err, "reading issued credentials");
            None
        })
    }
}

/// The root user of an account: AWS reports the account id as its user id.
fn root_identity(account: &str) -> CallerIdentity {
    CallerIdentity {
        account: account.to_owned(),
        arn: format!("arn:aws:iam::{account}:root"),
        user_id: account.to_owned(),
    }
}

/// The account and role name of `arn:aws:iam::<account>:role[/path]/<name>`.
fn parse_role_arn(role_arn: &str) -> Result<(String, String), ServiceError> {
    let invalid = || errors::validation("Request ARN is invalid");
    let parts = arn::parse(role_arn).ok_or_else(invalid)?;
    let resource = parts.resource.strip_prefix("role/").ok_or_else(invalid)?;
    let name = resource.rsplit('/').next().unwrap_or_default();
    let account_ok = parts.account.len() == 12 && parts.account.bytes().all(|b| b.is_ascii_digit());
    if parts.service != "iam" || !parts.region.is_empty() || !account_ok || name.is_empty() {
        return Err(invalid());
    }
    names::check_name(name, "roleArn").map_err(|_| invalid())?;
    Ok((parts.account.to_owned(), name.to_owned()))
}

/// `RoleSessionName`: `[\w+=,.@-]*` (2–64 characters, checked by the protocol layer).
fn check_session_name(name: &str) -> Result<(), ServiceError> {
    names::check_name(name, "roleSessionName")
        .map_err(|_| errors::pattern_mismatch(name, "roleSessionName", "[\\w+=,.@-]*"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns() {
        assert_eq!(
            parse_role_arn("arn:aws:iam::123456789012:role/service-role/lambda").unwrap(),
            ("123456789012".into(), "lambda".into())
        );
        for bad in [
            "arn:aws:iam::123456789012:user/x",
            "arn:aws:iam::1234:role/x",
            "arn:aws:s3::123456789012:role/x",
            "arn:aws:iam:us-east-1:123456789012:role/x",
            "arn:aws:iam::123456789012:role/",
            "not an arn at all, but long",
        ] {
            assert_eq!(
                parse_role_arn(bad).unwrap_err().code,
                "ValidationError",
                "{bad}"
            );
        }
    }
}
