//! Legacy parameters: conversion, evaluation and DynamoDB's validation messages (as
//! recorded by dynalite's validations and test suite, run against DynamoDB).

use serde_json::{Value, json};

use crate::key::SortCondition;
use crate::legacy;
use crate::test_support::{item, value};

fn sample() -> crate::Item {
    item(json!({"a": {"S": "abc"}, "n": {"N": "5"}, "ss": {"SS": ["x", "y"]}}))
}

#[test]
fn expected_and_filters_evaluate_like_expressions() {
    for (expected, operator, holds) in [
        (json!({"a": {"Value": {"S": "abc"}}}), None, true),
        (
            json!({"a": {"Exists": true, "Value": {"S": "abd"}}}),
            None,
            false,
        ),
        (json!({"gone": {"Exists": false}}), None, true),
        (json!({"a": {"Exists": false}}), None, false),
        (
            json!({"n": {"ComparisonOperator": "GT", "AttributeValueList": [{"N": "4"}]}}),
            None,
            true,
        ),
        (
            json!({"n": {"ComparisonOperator": "LE", "Value": {"N": "4"}}}),
            None,
            false,
        ),
        (
            json!({"n": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [{"N": "1"}, {"N": "5"}]}}),
            None,
            true,
        ),
        (
            json!({"a": {"ComparisonOperator": "IN", "AttributeValueList": [{"S": "q"}, {"S": "abc"}]}}),
            None,
            true,
        ),
        (
            json!({"a": {"ComparisonOperator": "BEGINS_WITH", "AttributeValueList": [{"S": "ab"}]}}),
            None,
            true,
        ),
        (
            json!({"ss": {"ComparisonOperator": "CONTAINS", "AttributeValueList": [{"S": "x"}]}}),
            None,
            true,
        ),
        (
            json!({"ss": {"ComparisonOperator": "NOT_CONTAINS", "AttributeValueList": [{"S": "x"}]}}),
            None,
            false,
        ),
        (json!({"gone": {"ComparisonOperator": "NULL"}}), None, true),
        (json!({"a": {"ComparisonOperator": "NOT_NULL"}}), None, true),
        (
            json!({"a": {"ComparisonOperator": "NE", "AttributeValueList": [{"S": "abc"}]}}),
            None,
            false,
        ),
        (
            json!({"a": {"Value": {"S": "abc"}}, "n": {"Value": {"N": "6"}}}),
            None,
            false,
        ),
        (
            json!({"a": {"Value": {"S": "abc"}}, "n": {"Value": {"N": "6"}}}),
            Some("OR"),
            true,
        ),
        (json!({}), None, true),
    ] {
        let condition =
            legacy::expected(&expected, operator).unwrap_or_else(|e| panic!("{expected}: {e}"));
        assert_eq!(condition.evaluate(&sample()).unwrap(), holds, "{expected}");
    }
    let scan = legacy::filter(
        &json!({"n": {"ComparisonOperator": "LT", "AttributeValueList": [{"N": "10"}]}}),
        None,
    )
    .unwrap();
    assert!(scan.evaluate(&sample()).unwrap());
}

#[test]
fn legacy_conditions_are_validated() {
    let expected_error = |e: Value| legacy::expected(&e, None).unwrap_err().message;
    let filter_error = |e: Value| legacy::filter(&e, None).unwrap_err().message;
    let p = "One or more parameter values were invalid: ";
    for (input, message) in [
        (
            json!({"a": {"Value": {"S": "x"}, "AttributeValueList": [{"S": "x"}]}}),
            format!("{p}Value and AttributeValueList cannot be used together for Attribute: a"),
        ),
        (
            json!({"a": {"Exists": true, "ComparisonOperator": "NULL"}}),
            format!("{p}Exists and ComparisonOperator cannot be used together for Attribute: a"),
        ),
        (
            json!({"a": {"ComparisonOperator": "EQ"}}),
            format!(
                "{p}Value or AttributeValueList must be used with ComparisonOperator: EQ for Attribute: a"
            ),
        ),
        (
            json!({"a": {"AttributeValueList": [{"S": "x"}]}}),
            format!(
                "{p}AttributeValueList can only be used with a ComparisonOperator for Attribute: a"
            ),
        ),
        (
            json!({"a": {}}),
            format!("{p}Value must be provided when Exists is null for Attribute: a"),
        ),
        (
            json!({"a": {"Exists": true}}),
            format!("{p}Value must be provided when Exists is true for Attribute: a"),
        ),
        (
            json!({"a": {"Exists": false, "Value": {"S": "x"}}}),
            format!("{p}Value cannot be used when Exists is false for Attribute: a"),
        ),
    ] {
        assert_eq!(expected_error(input.clone()), message, "{input}");
    }
    for (input, message) in [
        (json!({"a": {"ComparisonOperator": "EQ", "AttributeValueList": []}}), format!("{p}Invalid number of argument(s) for the EQ ComparisonOperator")),
        (json!({"a": {"ComparisonOperator": "NULL", "AttributeValueList": [{"S": "x"}]}}), format!("{p}Invalid number of argument(s) for the NULL ComparisonOperator")),
        (json!({"a": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [{"N": "1"}]}}), format!("{p}Invalid number of argument(s) for the BETWEEN ComparisonOperator")),
        (json!({"a": {"ComparisonOperator": "IN", "AttributeValueList": [{"N": "1"}, {"S": "1"}]}}), format!("{p}AttributeValues inside AttributeValueList must be of same type")),
        (json!({"a": {"ComparisonOperator": "GT", "AttributeValueList": [{"SS": ["a"]}]}}), format!("{p}ComparisonOperator GT is not valid for SS AttributeValue type")),
        (json!({"a": {"ComparisonOperator": "BEGINS_WITH", "AttributeValueList": [{"N": "1"}]}}), format!("{p}ComparisonOperator BEGINS_WITH is not valid for N AttributeValue type")),
        (json!({"a": {"ComparisonOperator": "EQ", "AttributeValueList": [{"BOOL": true}]}}), format!("{p}ComparisonOperator EQ is not valid for BOOL AttributeValue type")),
        (json!({"a": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [{"N": "2"}, {"N": "1"}]}}), "The BETWEEN condition was provided a range where the lower bound is greater than the upper bound".to_owned()),
    ] {
        assert_eq!(filter_error(input.clone()), message, "{input}");
    }
}

#[test]
fn attribute_updates_apply_with_legacy_semantics() {
    let updates = json!({
        "a": {"Action": "PUT", "Value": {"S": "new"}},
        "n": {"Action": "ADD", "Value": {"N": "2"}},
        "ss": {"Action": "DELETE", "Value": {"SS": ["x"]}},
        "l": {"Action": "ADD", "Value": {"L": [{"N": "1"}]}},
        "t": {"Value": {"BOOL": true}},
    });
    let update = legacy::attribute_updates(&updates).unwrap();
    let mut target = sample();
    update.apply(&mut target).unwrap();
    assert_eq!(
        target,
        item(
            json!({"a": {"S": "new"}, "n": {"N": "7"}, "ss": {"SS": ["y"]},
            "l": {"L": [{"N": "1"}]}, "t": {"BOOL": true}})
        )
    );
    let update = legacy::attribute_updates(&json!({"a": {"Action": "DELETE"}})).unwrap();
    let mut target = sample();
    update.apply(&mut target).unwrap();
    assert!(!target.contains_key("a"));
    let update =
        legacy::attribute_updates(&json!({"a": {"Action": "ADD", "Value": {"N": "1"}}})).unwrap();
    assert_eq!(
        update.apply(&mut sample()).unwrap_err().message,
        "Type mismatch for attribute to update"
    );
    let p = "One or more parameter values were invalid: ";
    for (input, message) in [
        (
            json!({"a": {"Action": "PUT"}}),
            format!("{p}Only DELETE action is allowed when no attribute value is specified"),
        ),
        (
            json!({"a": {"Action": "DELETE", "Value": {"S": "x"}}}),
            format!("{p}DELETE action with value is not supported for the type S"),
        ),
        (
            json!({"a": {"Action": "ADD", "Value": {"S": "x"}}}),
            format!("{p}ADD action is not supported for the type S"),
        ),
    ] {
        assert_eq!(
            legacy::attribute_updates(&input).unwrap_err().message,
            message,
            "{input}"
        );
    }
}

#[test]
fn key_conditions_and_attributes_to_get() {
    let conditions = json!({
        "pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "p"}]},
        "sk": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [{"N": "1"}, {"N": "3"}]},
    });
    let key = legacy::key_conditions_for_schema(&conditions, "pk", Some("sk")).unwrap();
    assert_eq!(key.partition, ("pk".to_owned(), value(json!({"S": "p"}))));
    assert_eq!(
        key.sort,
        Some((
            "sk".to_owned(),
            SortCondition::Between(value(json!({"N": "1"})), value(json!({"N": "3"})))
        ))
    );
    assert_eq!(legacy::key_conditions(&conditions).unwrap(), key);
    for (input, message) in [
        (
            json!({"pk": {"ComparisonOperator": "NE", "AttributeValueList": [{"S": "p"}]}}),
            "Attempted conditional constraint is not an indexable operation",
        ),
        (json!({}), "Conditions can be of length 1 or 2 only"),
    ] {
        assert_eq!(
            legacy::key_conditions(&input).unwrap_err().message,
            message,
            "{input}"
        );
    }
    let projection = legacy::attributes_to_get(&json!(["a", "n"])).unwrap();
    assert_eq!(projection.apply(&sample()).len(), 2);
    assert_eq!(
        legacy::attributes_to_get(&json!(["a", "a"]))
            .unwrap_err()
            .message,
        "One or more parameter values were invalid: Duplicate value in attribute name: a"
    );
    assert_eq!(
        legacy::check_not_mixed(&["AttributesToGet"], &["ProjectionExpression"])
            .unwrap_err()
            .message,
        "Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {AttributesToGet} Expression parameters: {ProjectionExpression}"
    );
    assert!(legacy::check_not_mixed(&[], &["ProjectionExpression"]).is_ok());
}
