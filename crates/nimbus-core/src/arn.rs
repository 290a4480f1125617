//! Amazon Resource Names.

/// Builds `arn:aws:<service>:<region>:<account>:<resource>`.
pub fn build(service: &str, region: &str, account: &str, resource: &str) -> String {
    format!("arn:aws:{service}:{region}:{account}:{resource}")
}

/// The parts of an ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arn<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

/// Splits an ARN into its parts; `None` when it is not one.
pub fn parse(arn: &str) -> Option<Arn<'_>> {
    let mut parts = arn.splitn(6, ':');
    if parts.next()? != "arn" {
        return None;
    }
    let arn = Arn {
        partition: parts.next()?,
        service: parts.next()?,
        region: parts.next()?,
        account: parts.next()?,
        resource: parts.next()?,
    };
    (!arn.partition.is_empty() && !arn.service.is_empty()).then_some(arn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let s = build("sqs", "us-east-1", "000000000000", "jobs");
        assert_eq!(s, "arn:aws:sqs:us-east-1:000000000000:jobs");
        let a = parse(&s).unwrap();
        assert_eq!(
            (a.service, a.region, a.account, a.resource),
            ("sqs", "us-east-1", "000000000000", "jobs")
        );
        assert!(parse("nope").is_none());
        assert!(parse("arn:aws:sqs").is_none());
    }
}
