//! The rules about the configuration file's suppressions.

use crate::report::{Finding, Fix, Location, Severity};
use crate::rules::{Meaning, Rule};

use super::suppress::{Date, Ignore};

const DOCS: &str = "https://github.com/ecr-fargate-preflight/ecr-fargate-preflight/blob/main/docs/configuration.md#suppressions";

/// An `[[ignore]]` entry whose `expires` date has passed.
pub const SUPPRESSION_EXPIRED: Rule = Rule {
    id: "config/suppression-expired",
    severity: Severity::Warning,
    meaning: Meaning::Defect,
    what: "An `[[ignore]]` entry of `.ecr-fargate-preflight.toml` has passed its `expires` date; it no longer suppresses anything.",
    why: "A finding was accepted for a while; the findings it covered count again, and the entry should be renewed on purpose or removed.",
    fix: "Fix what the entry suppressed and remove the entry, or set a new `expires` date with a reason that still holds.",
    docs: DOCS,
};

/// An `[[ignore]]` entry that matched no finding.
pub const SUPPRESSION_UNUSED: Rule = Rule {
    id: "config/suppression-unused",
    severity: Severity::Notice,
    meaning: Meaning::Defect,
    what: "An `[[ignore]]` entry of `.ecr-fargate-preflight.toml` matched no finding of this run.",
    why: "The problem it accepted is gone (or the entry's `rule` or `resource` is mistyped); a stale entry would silently hide the problem if it came back.",
    fix: "Remove the entry, or correct its `rule` and `resource` pattern.",
    docs: DOCS,
};

/// The configuration rules, for the catalogue.
pub const RULES: &[Rule] = &[SUPPRESSION_EXPIRED, SUPPRESSION_UNUSED];

fn describe(ignore: &Ignore) -> String {
    match &ignore.resource {
        Some(r) => format!("`{}` on `{r}`", ignore.rule),
        None => format!("`{}`", ignore.rule),
    }
}

fn located(f: Finding, file: &str, ignore: &Ignore) -> Finding {
    f.with_resources([format!("{file}:{}", ignore.line)])
        .with_location(Some(Location {
            file: Some(file.to_string()),
            line: Some(ignore.line),
            address: None,
        }))
}

/// The finding of an expired entry.
pub fn expired(ignore: &Ignore, file: &str, on: Date) -> Finding {
    let f = SUPPRESSION_EXPIRED
        .finding(
            format!("Suppression of {} expired on {on}", describe(ignore)),
            format!(
                "The entry at {file}:{} expired on {on}; the findings it covered count again.",
                ignore.line
            ),
        )
        .with_fix(Fix {
            description: SUPPRESSION_EXPIRED.fix.to_string(),
            ..Fix::default()
        });
    located(f, file, ignore)
}

/// The finding of an entry that matched nothing.
pub fn unused(ignore: &Ignore, file: &str) -> Finding {
    let f = SUPPRESSION_UNUSED
        .finding(
            format!("Suppression of {} matched no finding", describe(ignore)),
            format!(
                "The entry at {file}:{} matched no finding of this run.",
                ignore.line
            ),
        )
        .with_fix(Fix {
            description: SUPPRESSION_UNUSED.fix.to_string(),
            ..Fix::default()
        });
    located(f, file, ignore)
}
