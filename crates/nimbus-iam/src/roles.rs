//! Roles: creation, lookup, listing, deletion, trust policies and tags.

use nimbus_core::{RequestContext, ServiceError};
use nimbus_store::{DbError, Row, Tx, TxError, params};

use crate::page::{Page, PageRequest};
use crate::{Iam, abort, errors, names};

/// `MaxSessionDuration` of a role created without one, in seconds.
pub const DEFAULT_MAX_SESSION_SECONDS: i32 = 3600;

/// What `CreateRole` asks for.
#[derive(Debug, Clone, Default)]
pub struct NewRole {
    pub name: String,
    pub path: Option<String>,
    pub assume_role_policy: String,
    pub description: Option<String>,
    pub max_session_duration: Option<i32>,
    pub permissions_boundary: Option<String>,
    pub tags: Vec<(String, String)>,
}

/// A role as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Role {
    pub account: String,
    pub name: String,
    pub path: String,
    pub role_id: String,
    /// The trust policy, as JSON text (IAM returns it URL-encoded).
    pub assume_role_policy: String,
    pub description: Option<String>,
    pub max_session_duration: i32,
    pub permissions_boundary: Option<String>,
    pub tags: Vec<(String, String)>,
    pub created_at_ms: i64,
}

impl Role {
    pub fn arn(&self) -> String {
        role_arn(&self.account, &self.path, &self.name)
    }
}

pub fn role_arn(account: &str, path: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:role{path}{name}")
}

/// IAM compares names without case.
pub fn name_key(name: &str) -> String {
    name.to_ascii_lowercase()
}

const COLUMNS: &str = "account, name, path, role_id, assume_role_policy, description, \
                       max_session_duration, permissions_boundary, tags, created_at";

fn from_row(row: &Row) -> Result<Role, DbError> {
    Ok(Role {
        account: row.string(0)?,
        name: row.string(1)?,
        path: row.string(2)?,
        role_id: row.string(3)?,
        assume_role_policy: row.string(4)?,
        description: row.opt_string(5)?,
        max_session_duration: i32::try_from(row.i64(6)?).unwrap_or(DEFAULT_MAX_SESSION_SECONDS),
        permissions_boundary: row.opt_string(7)?,
        tags: tags_from_json(row.str(8)?)?,
        created_at_ms: row.i64(9)?,
    })
}

pub fn tags_to_json(tags: &[(String, String)]) -> String {
    serde_json::Value::Array(
        tags.iter()
            .map(|(k, v)| serde_json::json!([k, v]))
            .collect(),
    )
    .to_string()
}

pub fn tags_from_json(text: &str) -> Result<Vec<(String, String)>, DbError> {
    serde_json::from_str(text).map_err(|e| DbError::Engine(e.to_string()))
}

/// The role named `name` in `account`, if any.
pub fn load(tx: &mut dyn Tx, account: &str, name: &str) -> Result<Option<Role>, DbError> {
    tx.query_one(
        &format!("SELECT {COLUMNS} FROM iam_roles WHERE account = ?1 AND name_key = ?2"),
        &params![account, name_key(name)],
    )?
    .map(|row| from_row(&row))
    .transpose()
}

/// The role named `name`, or AWS's `NoSuchEntity`, inside a write.
pub fn require(tx: &mut dyn Tx, account: &str, name: &str) -> Result<Role, TxError<ServiceError>> {
    match load(tx, account, name)? {
        Some(role) => Ok(role),
        None => abort(errors::no_such_role(name)),
    }
}

fn save_tags(tx: &mut dyn Tx, role: &Role) -> Result<(), DbError> {
    tx.execute(
        "UPDATE iam_roles SET tags = ?3 WHERE account = ?1 AND name_key = ?2",
        &params![
            &role.account,
            name_key(&role.name),
            tags_to_json(&role.tags)
        ],
    )?;
    Ok(())
}

impl Iam {
    pub async fn create_role(
        &self,
        ctx: &RequestContext,
        new: NewRole,
    ) -> Result<Role, ServiceError> {
        names::check_name(&new.name, "roleName")?;
        let path = new.path.unwrap_or_else(|| "/".to_owned());
        names::check_path(&path)?;
        let assume_role_policy = names::policy_document(&new.assume_role_policy)?;
        names::check_tags(&new.tags)?;
        let role = Role {
            account: ctx.account_id.clone(),
            name: new.name,
            path,
            role_id: names::unique_id("AROA"),
            assume_role_policy,
            description: new.description,
            max_session_duration: new
                .max_session_duration
                .unwrap_or(DEFAULT_MAX_SESSION_SECONDS),
            permissions_boundary: new.permissions_boundary,
            tags: new.tags,
            created_at_ms: self.clock.now_ms(),
        };
        self.db.write(move |tx| {
            if load(tx, &role.account, &role.name)?.is_some() {
                return abort(errors::role_exists(&role.name));
            }
            tx.execute(
                "INSERT INTO iam_roles (account, name_key, name, path, role_id, assume_role_policy, \
                 description, max_session_duration, permissions_boundary, tags, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                &params![
                    &role.account,
                    name_key(&role.name),
                    &role.name,
                    &role.path,
                    &role.role_id,
                    &role.assume_role_policy,
                    &role.description,
                    role.max_session_duration,
                    &role.permissions_boundary,
                    tags_to_json(&role.tags),
                    role.created_at_ms,
                ],
            )?;
            Ok(role)
        })
        .await
    }

    pub fn get_role(&self, ctx: &RequestContext, name: &str) -> Result<Role, ServiceError> {
        names::check_name(name, "roleName")?;
        self.db
            .read(|tx| load(tx, &ctx.account_id, name))?
            .ok_or_else(|| errors::no_such_role(name))
    }

    /// The role an ARN names, when it was created here.
    pub fn role_by_arn(&self, account: &str, name: &str) -> Result<Option<Role>, ServiceError> {
        self.db.read(|tx| load(tx, account, name))
    }

    pub fn list_roles(
        &self,
        ctx: &RequestContext,
        path_prefix: Option<&str>,
        page: &PageRequest,
    ) -> Result<Page<Role>, ServiceError> {
        let prefix = path_prefix.unwrap_or("/");
        names::check_path_prefix(prefix)?;
        let roles = self.db.read(|tx| {
            tx.query(
                &format!("SELECT {COLUMNS} FROM iam_roles WHERE account = ?1 ORDER BY name_key"),
                &params![&ctx.account_id],
            )?
            .iter()
            .map(from_row)
            .collect::<Result<Vec<_>, _>>()
        })?;
        let matching = roles
            .into_iter()
            .filter(|r| r.path.starts_with(prefix))
            .collect();
        page.take(matching, |r| name_key(&r.name))
    }

    /// Deletes a role that has no policies left, as IAM requires.
    pub async fn delete_role(&self, ctx: &RequestContext, name: &str) -> Result<(), ServiceError> {
        names::check_name(name, "roleName")?;
        let (account, name) = (ctx.account_id.clone(), name.to_owned());
        self.db
            .write(move |tx| {
                require(tx, &account, &name)?;
                let key = name_key(&name);
                let count = |tx: &mut dyn Tx, table: &str| -> Result<i64, DbError> {
                    let row = tx.query_one(
                        &format!(
                            "SELECT COUNT(*) FROM {table} WHERE account = ?1 AND role_key = ?2"
                        ),
                        &params![&account, &key],
                    )?;
                    row.map_or(Ok(0), |r| r.i64(0))
                };
                if count(tx, "iam_role_attachments")? > 0 {
                    return abort(errors::role_has_attached_policies());
                }
                if count(tx, "iam_role_policies")? > 0 {
                    return abort(errors::role_has_inline_policies());
                }
                tx.execute(
                    "DELETE FROM iam_roles WHERE account = ?1 AND name_key = ?2",
                    &params![&account, &key],
                )?;
                Ok(())
            })
            .await
    }

    pub async fn update_assume_role_policy(
        &self,
        ctx: &RequestContext,
        name: &str,
        document: &str,
    ) -> Result<(), ServiceError> {
        names::check_name(name, "roleName")?;
        let document = names::policy_document(document)?;
        let (account, name) = (ctx.account_id.clone(), name.to_owned());
        self.db
            .write(move |tx| {
                require(tx, &account, &name)?;
                tx.execute(
                "UPDATE iam_roles SET assume_role_policy = ?3 WHERE account = ?1 AND name_key = ?2",
                &params![&account, name_key(&name), &document],
            )?;
                Ok(())
            })
            .await
    }

    pub async fn tag_role(
        &self,
        ctx: &RequestContext,
        name: &str,
        tags: Vec<(String, String)>,
    ) -> Result<(), ServiceError> {
        names::check_name(name, "roleName")?;
        names::check_tags(&tags)?;
        let (account, name) = (ctx.account_id.clone(), name.to_owned());
        self.db
            .write(move |tx| {
                let mut role = require(tx, &account, &name)?;
                names::merge_tags(&mut role.tags, tags);
                if role.tags.len() > names::MAX_TAGS {
                    return abort(errors::limit_exceeded(
                        "The number of tags has reached the maximum limit.",
                    ));
                }
                save_tags(tx, &role)?;
                Ok(())
            })
            .await
    }

    pub async fn untag_role(
        &self,
        ctx: &RequestContext,
        name: &str,
        keys: Vec<String>,
    ) -> Result<(), ServiceError> {
        names::check_name(name, "roleName")?;
        let (account, name) = (ctx.account_id.clone(), name.to_owned());
        self.db
            .write(move |tx| {
                let mut role = require(tx, &account, &name)?;
                role.tags
                    .retain(|(k, _)| !keys.iter().any(|gone| gone.eq_ignore_ascii_case(k)));
                save_tags(tx, &role)?;
                Ok(())
            })
            .await
    }

    pub fn list_role_tags(
        &self,
        ctx: &RequestContext,
        name: &str,
        page: &PageRequest,
    ) -> Result<Page<(String, String)>, ServiceError> {
        let role = self.get_role(ctx, name)?;
        let mut tags = role.tags;
        tags.sort_by_key(|(k, _)| k.to_ascii_lowercase());
        page.take(tags, |(k, _)| k.to_ascii_lowercase())
    }
}
