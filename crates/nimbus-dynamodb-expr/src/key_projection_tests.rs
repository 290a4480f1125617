//! Key condition and projection expressions.
//!
//! Expected messages are DynamoDB's as recorded by dynalite's test suite (test/query.js,
//! test/scan.js, test/getItem.js, run against DynamoDB).

use serde_json::json;

use crate::key::SortCondition;
use crate::test_support::{common_params, item, params, value};
use crate::{KeyCondition, Projection};

fn key(text: &str) -> Result<KeyCondition, String> {
    KeyCondition::parse(text, &mut common_params()).map_err(|e| e.message)
}

#[test]
fn parses_partition_and_sort_conditions() {
    let s = || value(json!({"S": "abc"}));
    let n = || value(json!({"N": "5"}));
    let n2 = || value(json!({"N": "10"}));
    for (text, sort) in [
        ("pk = :s", None),
        ("pk = :s AND sk = :n", Some(SortCondition::Eq(n()))),
        ("pk = :s AND sk < :n", Some(SortCondition::Lt(n()))),
        ("pk = :s and sk <= :n", Some(SortCondition::Le(n()))),
        ("pk = :s AND sk > :n", Some(SortCondition::Gt(n()))),
        ("pk = :s AND sk >= :n", Some(SortCondition::Ge(n()))),
        ("pk = :s AND :n > sk", Some(SortCondition::Lt(n()))),
        ("pk = :s AND :n <= sk", Some(SortCondition::Ge(n()))),
        (
            "pk = :s AND sk BETWEEN :n AND :n2",
            Some(SortCondition::Between(n(), n2())),
        ),
        (
            "pk = :s AND begins_with(sk, :s)",
            Some(SortCondition::BeginsWith(s())),
        ),
        ("(pk = :s) AND (sk > :n)", Some(SortCondition::Gt(n()))),
        ("sk > :n AND pk = :s", Some(SortCondition::Gt(n()))),
        (":s = pk", None),
    ] {
        let parsed = key(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(parsed.partition, ("pk".to_owned(), s()), "{text}");
        assert_eq!(parsed.sort, sort.map(|c| ("sk".to_owned(), c)), "{text}");
    }
}

#[test]
fn orients_by_the_key_schema() {
    let mut p = common_params();
    let parsed =
        KeyCondition::parse_for_schema("sk = :n AND pk = :s", &mut p, "pk", Some("sk")).unwrap();
    assert_eq!(parsed.partition.0, "pk");
    assert_eq!(parsed.sort.as_ref().map(|s| s.0.as_str()), Some("sk"));
    let reoriented = key("sk = :n AND pk = :s")
        .unwrap()
        .for_key_schema("pk", Some("sk"))
        .unwrap();
    assert_eq!(reoriented, parsed);
    // dynalite test/query.js ("should return ValidationException if querying with non-indexable
    // operations", "...missed key schema element").
    for (text, partition, sort, message) in [
        (
            "z = :n",
            "a",
            None,
            "Query condition missed key schema element: a",
        ),
        (
            "a = :s AND z = :n",
            "a",
            Some("b"),
            "Query condition missed key schema element: b",
        ),
        (
            "a = :s AND b = :n",
            "a",
            None,
            "Query key condition not supported",
        ),
        (
            "a > :s",
            "a",
            Some("b"),
            "Query key condition not supported",
        ),
        (
            "b > :s",
            "a",
            Some("b"),
            "Query condition missed key schema element: a",
        ),
    ] {
        let mut p = common_params();
        assert_eq!(
            KeyCondition::parse_for_schema(text, &mut p, partition, sort)
                .unwrap_err()
                .message,
            message,
            "{text}"
        );
    }
}

#[test]
fn key_condition_errors_use_dynamodb_messages() {
    // dynalite test/query.js, KeyConditionExpression cases.
    for (text, message) in [
        (
            "",
            "Invalid KeyConditionExpression: The expression can not be empty;",
        ),
        (
            "a > b and size(b) > c or a > c",
            "Invalid operator used in KeyConditionExpression: OR",
        ),
        (
            "a in (:s, :n)",
            "Invalid operator used in KeyConditionExpression: IN",
        ),
        (
            "attribute_exists(a)",
            "Invalid operator used in KeyConditionExpression: attribute_exists",
        ),
        (
            "attribute_not_exists(a)",
            "Invalid operator used in KeyConditionExpression: attribute_not_exists",
        ),
        (
            "attribute_type(a, :typeS)",
            "Invalid operator used in KeyConditionExpression: attribute_type",
        ),
        (
            "contains(a.d, b)",
            "Invalid operator used in KeyConditionExpression: contains",
        ),
        (
            "not a > :s",
            "Invalid operator used in KeyConditionExpression: NOT",
        ),
        (
            "a <> :s",
            "Invalid operator used in KeyConditionExpression: <>",
        ),
        (
            ":s between size(b) and size(a) and b > :n",
            "Invalid condition in KeyConditionExpression: BETWEEN operator must have the key attribute as its first operand",
        ),
        (
            "begins_with(:s, b) and a > :n",
            "Invalid condition in KeyConditionExpression: begins_with operator must have the key attribute as its first operand",
        ),
        (
            "a = :s and size(b) > :n",
            "KeyConditionExpressions cannot contain nested operations",
        ),
        (
            "a > b",
            "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition",
        ),
        (
            "a.b = :s",
            "KeyConditionExpressions cannot have conditions on nested attributes",
        ),
        (
            "a[1] = :s",
            "KeyConditionExpressions cannot have conditions on nested attributes",
        ),
        (
            ":s = :n",
            "Invalid condition in KeyConditionExpression: No key attribute specified",
        ),
        (
            "a = :s and a > :n",
            "KeyConditionExpressions must only contain one condition per key",
        ),
        (
            ":s = a and b = :s and :s = c",
            "Conditions can be of length 1 or 2 only",
        ),
        (
            "a between :n and :s",
            "Invalid KeyConditionExpression: The BETWEEN operator requires same data type for lower and upper bounds; lower bound operand: AttributeValue: {N:5}, upper bound operand: AttributeValue: {S:abc}",
        ),
        (
            "a = :s AND",
            "Invalid KeyConditionExpression: Syntax error; token: \"<EOF>\", near: \"AND\"",
        ),
        (
            "status = :s",
            "Invalid KeyConditionExpression: Attribute name is a reserved keyword; reserved keyword: status",
        ),
    ] {
        assert_eq!(key(text).unwrap_err(), message, "{text}");
    }
}

fn project(text: &str, from: serde_json::Value) -> serde_json::Value {
    let mut p = params(
        json!({"#n": "name", "#unused": "x"}),
        serde_json::Value::Null,
    );
    let projection = Projection::parse(text, &mut p).unwrap_or_else(|e| panic!("{text}: {e}"));
    crate::item_to_json(&projection.apply(&item(from)))
}

#[test]
fn projects_top_level_and_nested_paths() {
    let sample = json!({
        "a": {"S": "x"}, "name": {"S": "n"},
        "l": {"L": [{"N": "0"}, {"M": {"p": {"S": "p"}, "q": {"S": "q"}}}, {"N": "2"}]},
        "m": {"M": {"k": {"S": "v"}, "j": {"N": "1"}}}
    });
    for (text, expected) in [
        ("a", json!({"a": {"S": "x"}})),
        ("a, #n, gone", json!({"a": {"S": "x"}, "name": {"S": "n"}})),
        ("m.k", json!({"m": {"M": {"k": {"S": "v"}}}})),
        ("m.k, m.nope", json!({"m": {"M": {"k": {"S": "v"}}}})),
        ("l[2], l[0]", json!({"l": {"L": [{"N": "0"}, {"N": "2"}]}})),
        (
            "l[1].q, l[9]",
            json!({"l": {"L": [{"M": {"q": {"S": "q"}}}]}}),
        ),
        ("m.nope", json!({})),
        ("a[0], m[0]", json!({})),
    ] {
        assert_eq!(project(text, sample.clone()), expected, "{text}");
    }
}

#[test]
fn projection_errors_use_dynamodb_messages() {
    let error = |text: &str| {
        let mut p = params(json!({"#a": "a", "#d": "[3]"}), serde_json::Value::Null);
        Projection::parse(text, &mut p).unwrap_err().message
    };
    for (text, message) in [
        ("", "The expression can not be empty;"),
        ("a b", "Syntax error; token: \"b\", near: \"a b\""),
        ("a,", "Syntax error; token: \"<EOF>\", near: \",\""),
        ("!!", "Syntax error; token: \"!\", near: \"!!\""),
        ("a, :v", "Syntax error; token: \":v\", near: \", :v\""),
        (
            "a, status",
            "Attribute name is a reserved keyword; reserved keyword: status",
        ),
        (
            "a, #zz",
            "An expression attribute name used in the document path is not defined; attribute name: #zz",
        ),
        (
            "a, a.b",
            "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a, b]",
        ),
        (
            "a.b[1], #a.b.c",
            "Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [a, b, [1]], path two: [a, b, c]",
        ),
    ] {
        let expected = format!("Invalid ProjectionExpression: {message}");
        assert_eq!(error(text), expected, "{text}");
    }
    // A name spelled `[3]` is a map key, not list index 3: no overlap.
    let mut p = params(json!({"#a": "a", "#d": "[3]"}), serde_json::Value::Null);
    assert!(Projection::parse("#a.#d, #a[3]", &mut p).is_err());
    assert!(Projection::parse("#a.#d, #a.b", &mut p).is_ok());
}
