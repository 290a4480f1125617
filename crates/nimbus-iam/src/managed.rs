//! AWS-managed policies (`arn:aws:iam::aws:policy/…`). nimbus does not carry AWS's
//! catalogue: any such ARN may be attached, and a short list of the ones serverless
//! templates use most is what `ListPolicies` shows under the `AWS` scope (plus any other
//! AWS policy attached in the account).

/// Paths and names of the AWS-managed policies listed without being attached.
pub const COMMON: &[(&str, &str)] = &[
    ("/", "AdministratorAccess"),
    ("/", "PowerUserAccess"),
    ("/", "ReadOnlyAccess"),
    ("/", "AmazonSQSFullAccess"),
    ("/", "AmazonSQSReadOnlyAccess"),
    ("/", "AmazonSNSFullAccess"),
    ("/", "AmazonDynamoDBFullAccess"),
    ("/", "AmazonS3FullAccess"),
    ("/", "AmazonS3ReadOnlyAccess"),
    ("/", "AmazonEventBridgeFullAccess"),
    ("/", "CloudWatchFullAccess"),
    ("/", "CloudWatchLogsFullAccess"),
    ("/", "AWSLambda_FullAccess"),
    ("/", "AWSXRayDaemonWriteAccess"),
    ("/service-role/", "AWSLambdaBasicExecutionRole"),
    ("/service-role/", "AWSLambdaDynamoDBExecutionRole"),
    ("/service-role/", "AWSLambdaSQSQueueExecutionRole"),
    ("/service-role/", "AWSLambdaVPCAccessExecutionRole"),
    ("/service-role/", "AWSLambdaRole"),
    ("/service-role/", "AmazonAPIGatewayPushToCloudWatchLogs"),
];

const PREFIX: &str = "arn:aws:iam::aws:policy";

/// When AWS-managed policies say they were created: a fixed date, since nimbus has none.
pub const CREATED_AT_MS: i64 = 1_423_248_000_000;

/// The ARN of an AWS-managed policy.
pub fn arn(path: &str, name: &str) -> String {
    format!("{PREFIX}{path}{name}")
}

/// The path and name of an AWS-managed policy ARN, or `None` for any other text.
pub fn parse(arn: &str) -> Option<(String, String)> {
    let rest = arn.strip_prefix(PREFIX)?;
    if !rest.starts_with('/') {
        return None;
    }
    let split = rest.rfind('/')?;
    let (path, name) = rest.split_at(split + 1);
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
    valid.then(|| (path.to_owned(), name.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_policy_arns() {
        assert_eq!(
            parse("arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"),
            Some((
                "/service-role/".into(),
                "AWSLambdaBasicExecutionRole".into()
            ))
        );
        assert_eq!(
            parse("arn:aws:iam::aws:policy/AWSLambdaBasicExecutionRole"),
            Some(("/".into(), "AWSLambdaBasicExecutionRole".into()))
        );
        for bad in [
            "arn:aws:iam::aws:policy/",
            "arn:aws:iam::aws:policyX",
            "arn:aws:iam::123456789012:policy/x",
            "arn:aws:iam::aws:policy/a b",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
        for (path, name) in COMMON {
            assert_eq!(
                parse(&arn(path, name)),
                Some(((*path).into(), (*name).into()))
            );
        }
    }
}
