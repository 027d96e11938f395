//! The JSON report's published schema, `schemas/report.schema.json` (JSON
//! Schema 2020-12): `merge` holds its inputs to it, and the tests hold every
//! report they produce to it.

use std::sync::OnceLock;

/// The schema's text.
pub const SCHEMA: &str = include_str!("../../schemas/report.schema.json");

fn validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let schema: serde_json::Value =
            serde_json::from_str(SCHEMA).expect("the committed schema is JSON");
        jsonschema::draft202012::new(&schema).expect("the committed schema is a valid schema")
    })
}

/// Checks `report` against the schema: `Err` names the first place that
/// does not fit, as a JSON pointer (`/findings/3/severity`), and why.
pub fn validate(report: &serde_json::Value) -> Result<(), String> {
    match validator().iter_errors(report).next() {
        None => Ok(()),
        Some(e) => {
            let at = e.instance_path().to_string();
            let at = if at.is_empty() { "/".to_string() } else { at };
            let mut why = e.to_string();
            // The message quotes the value, which can be a whole report.
            if why.len() > 300 {
                let cut = (0..=300)
                    .rev()
                    .find(|i| why.is_char_boundary(*i))
                    .unwrap_or(0);
                why.truncate(cut);
                why.push('…');
            }
            Err(format!("at {at}: {why}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Report, render_json};
    use crate::rules;

    #[test]
    fn reports_validate_and_broken_ones_name_the_path() {
        let mut f = rules::PUSH_ACCESS_DENIED
            .finding("t", "m")
            .with_resources(["arn:aws:ecr:us-east-1:1:repository/a"]);
        f.suppressed = Some(crate::report::Suppression {
            reason: "known".into(),
            expires: Some("2030-01-01".into()),
            source: "c.toml:3".into(),
        });
        let report = Report::new(
            None,
            None,
            vec![f, rules::PUSH_TAG_IMMUTABLE.finding("t", "m")],
            vec![],
        );
        let mut value: serde_json::Value = serde_json::from_str(&render_json(&report)).unwrap();
        assert_eq!(validate(&value), Ok(()));
        value["findings"][1]["severity"] = "fatal".into();
        let e = validate(&value).unwrap_err();
        assert!(e.starts_with("at /findings/1/severity:"), "{e}");
        value["findings"][1]["severity"] = "error".into();
        value["summary"]["oops"] = 1.into();
        assert!(
            validate(&value).unwrap_err().starts_with("at /summary"),
            "closed counts"
        );
    }
}
