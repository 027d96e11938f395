//! The JSON report: the [`Report`] type serialized as is (see README for the schema).

use super::Report;

/// Pretty-printed JSON, with a trailing newline.
pub fn render(report: &Report) -> String {
    let mut s = serde_json::to_string_pretty(report).expect("reports always serialize");
    s.push('\n');
    s
}
