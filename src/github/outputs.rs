//! Step outputs (`GITHUB_OUTPUT`): `verdict`, `errors`, `warnings` and `report`.

use std::fmt;
use std::io::Write;
use std::path::Path;

use crate::report::Report;

/// A multi-line output whose name or value contains its heredoc delimiter,
/// so it cannot be written without ending early. Such an output is skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DelimiterCollision {
    /// The output's name.
    pub name: String,
}

impl fmt::Display for DelimiterCollision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "output {:?} contains its delimiter; it is not set",
            self.name
        )
    }
}

impl std::error::Error for DelimiterCollision {}

/// A fresh heredoc delimiter, as the toolkit makes them: `ghadelimiter_<uuid v4>`.
pub fn new_delimiter() -> String {
    format!("ghadelimiter_{}", uuid::Uuid::new_v4())
}

/// One output in the `GITHUB_OUTPUT` file format, ending with a newline:
/// `name=value` for a single-line value, else `name<<DELIM`, the value and
/// `DELIM` on lines of their own. A multi-line output whose name or value
/// contains `delimiter` is rejected. `name` is one of ours: it has no `=`
/// and no line break.
pub fn format_output(
    name: &str,
    value: &str,
    delimiter: &str,
) -> Result<String, DelimiterCollision> {
    if !value.contains(['\n', '\r']) {
        return Ok(format!("{name}={value}\n"));
    }
    if name.contains(delimiter) || value.contains(delimiter) {
        return Err(DelimiterCollision {
            name: name.to_string(),
        });
    }
    Ok(format!("{name}<<{delimiter}\n{value}\n{delimiter}\n"))
}

/// The outputs of a check: `verdict` (`pass`, `fail` or `not-verified`), `errors` and
/// `warnings` (counts), and `report` (the `--output` path) when one was written.
pub fn check_outputs(report: &Report, report_path: Option<&Path>) -> Vec<(&'static str, String)> {
    let mut outputs = vec![
        ("verdict", report.verdict.as_str().to_string()),
        ("errors", report.summary.errors.to_string()),
        ("warnings", report.summary.warnings.to_string()),
    ];
    if let Some(path) = report_path {
        outputs.push(("report", path.display().to_string()));
    }
    outputs
}

/// Appends `outputs` to the `GITHUB_OUTPUT` file at `path`, each with a fresh
/// delimiter. An output that collides with its delimiter is skipped with a
/// `warning:` on stderr; the others are still written.
pub fn write_outputs(path: &Path, outputs: &[(&str, String)]) -> std::io::Result<()> {
    let mut text = String::new();
    for (name, value) in outputs {
        match format_output(name, value, &new_delimiter()) {
            Ok(line) => text.push_str(&line),
            Err(e) => crate::console::err(&format!("warning: {e}")),
        }
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    file.write_all(text.as_bytes())?;
    file.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "ghadelimiter_0000";

    #[test]
    fn single_line_is_name_equals_value() {
        assert_eq!(
            format_output("verdict", "fail", D).unwrap(),
            "verdict=fail\n"
        );
        assert_eq!(format_output("errors", "", D).unwrap(), "errors=\n");
    }

    #[test]
    fn multi_line_uses_a_heredoc() {
        assert_eq!(
            format_output("report", "a\nb", D).unwrap(),
            "report<<ghadelimiter_0000\na\nb\nghadelimiter_0000\n"
        );
        assert!(
            format_output("report", "a\rb", D)
                .unwrap()
                .starts_with("report<<")
        );
    }

    #[test]
    fn rejects_a_value_containing_the_delimiter() {
        let err = format_output("report", "a\nghadelimiter_0000\nx=y", D).unwrap_err();
        assert_eq!(err.name, "report");
    }

    #[test]
    fn delimiters_are_random_and_prefixed() {
        let (a, b) = (new_delimiter(), new_delimiter());
        assert!(a.starts_with("ghadelimiter_") && a.len() == "ghadelimiter_".len() + 36);
        assert_ne!(a, b);
    }

    #[test]
    fn check_outputs_omit_report_without_a_path() {
        let report = Report::new(None, None, vec![], vec![]);
        let names =
            |o: Vec<(&'static str, String)>| o.into_iter().map(|(n, _)| n).collect::<Vec<_>>();
        assert_eq!(
            names(check_outputs(&report, None)),
            ["verdict", "errors", "warnings"]
        );
        let with = check_outputs(&report, Some(Path::new("out.json")));
        assert_eq!(with[0], ("verdict", "pass".to_string()));
        assert_eq!(with[3], ("report", "out.json".to_string()));
    }

    #[test]
    fn a_check_that_could_not_look_outputs_not_verified() {
        let finding = crate::rules::PUSH_REGISTRY_UNREACHABLE.finding("t", "m");
        let report = Report::new(None, None, vec![finding], vec![]);
        assert_eq!(
            check_outputs(&report, None)[0],
            ("verdict", "not-verified".to_string())
        );
    }

    #[test]
    fn appends_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("output");
        std::fs::write(&path, "x=1\n").unwrap();
        write_outputs(
            &path,
            &[("verdict", "pass".into()), ("report", "a\nb".into())],
        )
        .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("x=1\nverdict=pass\nreport<<ghadelimiter_"),
            "{text}"
        );
        let delimiter = text
            .lines()
            .nth(2)
            .unwrap()
            .strip_prefix("report<<")
            .unwrap();
        assert!(text.ends_with(&format!("\na\nb\n{delimiter}\n")), "{text}");
    }
}
