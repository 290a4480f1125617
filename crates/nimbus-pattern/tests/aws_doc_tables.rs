//! Match, no-match and invalid cases taken from the AWS documentation:
//! EventBridge "Content filtering in Amazon EventBridge event patterns"
//! (<https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html>)
//! and SNS "Amazon SNS subscription filter policies"
//! (<https://docs.aws.amazon.com/sns/latest/dg/sns-subscription-filter-policies.html>).

use nimbus_pattern::Pattern;
use nimbus_pattern::sns::{Attribute, FilterPolicy, Scope};
use serde_json::json;

fn check(pattern: serde_json::Value, matching: &[serde_json::Value], not: &[serde_json::Value]) {
    let compiled = Pattern::parse(&pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"));
    for event in matching {
        assert!(compiled.matches(event), "{pattern} should match {event}");
    }
    for event in not {
        assert!(
            !compiled.matches(event),
            "{pattern} should not match {event}"
        );
    }
}

#[test]
fn exact_values_and_arrays() {
    check(
        json!({"source": ["aws.ec2"], "detail": {"state": ["running", "stopped"]}}),
        &[
            json!({"source": "aws.ec2", "detail": {"state": "running"}}),
            json!({"source": ["x", "aws.ec2"], "detail": {"state": "stopped", "other": 1}}),
        ],
        &[
            json!({"source": "aws.ec2", "detail": {"state": "pending"}}),
            json!({"source": "aws.s3", "detail": {"state": "running"}}),
            json!({"source": "aws.ec2"}),
        ],
    );
    check(
        json!({"n": [5], "b": [true], "z": [null]}),
        &[json!({"n": 5.0, "b": true, "z": null})],
        &[
            json!({"n": "5", "b": true, "z": null}),
            json!({"n": 5, "b": true}),
        ],
    );
}

#[test]
fn prefix_suffix_and_ignore_case() {
    check(
        json!({"time": [{"prefix": "2017-10-02"}]}),
        &[json!({"time": "2017-10-02T18:43:48Z"})],
        &[
            json!({"time": "2017-10-03T18:43:48Z"}),
            json!({"time": 2017}),
        ],
    );
    check(
        json!({"FileName": [{"suffix": ".png"}]}),
        &[json!({"FileName": "image.png"})],
        &[json!({"FileName": "image.jpg"})],
    );
    check(
        json!({"name": [{"prefix": {"equals-ignore-case": "ALice"}}]}),
        &[json!({"name": "alicE smith"})],
        &[json!({"name": "bob"})],
    );
    check(
        json!({"name": [{"suffix": {"equals-ignore-case": ".PNG"}}]}),
        &[json!({"name": "a.png"})],
        &[json!({"name": "a.jpg"})],
    );
    check(
        json!({"name": [{"equals-ignore-case": "alice"}]}),
        &[json!({"name": "ALICE"})],
        &[json!({"name": "alicia"})],
    );
}

#[test]
fn anything_but() {
    check(
        json!({"state": [{"anything-but": "initializing"}]}),
        &[json!({"state": "running"})],
        &[json!({"state": "initializing"}), json!({})],
    );
    check(
        json!({"x": [{"anything-but": [100, 200]}]}),
        &[json!({"x": 300}), json!({"x": "100"})],
        &[json!({"x": 100})],
    );
    check(
        json!({"state": [{"anything-but": {"prefix": "init"}}]}),
        &[json!({"state": "running"})],
        &[json!({"state": "initializing"})],
    );
    check(
        json!({"f": [{"anything-but": {"suffix": ".txt"}}]}),
        &[json!({"f": "a.png"})],
        &[json!({"f": "a.txt"})],
    );
    check(
        json!({"f": [{"anything-but": {"equals-ignore-case": ["Stopped", "OVERLOADED"]}}]}),
        &[json!({"f": "running"})],
        &[json!({"f": "stopped"}), json!({"f": "overloaded"})],
    );
    check(
        json!({"f": [{"anything-but": {"wildcard": "*/lib/*"}}]}),
        &[json!({"f": "/usr/bin/x"})],
        &[json!({"f": "/usr/lib/x"})],
    );
}

#[test]
fn numeric_ranges() {
    check(
        json!({"c": [{"numeric": [">", 0, "<=", 5]}]}),
        &[json!({"c": 5}), json!({"c": 0.5})],
        &[json!({"c": 0}), json!({"c": 5.01}), json!({"c": "3"})],
    );
    check(
        json!({"c": [{"numeric": ["=", 3.018e2]}]}),
        &[json!({"c": 301.8})],
        &[json!({"c": 301})],
    );
    check(
        json!({"c": [{"numeric": ["<", 10]}]}),
        &[json!({"c": -1})],
        &[json!({"c": 10})],
    );
}

#[test]
fn exists_cidr_wildcard() {
    check(
        json!({"detail": {"c-count": [{"exists": true}]}}),
        &[json!({"detail": {"c-count": 5}})],
        &[
            json!({"detail": {}}),
            json!({"detail": {"c-count": {"nested": 1}}}),
        ],
    );
    check(
        json!({"detail": {"c-count": [{"exists": false}]}}),
        &[json!({"detail": {}}), json!({"other": 1})],
        &[json!({"detail": {"c-count": 5}})],
    );
    check(
        json!({"sourceIPAddress": [{"cidr": "10.0.0.0/24"}]}),
        &[json!({"sourceIPAddress": "10.0.0.255"})],
        &[
            json!({"sourceIPAddress": "10.0.1.0"}),
            json!({"sourceIPAddress": "nope"}),
        ],
    );
    check(
        json!({"ip": [{"cidr": "2001:db8::/32"}]}),
        &[json!({"ip": "2001:db8::1"})],
        &[json!({"ip": "2001:db9::1"})],
    );
    check(
        json!({"EventBusArn": [{"wildcard": "arn:aws:events:us-east-1:*:event-bus/*"}]}),
        &[json!({"EventBusArn": "arn:aws:events:us-east-1:123456789012:event-bus/b"})],
        &[json!({"EventBusArn": "arn:aws:events:us-west-2:123456789012:event-bus/b"})],
    );
}

#[test]
fn or_groups() {
    check(
        json!({"source": ["aws.ec2"], "$or": [
            {"detail": {"state": ["running"]}},
            {"detail": {"c": [{"numeric": [">", 10]}]}}
        ]}),
        &[
            json!({"source": "aws.ec2", "detail": {"state": "running"}}),
            json!({"source": "aws.ec2", "detail": {"c": 11}}),
        ],
        &[
            json!({"source": "aws.ec2", "detail": {"state": "stopped", "c": 1}}),
            json!({"source": "aws.s3", "detail": {"state": "running"}}),
        ],
    );
}

#[test]
fn invalid_patterns() {
    for bad in [
        json!({"a": "x"}),
        json!({"a": []}),
        json!({"a": [{"nope": 1}]}),
        json!({"a": [{"prefix": 1}]}),
        json!({"a": [{"numeric": [">", "x"]}]}),
        json!({"a": [{"numeric": ["<", 5, ">", 10]}]}),
        json!({"a": [{"numeric": [">", 1, ">", 2]}]}),
        json!({"a": [{"exists": "yes"}]}),
        json!({"a": [{"cidr": "10.0.0.0"}]}),
        json!({"a": [{"cidr": "10.0.0.0/33"}]}),
        json!({"a": [{"wildcard": "a**"}]}),
        json!({"a": [{"anything-but": {"numeric": [">", 1]}}]}),
        json!({"$or": [{"a": ["x"]}]}),
        json!([1]),
    ] {
        assert!(Pattern::parse(&bad).is_err(), "{bad} should be refused");
    }
}

fn attr<'a>(name: &'a str, data_type: &'a str, value: &'a str) -> Attribute<'a> {
    Attribute {
        name,
        data_type,
        string_value: Some(value),
    }
}

#[test]
fn sns_attribute_policies() {
    let policy = FilterPolicy::parse(
        r#"{"store":["example_corp"],"event":[{"anything-but":"order_cancelled"}],
            "customer_interests":["rugby","football","baseball"],
            "price_usd":[{"numeric":[">=",100]}]}"#,
        Scope::MessageAttributes,
    )
    .unwrap();
    let matching = [
        attr("store", "String", "example_corp"),
        attr("event", "String", "order_placed"),
        attr(
            "customer_interests",
            "String.Array",
            r#"["soccer","rugby","hockey"]"#,
        ),
        attr("price_usd", "Number", "210.75"),
    ];
    assert!(policy.matches("", &matching));
    let mut cheap = matching;
    cheap[3] = attr("price_usd", "Number", "99");
    assert!(!policy.matches("", &cheap));
    let mut wrong_type = matching;
    wrong_type[3] = attr("price_usd", "String", "210.75");
    assert!(
        !policy.matches("", &wrong_type),
        "numeric matching needs a Number attribute"
    );
    assert!(!policy.matches("", &matching[..3]));
}

#[test]
fn sns_body_policies() {
    let policy = FilterPolicy::parse(
        r#"{"store":["example_corp"],"order":{"price":[{"numeric":[">",10]}]}}"#,
        Scope::MessageBody,
    )
    .unwrap();
    assert!(policy.matches(r#"{"store":"example_corp","order":{"price":11}}"#, &[]));
    assert!(!policy.matches(r#"{"store":"example_corp","order":{"price":9}}"#, &[]));
    assert!(!policy.matches("not json", &[]));
}

#[test]
fn sns_limits_and_errors() {
    let too_many_keys = r#"{"a":["1"],"b":["1"],"c":["1"],"d":["1"],"e":["1"],"f":["1"]}"#;
    let err = FilterPolicy::parse(too_many_keys, Scope::MessageAttributes).unwrap_err();
    assert!(err.0.contains("5 keys"), "{err}");
    let values: Vec<String> = (0..13).map(|i| format!("\"v{i}\"")).collect();
    let list = values.join(",");
    let complex = format!(r#"{{"a":[{list}],"b":[{list}]}}"#);
    let err = FilterPolicy::parse(&complex, Scope::MessageAttributes).unwrap_err();
    assert_eq!(err.0, "Filter policy is too complex");
    let nested = r#"{"a":{"b":["x"]}}"#;
    assert!(FilterPolicy::parse(nested, Scope::MessageAttributes).is_err());
    assert!(FilterPolicy::parse(nested, Scope::MessageBody).is_ok());
    assert!(FilterPolicy::parse("{}", Scope::MessageAttributes).is_err());
    assert!(FilterPolicy::parse("[]", Scope::MessageAttributes).is_err());
    assert!(
        FilterPolicy::parse(
            r#"{"p":[{"numeric":[">",1e10]}]}"#,
            Scope::MessageAttributes
        )
        .is_err()
    );
}
