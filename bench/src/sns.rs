//! SNS request bodies (query protocol) and the parts of the XML answers the benchmark needs.

use bytes::Bytes;

/// Form-encodes `key=value` pairs as the query protocol wants them.
pub fn form(pairs: &[(&str, &str)]) -> Bytes {
    let mut out = String::from("Version=2010-03-31");
    for (key, value) in pairs {
        out.push('&');
        out.push_str(&encode(key));
        out.push('=');
        out.push_str(&encode(value));
    }
    Bytes::from(out)
}

fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

pub fn create_topic_body(name: &str) -> Bytes {
    form(&[("Action", "CreateTopic"), ("Name", name)])
}

pub fn subscribe_body(topic_arn: &str, queue_arn: &str, raw: bool) -> Bytes {
    form(&[
        ("Action", "Subscribe"),
        ("TopicArn", topic_arn),
        ("Protocol", "sqs"),
        ("Endpoint", queue_arn),
        ("Attributes.entry.1.key", "RawMessageDelivery"),
        (
            "Attributes.entry.1.value",
            if raw { "true" } else { "false" },
        ),
    ])
}

pub fn publish_body(topic_arn: &str, message: &str) -> Bytes {
    form(&[
        ("Action", "Publish"),
        ("TopicArn", topic_arn),
        ("Message", message),
    ])
}

/// The text of the first `<tag>…</tag>` in an XML answer.
pub fn xml_text<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{tag}>"))? + start;
    Some(&xml[start..end])
}

/// The publish timestamp carried in a delivered message: raw bodies are the timestamp itself,
/// envelopes carry it in `Message`.
pub fn sent_at_nanos(body: &str) -> Option<u128> {
    if let Ok(n) = body.parse() {
        return Some(n);
    }
    let envelope: serde_json::Value = serde_json::from_str(body).ok()?;
    envelope.get("Message")?.as_str()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_and_answers() {
        assert_eq!(
            form(&[("Action", "Publish"), ("TopicArn", "arn:aws:sns:x")]),
            Bytes::from("Version=2010-03-31&Action=Publish&TopicArn=arn%3Aaws%3Asns%3Ax")
        );
        let xml = "<CreateTopicResponse><CreateTopicResult><TopicArn>arn:t</TopicArn></CreateTopicResult></CreateTopicResponse>";
        assert_eq!(xml_text(xml, "TopicArn"), Some("arn:t"));
        assert_eq!(sent_at_nanos("123"), Some(123));
        assert_eq!(
            sent_at_nanos(r#"{"Type":"Notification","Message":"456"}"#),
            Some(456)
        );
        assert_eq!(sent_at_nanos("x"), None);
    }
}
