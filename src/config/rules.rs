//! The rules about the configuration file's suppressions.

use crate::report::Severity;
use crate::rules::{Meaning, Rule};

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
