//! The comment's body, rendered from the report: pure, no I/O. The
//! marker that finds the comment again, the verdict, the findings table and
//! their details (shared with the job summary), the footer, and the fitting
//! under GitHub's size limit.

use std::fmt::Write;

use sha2::{Digest, Sha256};

use super::*;
use crate::github::summary::{Measure, fit_markdown};
use crate::report::{
    Report, Severity, Verdict, escape_markdown, finding_details, path_diagrams, rule_link,
};

/// One part of the marker's key, made safe inside an HTML comment: letters,
/// digits and `._+=@/` are kept, a `-` is kept but never doubled (`--` would
/// end the comment), everything else becomes `_`, and it is cut to 100
/// characters.
pub(super) fn sanitize_key_part(part: &str) -> String {
    let mut out = String::new();
    for c in part.trim().chars().take(100) {
        let c = if c.is_alphanumeric() || "._+=@/-".contains(c) {
            c
        } else {
            '_'
        };
        if c == '-' && out.ends_with('-') {
            continue;
        }
        out.push(c);
    }
    out
}

/// The hidden marker of the comment for `workflow` and `job`, with the
/// caller's `key` telling apart matrix legs and targets of the same job:
/// `<!-- ecr-fargate-preflight:WORKFLOW:JOB[:KEY] -->`. Each part is
/// sanitized (no `:`, no `--`, no `>`), so one job's marker is never a
/// prefix of another's and cannot close the HTML comment.
pub fn marker(workflow: &str, job: &str, key: Option<&str>) -> String {
    let mut m = format!(
        "{MARKER_PREFIX}{}:{}",
        sanitize_key_part(workflow),
        sanitize_key_part(job)
    );
    if let Some(key) = key.map(str::trim).filter(|k| !k.is_empty()) {
        let _ = write!(m, ":{}", sanitize_key_part(key));
    }
    m.push_str(" -->");
    m
}

/// A comment key for a job's targets: the first 12 hex digits of a SHA-256
/// over the `(name, value)` pairs (repository, cluster, region, role,
/// command …), followed by `.` and `comment_key` when the user gave one. Two
/// matrix legs that check different targets get different keys, and so
/// different comments; the same targets on a re-run get the same key.
pub fn discriminator(targets: &[(&str, &str)], comment_key: Option<&str>) -> String {
    let mut hash = Sha256::new();
    for (name, value) in targets {
        // Lengths first, so ("a", "bc") and ("ab", "c") differ.
        hash.update(format!("{}:{}:{name}{value}\n", name.len(), value.len()));
    }
    let digest = hash.finalize();
    let mut key: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    if let Some(user) = comment_key.map(str::trim).filter(|k| !k.is_empty()) {
        key.push('.');
        key.push_str(user);
    }
    key
}

/// The icon and word of a severity.
pub(super) fn severity_label(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "❌ error",
        Severity::Warning => "⚠️ warning",
        Severity::Notice => "ℹ️ notice",
    }
}

/// The heading: verdict first.
pub(super) fn headline(report: &Report) -> &'static str {
    match report.verdict {
        Verdict::Fail => "## ❌ ECR Fargate preflight: fail",
        Verdict::Pass if report.summary.warnings > 0 => {
            "## ⚠️ ECR Fargate preflight: pass, with warnings"
        }
        Verdict::Pass => "## ✅ ECR Fargate preflight: pass",
        Verdict::NotVerified => "## ❔ ECR Fargate preflight: not verified",
    }
}

/// The comment's content between marker and footer, with at most
/// [`MAX_COMMENT_FINDINGS`] findings.
pub(super) fn content(report: &Report, ctx: &CommentContext, run_url: Option<&str>) -> String {
    if let Some(view) = report.without_suppressed() {
        return content(&view, ctx, run_url) + &crate::report::suppressed_markdown(report);
    }
    let mut out = String::new();
    let _ = writeln!(out, "{}\n", headline(report));
    let c = report.summary;
    let _ = write!(
        out,
        "**{}** error(s), **{}** warning(s), **{}** notice(s)",
        c.errors, c.warnings, c.notices
    );
    if let Some(sha) = ctx.commit() {
        let _ = write!(out, " at {}", escape_markdown(short_sha(sha)));
    }
    out.push_str(".\n\n");
    if let Some(build) = &report.build {
        let _ = writeln!(out, "Build: {}.\n", escape_markdown(&build.line()));
    }
    if let Some(trust) = &report.trust {
        let _ = writeln!(
            out,
            "OIDC trust: {}.\n",
            escape_markdown(&crate::report::trust_line(trust))
        );
    }
    if report.findings.is_empty() {
        out.push_str(
            "No findings: the push and the checked task networking work as configured.\n\n",
        );
        diagrams(&mut out, report);
        return out;
    }
    let shown = &report.findings[..report.findings.len().min(MAX_COMMENT_FINDINGS)];
    out.push_str("| severity | rule | finding | resource |\n|---|---|---|---|\n");
    for f in shown {
        let resources: Vec<String> = f.resources.iter().map(|r| escape_markdown(r)).collect();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            severity_label(f.severity),
            rule_link(f),
            escape_markdown(&f.title),
            resources.join("<br>")
        );
    }
    let hidden = report.findings.len() - shown.len();
    if hidden > 0 {
        let _ = writeln!(
            out,
            "\n{hidden} more finding(s) are not listed here; {}.",
            summary_pointer(run_url)
        );
    }
    out.push('\n');
    diagrams(&mut out, report);
    for f in shown {
        finding_details(&mut out, f);
    }
    out
}

/// The network's path diagrams, as many whole ones as the comment's budget holds.
fn diagrams(out: &mut String, report: &Report) {
    if let Some(n) = &report.network {
        path_diagrams(out, n, MAX_COMMENT_DIAGRAMS, COMMENT_DIAGRAM_BUDGET);
    }
}

/// "the full report is in the job summary", linked to the run when known.
pub(super) fn summary_pointer(run_url: Option<&str>) -> String {
    match run_url {
        Some(url) => format!("the full report is in the [job summary]({url})"),
        None => "the full report is in the job summary".to_string(),
    }
}

/// The first 7 characters of a commit id.
pub(super) fn short_sha(sha: &str) -> &str {
    sha.get(..7).unwrap_or(sha)
}

/// The footer: commit, run link, where the full report is.
pub(super) fn footer(ctx: &CommentContext, run_url: Option<&str>) -> String {
    let mut parts = Vec::new();
    if let Some(sha) = ctx.commit() {
        parts.push(format!("commit {}", escape_markdown(short_sha(sha))));
    }
    if !ctx.workflow.is_empty() || !ctx.job.is_empty() {
        parts.push(format!(
            "{} / {}",
            escape_markdown(&ctx.workflow),
            escape_markdown(&ctx.job)
        ));
    }
    if let Some(url) = run_url {
        let attempt = ctx
            .run_attempt
            .as_deref()
            .map(|a| format!(" (attempt {})", escape_markdown(a)))
            .unwrap_or_default();
        parts.push(format!("[workflow run]({url}){attempt}"));
    }
    parts.push(format!(
        "full report in the job summary · {} {}",
        env!("CARGO_PKG_NAME"),
        env!("CARGO_PKG_VERSION")
    ));
    format!("\n---\n<sub>{}</sub>\n", parts.join(" · "))
}

/// The comment body fitted into `limit` as counted by `measure`: marker
/// first (so the comment is found again even when cut), content cut with a
/// visible notice linking to the job summary, footer last.
pub(super) fn render_fitted(
    report: &Report,
    ctx: &CommentContext,
    limit: usize,
    measure: Measure,
) -> String {
    let run_url = ctx.run_url();
    let head = format!("{}\n", ctx.marker);
    let footer = footer(ctx, run_url.as_deref());
    let content = content(report, ctx, run_url.as_deref());
    let hidden = report.active().count().saturating_sub(MAX_COMMENT_FINDINGS);
    let budget = limit.saturating_sub(measure.of(&head) + measure.of(&footer));
    let body = fit_markdown(&content, budget, measure, |cut| {
        format!(
            "\n> ✂️ **Truncated** to fit GitHub's comment limit: {} finding(s) not shown; {}.\n",
            cut + hidden,
            summary_pointer(run_url.as_deref())
        )
    });
    format!("{head}{body}{footer}")
}

/// The comment's markdown for `report`: the hidden marker, the verdict and
/// counts, a table of findings (severity, rule, finding, resource), a
/// `<details>` block per finding with its evidence and fix, and a footer with
/// the commit and a link to the run. Everything that came from AWS or the
/// repository is escaped. At most [`COMMENT_LIMIT`] characters (counted as
/// UTF-16 code units, never fewer than GitHub's count), cut visibly with a
/// pointer to the job summary, with every code fence and `<details>` closed.
pub fn render_comment(report: &Report, ctx: &CommentContext) -> String {
    render_fitted(report, ctx, COMMENT_LIMIT, Measure::Utf16)
}
