//! Inline policies embedded in roles (`PutRolePolicy` and friends).

use nimbus_core::{RequestContext, ServiceError};
use nimbus_store::{DbError, params};

use crate::page::{Page, PageRequest};
use crate::roles::{self, name_key};
use crate::{Iam, abort, errors, names};

/// IAM's quota on the inline policies of one role, all documents together.
const MAX_INLINE_BYTES_PER_ROLE: usize = 10_240;

/// One inline policy of a role.
#[derive(Debug, Clone, PartialEq)]
pub struct InlinePolicy {
    pub role_name: String,
    pub policy_name: String,
    pub document: String,
}

impl Iam {
    /// Adds or replaces an inline policy of a role.
    pub async fn put_role_policy(
        &self,
        ctx: &RequestContext,
        role_name: &str,
        policy_name: &str,
        document: &str,
    ) -> Result<(), ServiceError> {
        names::check_name(role_name, "roleName")?;
        names::check_name(policy_name, "policyName")?;
        let document = names::policy_document(document)?;
        let account = ctx.account_id.clone();
        let (role_name, policy_name) = (role_name.to_owned(), policy_name.to_owned());
        self.db.write(move |tx| {
            let role = roles::require(tx, &account, &role_name)?;
            let role_key = name_key(&role.name);
            let others: usize = tx
                .query(
                    "SELECT document FROM iam_role_policies \
                     WHERE account = ?1 AND role_key = ?2 AND name_key <> ?3",
                    &params![&account, &role_key, name_key(&policy_name)],
                )?
                .iter()
                .map(|row| row.str(0).map(compact_len))
                .sum::<Result<usize, DbError>>()?;
            if others + compact_len(&document) > MAX_INLINE_BYTES_PER_ROLE {
                return abort(errors::limit_exceeded(format!(
                    "Maximum policy size of {MAX_INLINE_BYTES_PER_ROLE} bytes exceeded for role {}",
                    role.name
                )));
            }
            tx.execute(
                "INSERT INTO iam_role_policies (account, role_key, name_key, name, document) \
                 VALUES (?1, ?2, ?3, ?4, ?5) \
                 ON CONFLICT (account, role_key, name_key) DO UPDATE \
                 SET name = excluded.name, document = excluded.document",
                &params![
                    &account,
                    &role_key,
                    name_key(&policy_name),
                    &policy_name,
                    &document
                ],
            )?;
            Ok(())
        })
        .await
    }

    pub fn get_role_policy(
        &self,
        ctx: &RequestContext,
        role_name: &str,
        policy_name: &str,
    ) -> Result<InlinePolicy, ServiceError> {
        names::check_name(policy_name, "policyName")?;
        let role = self.get_role(ctx, role_name)?;
        let found = self.db.read(|tx| {
            tx.query_one(
                "SELECT name, document FROM iam_role_policies \
                 WHERE account = ?1 AND role_key = ?2 AND name_key = ?3",
                &params![&ctx.account_id, name_key(&role.name), name_key(policy_name)],
            )?
            .map(|row| Ok((row.string(0)?, row.string(1)?)))
            .transpose()
        })?;
        let Some((name, document)) = found else {
            return Err(errors::no_such_role_policy(&role.name, policy_name));
        };
        Ok(InlinePolicy {
            role_name: role.name,
            policy_name: name,
            document,
        })
    }

    pub async fn delete_role_policy(
        &self,
        ctx: &RequestContext,
        role_name: &str,
        policy_name: &str,
    ) -> Result<(), ServiceError> {
        names::check_name(role_name, "roleName")?;
        names::check_name(policy_name, "policyName")?;
        let account = ctx.account_id.clone();
        let (role_name, policy_name) = (role_name.to_owned(), policy_name.to_owned());
        self.db.write(move |tx| {
            let role = roles::require(tx, &account, &role_name)?;
            let deleted = tx.execute(
                "DELETE FROM iam_role_policies WHERE account = ?1 AND role_key = ?2 AND name_key = ?3",
                &params![&account, name_key(&role.name), name_key(&policy_name)],
            )?;
            if deleted == 0 {
                return abort(errors::no_such_role_policy(&role.name, &policy_name));
            }
            Ok(())
        })
        .await
    }

    pub fn list_role_policies(
        &self,
        ctx: &RequestContext,
        role_name: &str,
        page: &PageRequest,
    ) -> Result<Page<String>, ServiceError> {
        let role = self.get_role(ctx, role_name)?;
        let names = self.db.read(|tx| {
            tx.query(
                "SELECT name FROM iam_role_policies WHERE account = ?1 AND role_key = ?2 \
                 ORDER BY name_key",
                &params![&ctx.account_id, name_key(&role.name)],
            )?
            .iter()
            .map(|row| row.string(0))
            .collect::<Result<Vec<_>, _>>()
        })?;
        page.take(names, |name| name_key(name))
    }
}

/// A document's size as IAM counts it against quotas: without white space.
fn compact_len(document: &str) -> usize {
    document.chars().filter(|c| !c.is_whitespace()).count()
}
