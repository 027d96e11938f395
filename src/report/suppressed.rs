//! Suppressed findings in a report: counted apart, left out of the verdict,
//! and shown by every renderer in a list of their own.

use serde::{Deserialize, Serialize};

use super::{Counts, Finding, Report, Severity, Verdict};

/// Why a finding is suppressed: the `[[ignore]]` entry that accepts it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppression {
    /// The entry's `reason`.
    pub reason: String,
    /// The entry's `expires` date (`YYYY-MM-DD`), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// Where the entry is: `<file>:<line>`.
    pub source: String,
}

impl Counts {
    /// The counts of `findings`: suppressed ones only in `suppressed`.
    pub fn of<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> Counts {
        let mut c = Counts::default();
        for f in findings {
            match (f.suppressed.is_some(), f.severity) {
                (true, _) => c.suppressed += 1,
                (false, Severity::Error) => c.errors += 1,
                (false, Severity::Warning) => c.warnings += 1,
                (false, Severity::Notice) => c.notices += 1,
            }
        }
        c
    }
}

impl Report {
    /// The findings no suppression accepts.
    pub fn active(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.suppressed.is_none())
    }

    /// The suppressed findings.
    pub fn suppressed(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.suppressed.is_some())
    }

    /// The same report without its suppressed findings, when it has any:
    /// renderers show that, then the suppressed ones in a list of their own.
    pub fn without_suppressed(&self) -> Option<Report> {
        self.suppressed().next()?;
        let mut view = self.clone();
        view.findings.retain(|f| f.suppressed.is_none());
        Some(view)
    }

    /// Orders the findings (errors first, suppressed ones last) and derives
    /// the verdict and counts again, of the report and of each target, after
    /// findings were added or suppressed.
    pub fn recount(&mut self) {
        self.findings.sort_by(order);
        self.summary = Counts::of(&self.findings);
        self.verdict = Verdict::of(&self.findings);
        for t in &mut self.targets {
            let own = || self.findings.iter().filter(|f| f.targets.contains(&t.id));
            t.summary = Counts::of(own());
            t.verdict = Verdict::of(own());
        }
    }
}

/// The report's order of findings: active before suppressed, then errors
/// first, then by rule.
pub(super) fn order(a: &Finding, b: &Finding) -> std::cmp::Ordering {
    a.suppressed
        .is_some()
        .cmp(&b.suppressed.is_some())
        .then_with(|| b.severity.cmp(&a.severity))
        .then_with(|| a.rule.cmp(&b.rule))
}

/// One line per suppressed finding: `rule — title (reason; until date)`.
pub fn lines(report: &Report) -> Vec<String> {
    report
        .suppressed()
        .map(|f| {
            let s = f
                .suppressed
                .as_ref()
                .expect("suppressed() keeps suppressed findings");
            let until = s
                .expires
                .as_deref()
                .map(|e| format!("; until {e}"))
                .unwrap_or_default();
            format!("{} — {} ({}{until})", f.rule, f.title, s.reason)
        })
        .collect()
}
