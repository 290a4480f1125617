//! `LoggingConfig` from CreateFunction and UpdateFunctionConfiguration: the log format, the
//! application and system log levels (JSON format only, as on AWS) and the log group.

use nimbus_core::ServiceError;
use nimbus_model::lambda as wire;

use crate::errors;
use crate::record::FunctionRecord;

const FORMATS: &[&str] = &["JSON", "Text"];
const APPLICATION_LEVELS: &[&str] = &["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];
const SYSTEM_LEVELS: &[&str] = &["DEBUG", "INFO", "WARN"];

fn check_enum(field: &str, value: &str, allowed: &[&str]) -> Result<(), ServiceError> {
    if allowed.contains(&value) {
        return Ok(());
    }
    Err(ServiceError::validation(
        "ValidationException",
        format!(
            "1 validation error detected: Value '{value}' at 'loggingConfig.{field}' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
            allowed.join(", ")
        ),
    ))
}

fn check_log_group(name: &str) -> Result<(), ServiceError> {
    let valid_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/' | '#'));
    if (1..=512).contains(&name.len()) && valid_chars {
        return Ok(());
    }
    Err(ServiceError::validation(
        "ValidationException",
        format!(
            "1 validation error detected: Value '{name}' at 'loggingConfig.logGroup' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+"
        ),
    ))
}

/// Applies a request's `LoggingConfig` to a record (a new one holds the defaults). Levels
/// need the JSON format; switching to text drops them.
pub(crate) fn apply(
    record: &mut FunctionRecord,
    logging: wire::LoggingConfig,
) -> Result<(), ServiceError> {
    if let Some(format) = &logging.log_format {
        check_enum("logFormat", format, FORMATS)?;
    }
    if let Some(level) = &logging.application_log_level {
        check_enum("applicationLogLevel", level, APPLICATION_LEVELS)?;
    }
    if let Some(level) = &logging.system_log_level {
        check_enum("systemLogLevel", level, SYSTEM_LEVELS)?;
    }
    if let Some(group) = &logging.log_group {
        check_log_group(group)?;
    }
    let format = logging
        .log_format
        .clone()
        .unwrap_or_else(|| record.log_format.clone());
    let sets_level = logging.application_log_level.is_some() || logging.system_log_level.is_some();
    if format == "Text" && sets_level {
        return Err(errors::invalid(
            "LogLevel is not supported when LogFormat is set to \"Text\". Remove LogLevel from your request or change the LogFormat to \"JSON\" and try again.",
        ));
    }
    if format == "Text" {
        record.application_log_level = None;
        record.system_log_level = None;
    } else {
        if logging.application_log_level.is_some() {
            record.application_log_level = logging.application_log_level;
        }
        if logging.system_log_level.is_some() {
            record.system_log_level = logging.system_log_level;
        }
    }
    record.log_format = format;
    if logging.log_group.is_some() {
        record.log_group = logging.log_group;
    }
    Ok(())
}

/// The `LoggingConfig` AWS reports: with the JSON format, levels default to INFO.
pub(crate) fn report(record: &FunctionRecord) -> wire::LoggingConfig {
    let json = record.log_format == "JSON";
    let level =
        |stored: &Option<String>| json.then(|| stored.clone().unwrap_or_else(|| "INFO".into()));
    wire::LoggingConfig {
        log_format: Some(record.log_format.clone()),
        application_log_level: level(&record.application_log_level),
        system_log_level: level(&record.system_log_level),
        log_group: Some(record.log_group()),
    }
}
