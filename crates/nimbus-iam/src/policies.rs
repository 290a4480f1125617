//! Managed policies (customer-managed and AWS-managed) and their attachment to roles.

use std::collections::BTreeMap;

use nimbus_core::{RequestContext, ServiceError};
use nimbus_store::{DbError, Row, Tx, params};

use crate::page::{Page, PageRequest};
use crate::roles::{self, name_key, tags_from_json, tags_to_json};
use crate::{Iam, abort, errors, managed, names};

/// IAM's default quota of managed policies attached to one role.
const MAX_ATTACHED_PER_ROLE: i64 = 10;

/// What `CreatePolicy` asks for.
#[derive(Debug, Clone, Default)]
pub struct NewPolicy {
    pub name: String,
    pub path: Option<String>,
    pub document: String,
    pub description: Option<String>,
    pub tags: Vec<(String, String)>,
}

/// A managed policy as IAM describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct ManagedPolicy {
    pub name: String,
    pub policy_id: String,
    pub arn: String,
    pub path: String,
    pub description: Option<String>,
    pub attachment_count: i64,
    pub tags: Vec<(String, String)>,
    pub created_at_ms: i64,
    pub aws_managed: bool,
}

/// A managed policy attached to a role.
#[derive(Debug, Clone, PartialEq)]
pub struct AttachedPolicy {
    pub policy_name: String,
    pub policy_arn: String,
}

/// `ListPolicies`' `Scope`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PolicyScope {
    #[default]
    All,
    Aws,
    Local,
}

impl PolicyScope {
    pub fn parse(text: &str) -> Result<Self, ServiceError> {
        match text {
            "All" => Ok(Self::All),
            "AWS" => Ok(Self::Aws),
            "Local" => Ok(Self::Local),
            other => Err(errors::validation(format!(
                "1 validation error detected: Value '{other}' at 'scope' failed to satisfy \
                 constraint: Member must satisfy enum value set: [All, AWS, Local]"
            ))),
        }
    }
}

pub fn policy_arn(account: &str, path: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:policy{path}{name}")
}

const COLUMNS: &str = "name, policy_id, arn, path, description, tags, created_at";

fn from_row(row: &Row) -> Result<ManagedPolicy, DbError> {
    Ok(ManagedPolicy {
        name: row.string(0)?,
        policy_id: row.string(1)?,
        arn: row.string(2)?,
        path: row.string(3)?,
        description: row.opt_string(4)?,
        attachment_count: 0,
        tags: tags_from_json(row.str(5)?)?,
        created_at_ms: row.i64(6)?,
        aws_managed: false,
    })
}

/// An AWS-managed policy as this account sees it.
fn aws_policy(path: &str, name: &str) -> ManagedPolicy {
    let arn = managed::arn(path, name);
    ManagedPolicy {
        name: name.to_owned(),
        policy_id: names::stable_id("ANPA", &arn),
        arn,
        path: path.to_owned(),
        description: None,
        attachment_count: 0,
        tags: Vec::new(),
        created_at_ms: managed::CREATED_AT_MS,
        aws_managed: true,
    }
}

fn load_local(tx: &mut dyn Tx, account: &str, arn: &str) -> Result<Option<ManagedPolicy>, DbError> {
    tx.query_one(
        &format!("SELECT {COLUMNS} FROM iam_policies WHERE account = ?1 AND arn = ?2"),
        &params![account, arn],
    )?
    .map(|row| from_row(&row))
    .transpose()
}

/// How many roles of `account` each attached policy ARN is attached to.
fn attachment_counts(tx: &mut dyn Tx, account: &str) -> Result<BTreeMap<String, i64>, DbError> {
    tx.query(
        "SELECT policy_arn, COUNT(*) FROM iam_role_attachments WHERE account = ?1 GROUP BY policy_arn",
        &params![account],
    )?
    .iter()
    .map(|row| Ok((row.string(0)?, row.i64(1)?)))
    .collect()
}

/// The policy an ARN names, customer-managed in `account` or AWS-managed.
fn find(tx: &mut dyn Tx, account: &str, arn: &str) -> Result<Option<ManagedPolicy>, DbError> {
    let policy = match managed::parse(arn) {
        Some((path, name)) => Some(aws_policy(&path, &name)),
        None => load_local(tx, account, arn)?,
    };
    let Some(mut policy) = policy else {
        return Ok(None);
    };
    policy.attachment_count = attachment_counts(tx, account)?
        .get(arn)
        .copied()
        .unwrap_or(0);
    Ok(Some(policy))
}

impl Iam {
    pub async fn create_policy(
        &self,
        ctx: &RequestContext,
        new: NewPolicy,
    ) -> Result<ManagedPolicy, ServiceError> {
        names::check_name(&new.name, "policyName")?;
        let path = new.path.unwrap_or_else(|| "/".to_owned());
        names::check_path(&path)?;
        let document = names::policy_document(&new.document)?;
        names::check_tags(&new.tags)?;
        let account = ctx.account_id.clone();
        let policy = ManagedPolicy {
            arn: policy_arn(&account, &path, &new.name),
            name: new.name,
            policy_id: names::unique_id("ANPA"),
            path,
            description: new.description,
            attachment_count: 0,
            tags: new.tags,
            created_at_ms: self.clock.now_ms(),
            aws_managed: false,
        };
        self.db.write(move |tx| {
            let exists = tx.query_one(
                "SELECT 1 FROM iam_policies WHERE account = ?1 AND name_key = ?2",
                &params![&account, name_key(&policy.name)],
            )?;
            if exists.is_some() {
                return abort(errors::policy_exists(&policy.name));
            }
            tx.execute(
                "INSERT INTO iam_policies (account, name_key, name, path, arn, policy_id, document, \
                 description, tags, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                &params![
                    &account,
                    name_key(&policy.name),
                    &policy.name,
                    &policy.path,
                    &policy.arn,
                    &policy.policy_id,
                    &document,
                    &policy.description,
                    tags_to_json(&policy.tags),
                    policy.created_at_ms,
                ],
            )?;
            Ok(policy)
        })
        .await
    }

    pub fn get_policy(
        &self,
        ctx: &RequestContext,
        arn: &str,
    ) -> Result<ManagedPolicy, ServiceError> {
        self.db
            .read(|tx| find(tx, &ctx.account_id, arn))?
            .ok_or_else(|| errors::no_such_policy(arn))
    }

    /// Deletes a customer-managed policy that no role uses any more.
    pub async fn delete_policy(&self, ctx: &RequestContext, arn: &str) -> Result<(), ServiceError> {
        let (account, arn) = (ctx.account_id.clone(), arn.to_owned());
        self.db
            .write(move |tx| {
                let Some(policy) = find(tx, &account, &arn)? else {
                    return abort(errors::no_such_policy(&arn));
                };
                if policy.aws_managed {
                    return abort(errors::no_such_policy(&arn));
                }
                if policy.attachment_count > 0 {
                    return abort(errors::policy_is_attached());
                }
                tx.execute(
                    "DELETE FROM iam_policies WHERE account = ?1 AND arn = ?2",
                    &params![&account, &arn],
                )?;
                Ok(())
            })
            .await
    }

    pub fn list_policies(
        &self,
        ctx: &RequestContext,
        scope: PolicyScope,
        only_attached: bool,
        path_prefix: Option<&str>,
        page: &PageRequest,
    ) -> Result<Page<ManagedPolicy>, ServiceError> {
        let prefix = path_prefix.unwrap_or("/");
        names::check_path_prefix(prefix)?;
        let account = &ctx.account_id;
        let mut policies = self.db.read(|tx| {
            let counts = attachment_counts(tx, account)?;
            let mut policies = Vec::new();
            if scope != PolicyScope::Aws {
                policies = tx
                    .query(
                        &format!("SELECT {COLUMNS} FROM iam_policies WHERE account = ?1"),
                        &params![account],
                    )?
                    .iter()
                    .map(from_row)
                    .collect::<Result<Vec<_>, _>>()?;
            }
            if scope != PolicyScope::Local {
                let mut aws: BTreeMap<String, ManagedPolicy> = managed::COMMON
                    .iter()
                    .map(|(path, name)| aws_policy(path, name))
                    .map(|p| (p.arn.clone(), p))
                    .collect();
                for arn in counts.keys() {
                    if let Some((path, name)) = managed::parse(arn) {
                        aws.entry(arn.clone())
                            .or_insert_with(|| aws_policy(&path, &name));
                    }
                }
                policies.extend(aws.into_values());
            }
            for policy in &mut policies {
                policy.attachment_count = counts.get(&policy.arn).copied().unwrap_or(0);
            }
            Ok(policies)
        })?;
        policies
            .retain(|p| p.path.starts_with(prefix) && (!only_attached || p.attachment_count > 0));
        policies.sort_by_key(sort_key);
        page.take(policies, sort_key)
    }

    /// Attaches a managed policy to a role; attaching it again changes nothing.
    pub async fn attach_role_policy(
        &self,
        ctx: &RequestContext,
        role_name: &str,
        arn: &str,
    ) -> Result<(), ServiceError> {
        names::check_name(role_name, "roleName")?;
        let (account, role_name, arn) =
            (ctx.account_id.clone(), role_name.to_owned(), arn.to_owned());
        self.db.write(move |tx| {
            let role = roles::require(tx, &account, &role_name)?;
            let Some(policy) = find(tx, &account, &arn)? else {
                return abort(errors::policy_not_attachable(&arn));
            };
            let role_key = name_key(&role.name);
            let attached = tx
                .query(
                    "SELECT policy_arn FROM iam_role_attachments WHERE account = ?1 AND role_key = ?2",
                    &params![&account, &role_key],
                )?
                .iter()
                .map(|row| row.string(0))
                .collect::<Result<Vec<_>, _>>()?;
            if attached.contains(&arn) {
                return Ok(());
            }
            if i64::try_from(attached.len()).unwrap_or(i64::MAX) >= MAX_ATTACHED_PER_ROLE {
                return abort(errors::limit_exceeded(format!(
                    "Cannot exceed quota for PoliciesPerRole: {MAX_ATTACHED_PER_ROLE}"
                )));
            }
            tx.execute(
                "INSERT INTO iam_role_attachments (account, role_key, policy_arn, policy_name) \
                 VALUES (?1, ?2, ?3, ?4)",
                &params![&account, &role_key, &arn, &policy.name],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn detach_role_policy(
        &self,
        ctx: &RequestContext,
        role_name: &str,
        arn: &str,
    ) -> Result<(), ServiceError> {
        names::check_name(role_name, "roleName")?;
        let (account, role_name, arn) =
            (ctx.account_id.clone(), role_name.to_owned(), arn.to_owned());
        self.db.write(move |tx| {
            let role = roles::require(tx, &account, &role_name)?;
            let detached = tx.execute(
                "DELETE FROM iam_role_attachments WHERE account = ?1 AND role_key = ?2 AND policy_arn = ?3",
                &params![&account, name_key(&role.name), &arn],
            )?;
            if detached == 0 {
                return abort(errors::policy_not_attached(&arn));
            }
            Ok(())
        })
        .await
    }

    pub fn list_attached_role_policies(
        &self,
        ctx: &RequestContext,
        role_name: &str,
        path_prefix: Option<&str>,
        page: &PageRequest,
    ) -> Result<Page<AttachedPolicy>, ServiceError> {
        let prefix = path_prefix.unwrap_or("/");
        names::check_path_prefix(prefix)?;
        let role = self.get_role(ctx, role_name)?;
        let mut attached = self.db.read(|tx| {
            tx.query(
                "SELECT policy_name, policy_arn FROM iam_role_attachments \
                 WHERE account = ?1 AND role_key = ?2",
                &params![&ctx.account_id, name_key(&role.name)],
            )?
            .iter()
            .map(|row| {
                Ok(AttachedPolicy {
                    policy_name: row.string(0)?,
                    policy_arn: row.string(1)?,
                })
            })
            .collect::<Result<Vec<_>, DbError>>()
        })?;
        attached.retain(|p| policy_path(&p.policy_arn).starts_with(prefix));
        let key = |p: &AttachedPolicy| format!("{}\u{0}{}", name_key(&p.policy_name), p.policy_arn);
        attached.sort_by_key(key);
        page.take(attached, key)
    }
}

fn sort_key(policy: &ManagedPolicy) -> String {
    format!("{}\u{0}{}", name_key(&policy.name), policy.arn)
}

/// The path part of a policy ARN (`/service-role/` of `…:policy/service-role/Name`).
fn policy_path(arn: &str) -> &str {
    let Some(start) = arn.find(":policy/") else {
        return "/";
    };
    let rest = &arn[start + ":policy".len()..];
    rest.rfind('/').map_or("/", |end| &rest[..=end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_of_policy_arns() {
        assert_eq!(
            policy_path("arn:aws:iam::aws:policy/service-role/X"),
            "/service-role/"
        );
        assert_eq!(policy_path("arn:aws:iam::123456789012:policy/X"), "/");
        assert_eq!(policy_path("garbage"), "/");
    }
}
