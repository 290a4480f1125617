//! awsQuery XML output, walked from the output shape:
//! `<OpResponse xmlns><OpResult>…</OpResult><ResponseMetadata><RequestId/></ResponseMetadata>`.

use nimbus_model::{Member, Shape, ShapeKind};
use serde_json::Value;

use crate::{Identified, WireResponse, header, timestamp};

/// A small XML writer that escapes everything it is given.
pub struct XmlWriter {
    out: String,
}

impl XmlWriter {
    pub fn new() -> Self {
        XmlWriter {
            out: String::from("<?xml version=\"1.0\"?>"),
        }
    }

    pub fn open_with_ns(&mut self, tag: &str, ns: Option<&str>) {
        match ns {
            Some(ns) => {
                self.out.push('<');
                self.out.push_str(tag);
                self.out.push_str(" xmlns=\"");
                escape_into(&mut self.out, ns);
                self.out.push_str("\">");
            }
            None => self.open(tag),
        }
    }

    pub fn open(&mut self, tag: &str) {
        self.out.push('<');
        self.out.push_str(tag);
        self.out.push('>');
    }

    pub fn close(&mut self, tag: &str) {
        self.out.push_str("</");
        self.out.push_str(tag);
        self.out.push('>');
    }

    pub fn empty(&mut self, tag: &str) {
        self.out.push('<');
        self.out.push_str(tag);
        self.out.push_str("/>");
    }

    pub fn text_element(&mut self, tag: &str, text: &str) {
        self.open(tag);
        escape_into(&mut self.out, text);
        self.close(tag);
    }

    pub fn finish(self) -> String {
        self.out
    }
}

/// Escapes text and attribute values. Carriage returns are kept as `&#xD;` (as AWS sends
/// them) so XML parsers do not normalise them away; characters XML cannot carry are dropped.
fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#xD;"),
            '\t' | '\n' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
}

/// Renders an operation output.
pub fn encode(id: &Identified, output: &Value, request_id: &str) -> WireResponse {
    let op = id.operation;
    let mut xml = XmlWriter::new();
    let response = format!("{}Response", op.name);
    xml.open_with_ns(&response, id.service.xml_namespace);
    if let Some(shape) = op.output {
        let wrapper = op
            .result_wrapper
            .map_or_else(|| format!("{}Result", op.name), str::to_owned);
        xml.open(&wrapper);
        if let Value::Object(_) = output {
            structure_body(&mut xml, shape, output);
        }
        xml.close(&wrapper);
    }
    xml.open("ResponseMetadata");
    xml.text_element("RequestId", request_id);
    xml.close("ResponseMetadata");
    xml.close(&response);
    WireResponse {
        status: 200,
        headers: vec![
            header("content-type", "text/xml"),
            header("x-amzn-requestid", request_id),
        ],
        body: xml.finish().into(),
    }
}

fn structure_body(xml: &mut XmlWriter, shape: &Shape, value: &Value) {
    for member in shape.members() {
        match value.get(member.name) {
            None | Some(Value::Null) => {}
            Some(v) => member_value(xml, member, v),
        }
    }
}

fn member_value(xml: &mut XmlWriter, member: &Member, value: &Value) {
    let target = member.target;
    match (&target.kind, value) {
        (
            ShapeKind::List {
                member: item,
                member_location_name,
            },
            Value::Array(items),
        ) if member.flattened => {
            // Flattened lists repeat the item element in place of the wrapper.
            let tag = member_location_name.unwrap_or(member.xml_name());
            for v in items {
                element(xml, tag, item, v);
            }
        }
        (ShapeKind::Map { .. }, Value::Object(_)) if member.flattened => {
            map_entries(xml, target, value, Some(member.xml_name()));
        }
        _ => element(xml, member.xml_name(), target, value),
    }
}

fn map_entries(xml: &mut XmlWriter, shape: &Shape, value: &Value, entry_tag: Option<&str>) {
    let (
        ShapeKind::Map {
            key,
            value: item,
            key_location_name,
            value_location_name,
        },
        Value::Object(map),
    ) = (&shape.kind, value)
    else {
        return;
    };
    for (k, v) in map {
        xml.open(entry_tag.unwrap_or("entry"));
        element(
            xml,
            key_location_name.unwrap_or("key"),
            key,
            &Value::String(k.clone()),
        );
        element(xml, value_location_name.unwrap_or("value"), item, v);
        xml.close(entry_tag.unwrap_or("entry"));
    }
}

fn element(xml: &mut XmlWriter, tag: &str, shape: &Shape, value: &Value) {
    match (&shape.kind, value) {
        (_, Value::Null) => {}
        (ShapeKind::Structure { .. }, Value::Object(_)) => {
            xml.open(tag);
            structure_body(xml, shape, value);
            xml.close(tag);
        }
        (
            ShapeKind::List {
                member,
                member_location_name,
            },
            Value::Array(items),
        ) => {
            xml.open(tag);
            let item_tag = member_location_name.unwrap_or("member");
            for v in items {
                element(xml, item_tag, member, v);
            }
            xml.close(tag);
        }
        (ShapeKind::Map { .. }, Value::Object(_)) => {
            xml.open(tag);
            map_entries(xml, shape, value, None);
            xml.close(tag);
        }
        (ShapeKind::Timestamp { .. }, Value::Number(n)) => {
            xml.text_element(tag, &timestamp::to_iso8601(n.as_f64().unwrap_or(0.0)));
        }
        (_, Value::String(s)) => xml.text_element(tag, s),
        (_, Value::Bool(b)) => xml.text_element(tag, if *b { "true" } else { "false" }),
        (_, Value::Number(n)) => xml.text_element(tag, &n.to_string()),
        // A value that does not fit its shape is a service bug; render it as JSON text
        // rather than dropping it silently.
        (_, other) => xml.text_element(tag, &other.to_string()),
    }
}
