//! Update expressions: parsing, application and error messages.
//!
//! Expected messages are DynamoDB's as recorded by dynalite's test suite
//! (test/updateItem.js, run against DynamoDB), and by public issue reports quoting DynamoDB.

use serde_json::{Value, json};

use crate::Update;
use crate::test_support::{item, params};

fn update_params() -> crate::Params {
    params(
        json!({"#a": "a", "#b": "b", "#c": "c", "#d": "[3]", "#s": "status"}),
        json!({
            ":a": {"S": "a"}, ":b": {"N": "1"}, ":c": {"B": "YQ=="}, ":d": {"BOOL": false},
            ":e": {"NULL": true}, ":f": {"SS": ["a"]}, ":g": {"NS": ["1"]}, ":h": {"BS": ["YQ=="]},
            ":i": {"M": {}}, ":j": {"L": []}, ":five": {"N": "5"}, ":list": {"L": [{"N": "9"}]},
            ":ss": {"SS": ["x", "y"]}, ":ns": {"NS": ["2", "3"]}, ":x": {"S": "x"}
        }),
    )
}

fn error(text: &str) -> String {
    Update::parse(text, &mut update_params())
        .unwrap_err()
        .message
}

/// Applies `text` to `before`; the result or the error message.
fn applied(text: &str, before: Value) -> Result<Value, String> {
    let update =
        Update::parse(text, &mut update_params()).unwrap_or_else(|e| panic!("{text}: {e}"));
    let mut target = item(before);
    update
        .apply(&mut target)
        .map(|()| crate::item_to_json(&target))
        .map_err(|e| e.message)
}

#[test]
fn applies_set_remove_add_delete() {
    let base = json!({
        "n": {"N": "10"}, "s": {"S": "v"}, "l": {"L": [{"N": "0"}, {"N": "1"}, {"N": "2"}]},
        "m": {"M": {"k": {"S": "v"}, "l": {"L": []}}}, "ss": {"SS": ["x"]}, "ns": {"NS": ["1", "2"]}
    });
    let cases: Vec<(&str, Value)> = vec![
        ("SET t = :a", json!({"t": {"S": "a"}})),
        ("SET n = n + :five", json!({"n": {"N": "15"}})),
        ("SET n = n - :five", json!({"n": {"N": "5"}})),
        ("SET n = :five - n", json!({"n": {"N": "-5"}})),
        (
            "SET t = if_not_exists(t, :b) + :five",
            json!({"t": {"N": "6"}}),
        ),
        ("SET n = if_not_exists(n, :b)", json!({"n": {"N": "10"}})),
        (
            "SET l = list_append(l, :list)",
            json!({"l": {"L": [{"N": "0"}, {"N": "1"}, {"N": "2"}, {"N": "9"}]}}),
        ),
        (
            "SET l = list_append(:list, l)",
            json!({"l": {"L": [{"N": "9"}, {"N": "0"}, {"N": "1"}, {"N": "2"}]}}),
        ),
        (
            "SET l[1] = :a",
            json!({"l": {"L": [{"N": "0"}, {"S": "a"}, {"N": "2"}]}}),
        ),
        (
            "SET l[10] = :a",
            json!({"l": {"L": [{"N": "0"}, {"N": "1"}, {"N": "2"}, {"S": "a"}]}}),
        ),
        (
            "SET m.k2 = :b, m.l[0] = :a",
            json!({"m": {"M": {"k": {"S": "v"}, "k2": {"N": "1"}, "l": {"L": [{"S": "a"}]}}}}),
        ),
        (
            "SET s = n, n = s",
            json!({"n": {"S": "v"}, "s": {"N": "10"}}),
        ),
        ("SET t = (n + :five)", json!({"t": {"N": "15"}})),
        (
            "REMOVE s, gone, m.k, m.nope",
            json!({"m": {"M": {"l": {"L": []}}}, "s": null}),
        ),
        ("REMOVE l[0], l[2]", json!({"l": {"L": [{"N": "1"}]}})),
        ("REMOVE l[7]", json!({})),
        ("ADD n :five", json!({"n": {"N": "15"}})),
        ("ADD t :five", json!({"t": {"N": "5"}})),
        ("ADD ss :ss", json!({"ss": {"SS": ["x", "y"]}})),
        (
            "ADD ns :ns, t :ss",
            json!({"ns": {"NS": ["1", "2", "3"]}, "t": {"SS": ["x", "y"]}}),
        ),
        ("DELETE ns :g", json!({"ns": {"NS": ["2"]}})),
        ("DELETE ss :ss", json!({"ss": null})),
        ("DELETE gone :ss", json!({})),
        (
            "set t = :a remove s add n :b delete ns :ns",
            json!({"t": {"S": "a"}, "s": null, "n": {"N": "11"}, "ns": {"NS": ["1"]}}),
        ),
    ];
    for (text, changes) in cases {
        let mut expected = base.clone();
        for (key, value) in changes.as_object().unwrap() {
            if value.is_null() {
                expected.as_object_mut().unwrap().remove(key);
            } else {
                expected[key] = value.clone();
            }
        }
        assert_eq!(applied(text, base.clone()), Ok(expected), "{text}");
    }
}

#[test]
fn application_errors_leave_the_item_unchanged() {
    let base = json!({"n": {"N": "1"}, "s": {"S": "v"}, "l": {"L": []}, "ss": {"SS": ["x"]}});
    let refers = "The provided expression refers to an attribute that does not exist in the item";
    let operand = "An operand in the update expression has an incorrect data type";
    let path = "The document path provided in the update expression is invalid for update";
    for (text, message) in [
        ("SET t = gone", refers),
        ("SET t = gone + :b", refers),
        ("SET t = list_append(gone, :list)", refers),
        ("SET n = s + :b", operand),
        ("SET t = list_append(n, :list)", operand),
        ("ADD s :b", operand),
        ("ADD ss :ns", operand),
        ("ADD n :ss", operand),
        ("DELETE s :ss", operand),
        ("DELETE ss :ns", operand),
        ("SET gone.x = :a", path),
        ("SET s.x = :a", path),
        ("SET n[0] = :a", path),
        ("SET l.x = :a", path),
        ("REMOVE gone.x", path),
        ("ADD gone.x :b", path),
        ("SET t = :a, gone.x = :a", path),
    ] {
        let update = Update::parse(text, &mut update_params()).unwrap();
        let mut target = item(base.clone());
        assert_eq!(
            update.apply(&mut target).unwrap_err().message,
            message,
            "{text}"
        );
        assert_eq!(target, item(base.clone()), "{text} changed the item");
    }
    // Overflow as DynamoDB reports it (ExtendDB issue 94, checked against DynamoDB).
    let mut p = params(Value::Null, json!({":v": {"N": "1E+125"}}));
    let update = Update::parse("SET n = n + :v", &mut p).unwrap();
    let mut target = item(json!({"n": {"N": "9.9999999999999999999999999999999999999E+125"}}));
    assert_eq!(
        update.apply(&mut target).unwrap_err().message,
        "Number overflow. Attempting to store a number with magnitude larger than supported range"
    );
}

#[test]
fn parse_errors_use_dynamodb_messages_and_order() {
    let syntax = [
        "set a = b / c",
        "set a = b * c",
        "add :a b",
        "delete :a b",
        "remove :a",
        "set a[1] = \"eight\"",
        "set a[1] = 1",
        "SET if_not_exist(a, b) = a",
        "set (a = (b + c))",
        "set a = b + c + d",
        "set a = (b.c)[0] + e",
        "SET",
        "a = :a",
        "set a = :a,",
        "add a",
    ];
    for text in syntax {
        assert!(
            error(text).starts_with("Invalid UpdateExpression: Syntax error; token: "),
            "{text}: {}",
            error(text)
        );
    }
    // Exact texts quoted from DynamoDB in public reports (aws-cdk#7591 and others).
    for (text, message) in [
        (
            "ADD hits : incr",
            "Syntax error; token: \":\", near: \"hits : incr\"",
        ),
        ("SET", "Syntax error; token: \"<EOF>\", near: \"SET\""),
        (
            "SET a = :a +",
            "Syntax error; token: \"<EOF>\", near: \"+\"",
        ),
        (
            "SET numx / :b",
            "Syntax error; token: \"/\", near: \"numx / :b\"",
        ),
        ("", "The expression can not be empty;"),
        (
            " set #c = :a set abOrt = :a ",
            "Attribute name is a reserved keyword; reserved keyword: abOrt",
        ),
        (
            " remove Absolute ",
            "Attribute name is a reserved keyword; reserved keyword: Absolute",
        ),
        (
            "set #c = if_not_exist(:c) set c = d",
            "Invalid function name; function: if_not_exist",
        ),
        (
            "set a = #c set c = :a",
            "The \"SET\" section can only be used once in an update expression;",
        ),
        (
            "remove #d set a = b remove e",
            "The \"REMOVE\" section can only be used once in an update expression;",
        ),
        (
            "add #d :b set a = b add e :b",
            "The \"ADD\" section can only be used once in an update expression;",
        ),
        (
            "delete #d :f set a = b delete #c :f",
            "The \"DELETE\" section can only be used once in an update expression;",
        ),
        (
            "SET #zz = if_not_exists(:zz)",
            "An expression attribute name used in the document path is not defined; attribute name: #zz",
        ),
        (
            "SET #a = if_not_exists(:zz)",
            "An expression attribute value used in expression is not defined; attribute value: :zz",
        ),
        (
            "set d[1] = a, d.b = a, c[1].a = a, #c = if_not_exists(a)",
            "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [c, [1], a], path two: [c]",
        ),
        (
            "set #c[3].#d = a, #c[3] = a",
            "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [c, [3], [3]], path two: [c, [3]]",
        ),
        (
            "SET a = :a REMOVE a",
            "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a]",
        ),
        (
            "set #c[3].#d = a, #c.#d[3] = if_not_exists(a)",
            "Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [c, [3], [3]], path two: [c, [3], [3]]",
        ),
        (
            "remove a.#c set a[1] = #d",
            "Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [a, c], path two: [a, [1]]",
        ),
        (
            "set b = list_append(:a, a), c = if_not_exists(a) add a.b :a",
            "Incorrect operand type for operator or function; operator: ADD, operand type: STRING",
        ),
        (
            "delete a.b :a",
            "Incorrect operand type for operator or function; operator: DELETE, operand type: STRING",
        ),
        (
            "add a.b :e",
            "Incorrect operand type for operator or function; operator: ADD, operand type: NULL",
        ),
        (
            "delete a.b :d",
            "Incorrect operand type for operator or function; operator: DELETE, operand type: BOOLEAN",
        ),
        (
            "add a.b :c",
            "Incorrect operand type for operator or function; operator: ADD, operand type: BINARY",
        ),
        (
            "add a.b :i",
            "Incorrect operand type for operator or function; operator: ADD, operand type: MAP",
        ),
        (
            "delete a.b :j",
            "Incorrect operand type for operator or function; operator: DELETE, operand type: LIST",
        ),
        (
            "delete a.b :b",
            "Incorrect operand type for operator or function; operator: DELETE, operand type: NUMBER",
        ),
        (
            "set a = if_not_exists(c)",
            "Incorrect number of operands for operator or function; operator or function: if_not_exists, number of operands: 1",
        ),
        (
            "set a = list_append(c)",
            "Incorrect number of operands for operator or function; operator or function: list_append, number of operands: 1",
        ),
        (
            "set a = if_not_exists(:a, c)",
            "Operator or function requires a document path; operator or function: if_not_exists",
        ),
        (
            "set a = if_not_exists(if_not_exists(a, b), c)",
            "Operator or function requires a document path; operator or function: if_not_exists",
        ),
        (
            "set a = list_append(:a, a)",
            "Incorrect operand type for operator or function; operator or function: list_append, operand type: S",
        ),
        (
            "set a = list_append(a, :g)",
            "Incorrect operand type for operator or function; operator or function: list_append, operand type: NS",
        ),
        (
            "set a = a + :a",
            "Incorrect operand type for operator or function; operator or function: +, operand type: S",
        ),
        (
            "set a = :c + a",
            "Incorrect operand type for operator or function; operator or function: +, operand type: B",
        ),
        (
            "set a = a - :j",
            "Incorrect operand type for operator or function; operator or function: -, operand type: L",
        ),
        ("set a = size(b)", "Invalid function name; function: size"),
    ] {
        assert_eq!(
            error(text),
            format!("Invalid UpdateExpression: {message}"),
            "{text}"
        );
    }
}

#[test]
fn reports_written_attributes() {
    let update = Update::parse(
        "SET a.b = :a, #s = :b REMOVE c[1] ADD d :b",
        &mut update_params(),
    )
    .unwrap();
    assert_eq!(update.top_level_attributes(), ["a", "c", "d", "status"]);
    assert_eq!(update.target_paths().len(), 4);
}

/// What `ReturnValues` UPDATED_OLD (on `before`) or UPDATED_NEW (on the result) selects.
fn updated_parts(text: &str, before: Value) -> (Value, Value) {
    let update =
        Update::parse(text, &mut update_params()).unwrap_or_else(|e| panic!("{text}: {e}"));
    let old = item(before);
    let mut new = old.clone();
    update.apply(&mut new).unwrap();
    (
        crate::item_to_json(&update.updated_parts(&old)),
        crate::item_to_json(&update.updated_parts(&new)),
    )
}

#[test]
fn updated_parts_keep_only_the_written_paths() {
    let before = json!({
        "k": {"S": "key"},
        "a": {"M": {"b": {"S": "dog"}, "c": {"L": [{"N": "1"}, {"N": "2"}, {"N": "3"}]}}},
        "d": {"SS": ["x", "y"]}
    });
    assert_eq!(
        updated_parts("SET a.b = :x", before.clone()),
        (
            json!({"a": {"M": {"b": {"S": "dog"}}}}),
            json!({"a": {"M": {"b": {"S": "x"}}}})
        )
    );
    assert_eq!(
        updated_parts("SET a.c[2] = :b, a.c[0] = :five", before.clone()),
        (
            json!({"a": {"M": {"c": {"L": [{"N": "1"}, {"N": "3"}]}}}}),
            json!({"a": {"M": {"c": {"L": [{"N": "5"}, {"N": "1"}]}}}})
        )
    );
    // REMOVE: old values only, except that a removed list index names the next element.
    assert_eq!(
        updated_parts("REMOVE a.b, d", before.clone()),
        (
            json!({"a": {"M": {"b": {"S": "dog"}}}, "d": {"SS": ["x", "y"]}}),
            json!({})
        )
    );
    assert_eq!(
        updated_parts("REMOVE a.c[0]", before.clone()),
        (
            json!({"a": {"M": {"c": {"L": [{"N": "1"}]}}}}),
            json!({"a": {"M": {"c": {"L": [{"N": "2"}]}}}})
        )
    );
    // A new attribute is only in the new item; an index past the end names nothing.
    assert_eq!(
        updated_parts("SET a.n = :b, a.c[9] = :b", before.clone()),
        (json!({}), json!({"a": {"M": {"n": {"N": "1"}}}}))
    );
    assert_eq!(
        updated_parts("ADD d :ss", json!({"d": {"SS": ["a"]}})),
        (
            json!({"d": {"SS": ["a"]}}),
            json!({"d": {"SS": ["a", "x", "y"]}})
        )
    );
}
