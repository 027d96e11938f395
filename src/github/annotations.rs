//! Workflow-command annotations (`::error`, `::warning`, `::notice`) for the
//! findings of a report, with the toolkit's escaping and GitHub's caps.

use crate::report::{Finding, Report, Severity};

/// At most this many `::error` annotations are shown per step (GitHub's limit).
pub const MAX_ERRORS: usize = 10;
/// At most this many `::warning` annotations are shown per step (GitHub's limit).
pub const MAX_WARNINGS: usize = 10;
/// At most this many `::notice` annotations are printed. GitHub documents no
/// limit for notices; 10 is our own choice, to match the other two.
pub const MAX_NOTICES: usize = 10;

pub use crate::console::{escape_data, escape_property};

/// One annotation line for a finding, without the trailing newline.
/// `file` and `line` are set only when the finding's location names a file.
pub fn annotation(finding: &Finding) -> String {
    use crate::console::{Command, format_command};
    let mut props = Vec::new();
    if let Some(loc) = &finding.location
        && let Some(file) = &loc.file
    {
        props.push(("file", file.clone()));
        if let Some(line) = loc.line {
            props.push(("line", line.to_string()));
        }
    }
    props.push(("title", format!("{}: {}", finding.rule, finding.title)));
    let command = match finding.severity {
        Severity::Error => Command::Error,
        Severity::Warning => Command::Warning,
        Severity::Notice => Command::Notice,
    };
    format_command(command, &props, &finding.message)
}

/// The annotation lines for a report's findings, in the report's order
/// (errors first), without trailing newlines. At most [`MAX_ERRORS`] errors,
/// [`MAX_WARNINGS`] warnings and [`MAX_NOTICES`] notices; the findings left
/// out are counted in one extra `::notice::` line pointing to the job summary.
pub fn annotations(report: &Report) -> Vec<String> {
    let (mut errors, mut warnings, mut notices, mut overflow) = (0, 0, 0, 0);
    let mut lines = Vec::new();
    // Suppressed findings are accepted: listed in the summary, not annotated.
    for finding in report.active() {
        let (count, cap) = match finding.severity {
            Severity::Error => (&mut errors, MAX_ERRORS),
            Severity::Warning => (&mut warnings, MAX_WARNINGS),
            Severity::Notice => (&mut notices, MAX_NOTICES),
        };
        if *count < cap {
            *count += 1;
            lines.push(annotation(finding));
        } else {
            overflow += 1;
        }
    }
    if overflow > 0 {
        lines.push(crate::console::format_command(
            crate::console::Command::Notice,
            &[("title", "ecr-fargate-preflight".to_string())],
            &format!("{overflow} more findings are in the job summary"),
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Location;

    fn finding(severity: Severity, location: Option<Location>) -> Finding {
        Finding {
            rule: "push/access-denied".into(),
            severity,
            title: "Denied, really".into(),
            message: "100% denied\r\nsee: a,b".into(),
            resources: vec![],
            omitted_resources: 0,
            iam_action: None,
            endpoint_service: None,
            fix: None,
            location,
            docs: String::new(),
            docs_links: Vec::new(),
            targets: Vec::new(),
            meaning: Default::default(),
            suppressed: None,
        }
    }

    #[test]
    fn suppressed_findings_are_not_annotated() {
        let mut accepted = finding(Severity::Error, None);
        accepted.suppressed = Some(crate::report::Suppression {
            reason: "known".into(),
            expires: None,
            source: "c.toml:1".into(),
        });
        let r = report(vec![accepted, finding(Severity::Warning, None)]);
        let lines = annotations(&r);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].starts_with("::warning "), "{lines:?}");
    }

    fn report(findings: Vec<Finding>) -> Report {
        Report::new(None, None, findings, vec![])
    }

    #[test]
    fn escapes_message_and_properties() {
        assert_eq!(escape_data("a%b\rc\nd:e,f"), "a%25b%0Dc%0Ad:e,f");
        assert_eq!(escape_property("a%b\rc\nd:e,f"), "a%25b%0Dc%0Ad%3Ae%2Cf");
        let loc = Location {
            file: Some("pol,icy:1.json".into()),
            line: Some(7),
            address: None,
        };
        assert_eq!(
            annotation(&finding(Severity::Error, Some(loc))),
            "::error file=pol%2Cicy%3A1.json,line=7,title=push/access-denied%3A Denied%2C really::100%25 denied%0D%0Asee: a,b"
        );
    }

    #[test]
    fn file_and_line_only_when_known() {
        let none = annotation(&finding(Severity::Warning, None));
        assert!(none.starts_with("::warning title="), "{none}");
        let address_only = Location {
            file: None,
            line: Some(3),
            address: Some("aws_iam_role.x".into()),
        };
        let a = annotation(&finding(Severity::Notice, Some(address_only)));
        assert!(a.starts_with("::notice title="), "{a}");
        let file_only = Location {
            file: Some("main.tf".into()),
            line: None,
            address: None,
        };
        let f = annotation(&finding(Severity::Notice, Some(file_only)));
        assert!(f.starts_with("::notice file=main.tf,title="), "{f}");
    }

    #[test]
    fn caps_each_severity_and_counts_the_overflow() {
        let mut all = Vec::new();
        for _ in 0..12 {
            all.push(finding(Severity::Error, None));
        }
        for _ in 0..11 {
            all.push(finding(Severity::Warning, None));
        }
        for _ in 0..3 {
            all.push(finding(Severity::Notice, None));
        }
        let lines = annotations(&report(all));
        let count = |p: &str| lines.iter().filter(|l| l.starts_with(p)).count();
        assert_eq!(count("::error "), 10);
        assert_eq!(count("::warning "), 10);
        assert_eq!(count("::notice "), 4, "three notices and the overflow");
        assert_eq!(
            lines.last().unwrap(),
            "::notice title=ecr-fargate-preflight::3 more findings are in the job summary"
        );
        assert_eq!(lines.len(), 24);
    }

    #[test]
    fn no_overflow_notice_under_the_caps() {
        let lines = annotations(&report(vec![
            finding(Severity::Error, None),
            finding(Severity::Notice, None),
        ]));
        assert_eq!(lines.len(), 2);
        assert!(lines.iter().all(|l| !l.starts_with("::notice::")));
        assert!(annotations(&report(vec![])).is_empty());
    }
}
