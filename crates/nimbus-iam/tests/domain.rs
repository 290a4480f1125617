//! STS and IAM semantics at the domain level, on an in-memory store and the test clock.

use std::sync::Arc;

use nimbus_core::{Clock, ClockMode, CredentialLookup, RequestContext, ids};
use nimbus_iam::{Iam, NewPolicy, NewRole, PageRequest, PolicyScope};
use nimbus_store::{Store, StoreConfig};

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

async fn setup() -> (Arc<Iam>, Clock, RequestContext) {
    let store = Store::open(StoreConfig::in_memory()).await.unwrap();
    let clock = Clock::new(ClockMode::Test);
    let iam = Iam::open(store, clock.clone(), "000000000000")
        .await
        .unwrap();
    (iam, clock, ctx("000000000000", None))
}

fn ctx(account: &str, key: Option<&str>) -> RequestContext {
    let mut ctx = RequestContext::internal(account, "us-east-1", "http://localhost:4566");
    ctx.access_key_id = key.map(str::to_owned);
    ctx
}

fn role(name: &str) -> NewRole {
    NewRole {
        name: name.to_owned(),
        assume_role_policy: TRUST.to_owned(),
        ..NewRole::default()
    }
}

#[tokio::test]
async fn assumed_role_keys_carry_the_role_account_and_identity() {
    let (iam, clock, caller) = setup().await;
    let created = iam.create_role(&caller, role("worker")).await.unwrap();
    let issued = iam
        .assume_role(&caller, &created.arn(), "job-7", Some(900), None)
        .await
        .unwrap();
    assert_eq!(issued.expires_at_ms, clock.now_ms() + 900_000);
    assert_eq!(
        ids::account_from_access_key(&issued.access_key_id, "999999999999"),
        "000000000000"
    );
    let as_role = ctx("000000000000", Some(&issued.access_key_id));
    let identity = iam.caller_identity(&as_role).unwrap();
    assert_eq!(
        identity.arn,
        "arn:aws:sts::000000000000:assumed-role/worker/job-7"
    );
    assert_eq!(identity.user_id, format!("{}:job-7", created.role_id));

    let lookup = iam.issued_credential(&issued.access_key_id).unwrap();
    assert_eq!(lookup.secret_access_key, issued.secret_access_key);
    assert_eq!(lookup.session_token, issued.session_token);
    assert!(iam.issued_credential("ASIAUNKNOWNKEY000000").is_none());
    assert!(iam.issued_credential("test").is_none());

    iam.reset_sts().await.unwrap();
    assert!(iam.issued_credential(&issued.access_key_id).is_none());
    assert!(
        iam.get_role(&caller, "worker").is_ok(),
        "STS reset keeps IAM"
    );
}

#[tokio::test]
async fn roles_of_other_accounts_can_be_assumed() {
    let (iam, _, caller) = setup().await;
    let issued = iam
        .assume_role(
            &caller,
            "arn:aws:iam::123456789012:role/path/x",
            "s1",
            None,
            None,
        )
        .await
        .unwrap();
    assert_eq!(issued.identity.account, "123456789012");
    assert_eq!(
        iam.access_key_account(&issued.access_key_id),
        "123456789012"
    );
    assert_eq!(
        iam.access_key_account("AKIAIOSFODNN7EXAMPLE"),
        "000000000000"
    );
}

#[tokio::test]
async fn deleting_a_role_needs_its_policies_gone() {
    let (iam, _, caller) = setup().await;
    iam.create_role(&caller, role("r")).await.unwrap();
    let policy = iam
        .create_policy(
            &caller,
            NewPolicy {
                name: "p".into(),
                document: TRUST.into(),
                ..NewPolicy::default()
            },
        )
        .await
        .unwrap();
    iam.attach_role_policy(&caller, "r", &policy.arn)
        .await
        .unwrap();
    iam.put_role_policy(&caller, "r", "inline", TRUST)
        .await
        .unwrap();

    let err = iam.delete_role(&caller, "r").await.unwrap_err();
    assert_eq!(err.wire_query_code(), "DeleteConflict");
    iam.detach_role_policy(&caller, "r", &policy.arn)
        .await
        .unwrap();
    let err = iam.delete_role(&caller, "r").await.unwrap_err();
    assert_eq!(
        err.message,
        "Cannot delete entity, must delete policies first."
    );
    iam.delete_role_policy(&caller, "r", "inline")
        .await
        .unwrap();
    iam.delete_role(&caller, "r").await.unwrap();
    iam.delete_policy(&caller, &policy.arn).await.unwrap();
}

#[tokio::test]
async fn accounts_do_not_see_each_other() {
    let (iam, _, a) = setup().await;
    let b = ctx("222222222222", Some("222222222222"));
    iam.create_role(&a, role("same")).await.unwrap();
    iam.create_role(&b, role("same")).await.unwrap();
    let page = iam.list_roles(&b, None, &PageRequest::default()).unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].arn(), "arn:aws:iam::222222222222:role/same");
    let local = iam
        .list_policies(&b, PolicyScope::Local, false, None, &PageRequest::default())
        .unwrap();
    assert!(local.items.is_empty());
}

#[tokio::test]
async fn bad_input_is_refused_before_anything_is_written() {
    let (iam, _, caller) = setup().await;
    let mut bad = role("r");
    bad.assume_role_policy = "{".into();
    let err = iam.create_role(&caller, bad).await.unwrap_err();
    assert_eq!(err.wire_query_code(), "MalformedPolicyDocument");
    let mut bad = role("r");
    bad.path = Some("nope".into());
    assert_eq!(
        iam.create_role(&caller, bad).await.unwrap_err().code,
        "ValidationError"
    );
    assert!(
        iam.list_roles(&caller, None, &PageRequest::default())
            .unwrap()
            .items
            .is_empty()
    );
}
