//! Helpers for the unit tests: params, items and values from wire JSON.

use serde_json::{Value, json};

use crate::{AttrValue, Item, Params, item_from_json};

/// Params from `{"#a": "name"}` and `{":v": {"S": "x"}}` (either may be `null`).
pub fn params(names: Value, values: Value) -> Params {
    let names = (!names.is_null()).then_some(&names);
    let values = (!values.is_null()).then_some(&values);
    Params::from_json(names, values).unwrap()
}

/// Params with the names and values the tables of tests commonly use.
pub fn common_params() -> Params {
    params(
        json!({"#a": "a", "#b": "b", "#s": "status"}),
        json!({
            ":s": {"S": "abc"}, ":s2": {"S": "abd"}, ":n": {"N": "5"}, ":n2": {"N": "10"},
            ":b": {"B": "AQI="}, ":t": {"BOOL": true}, ":null": {"NULL": true},
            ":ss": {"SS": ["x", "y"]}, ":ns": {"NS": ["1", "2"]}, ":l": {"L": [{"S": "x"}]},
            ":m": {"M": {"k": {"S": "v"}}}, ":typeS": {"S": "S"}, ":typeN": {"S": "N"},
            ":typeX": {"S": "X"}, ":empty": {"L": []}, ":one": {"N": "1"}
        }),
    )
}

pub fn item(value: Value) -> Item {
    item_from_json(&value).unwrap()
}

pub fn value(value: Value) -> AttrValue {
    AttrValue::from_json(&value).unwrap()
}
