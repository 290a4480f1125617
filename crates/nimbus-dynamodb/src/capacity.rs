//! Consumed capacity as DynamoDB computes it: a read unit per 4 KB (half for eventually
//! consistent reads), a write unit per 1 KB, doubled inside transactions.

use serde_json::{Map, Value, json};

use crate::request::str_field;

/// What `ReturnConsumedCapacity` asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Report {
    None,
    Total,
    Indexes,
}

impl Report {
    pub fn of(input: &Value) -> Report {
        match str_field(input, "ReturnConsumedCapacity") {
            Some("TOTAL") => Report::Total,
            Some("INDEXES") => Report::Indexes,
            _ => Report::None,
        }
    }
}

pub fn write_units(size: usize) -> f64 {
    size.div_ceil(1024).max(1) as f64
}

pub fn read_units(size: usize, consistent: bool) -> f64 {
    let units = size.div_ceil(4096).max(1) as f64;
    if consistent { units } else { units / 2.0 }
}

/// Capacity consumed on one table by one request.
#[derive(Debug, Clone, Default)]
pub struct Consumed {
    pub table: f64,
    /// (index name, global?, units)
    pub indexes: Vec<(String, bool, f64)>,
}

impl Consumed {
    pub fn add_index(&mut self, name: &str, global: bool, units: f64) {
        match self.indexes.iter_mut().find(|(n, _, _)| n == name) {
            Some(entry) => entry.2 += units,
            None => self.indexes.push((name.to_owned(), global, units)),
        }
    }

    pub fn add(&mut self, other: &Consumed) {
        self.table += other.table;
        for (name, global, units) in &other.indexes {
            self.add_index(name, *global, *units);
        }
    }

    pub fn scaled(mut self, factor: f64) -> Consumed {
        self.table *= factor;
        for entry in &mut self.indexes {
            entry.2 *= factor;
        }
        self
    }

    /// The `ConsumedCapacity` object, or `None` when not asked for. `kind` is
    /// `ReadCapacityUnits` or `WriteCapacityUnits`.
    pub fn to_json(&self, report: Report, table_name: &str, kind: &str) -> Option<Value> {
        if report == Report::None {
            return None;
        }
        let total = self.table + self.indexes.iter().map(|(_, _, u)| u).sum::<f64>();
        let mut out = Map::new();
        out.insert("TableName".into(), json!(table_name));
        out.insert("CapacityUnits".into(), json!(total));
        out.insert(kind.into(), json!(total));
        if report == Report::Indexes {
            out.insert(
                "Table".into(),
                json!({"CapacityUnits": self.table, kind: self.table}),
            );
            for (key, global) in [
                ("GlobalSecondaryIndexes", true),
                ("LocalSecondaryIndexes", false),
            ] {
                let map: Map<String, Value> = self
                    .indexes
                    .iter()
                    .filter(|(_, g, _)| *g == global)
                    .map(|(n, _, u)| (n.clone(), json!({"CapacityUnits": u, kind: u})))
                    .collect();
                if !map.is_empty() {
                    out.insert(key.into(), Value::Object(map));
                }
            }
        }
        Some(Value::Object(out))
    }
}
