//! Every report the tests produce is held to the published schema,
//! `schemas/report.schema.json`.

use serde_json::Value;

/// Panics, naming the JSON path, when `report` does not fit the schema.
pub fn assert_valid(report: &Value) {
    if let Err(e) = ecr_fargate_preflight::report::schema::validate(report) {
        panic!("the report does not fit schemas/report.schema.json: {e}\n{report:#}");
    }
}

/// Parses a JSON report and holds it to the schema; `Value::Null` when the
/// text is no JSON (the caller's assertions say what was expected).
pub fn parse(text: &str) -> Value {
    let value: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    if !value.is_null() {
        assert_valid(&value);
    }
    value
}
