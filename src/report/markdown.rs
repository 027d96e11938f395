//! GitHub-flavoured markdown: verdict and counts first, then a findings
//! table, a collapsible block per finding with its fix, and the trace.

use std::fmt::Write;

use super::{Finding, Report, Verdict};

/// Escapes text that came from AWS or the user so it cannot inject markdown or HTML.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '|' => out.push_str("\\|"),
            '\n' | '\r' => out.push(' '),
            '\\' | '`' | '*' | '_' | '[' | ']' | '#' | '!' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// A fenced code block whose fence cannot be closed by the content: its
/// backtick run is longer than any run in `body`. Ends with a newline.
pub fn fenced(lang: &str, body: &str) -> String {
    let longest = body
        .split(|c| c != '`')
        .map(str::len)
        .max()
        .unwrap_or(0)
        .max(2);
    let fence = "`".repeat(longest + 1);
    format!("{fence}{lang}\n{body}\n{fence}\n")
}

/// Renders the report.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let verdict = match report.verdict {
        Verdict::Pass => "✅ pass",
        Verdict::Fail => "❌ fail",
        Verdict::NotVerified => "❔ not verified",
    };
    let _ = writeln!(out, "## ECR Fargate preflight: {verdict}\n");
    let _ = writeln!(
        out,
        "**{}** error(s), **{}** warning(s), **{}** notice(s)\n",
        report.summary.errors, report.summary.warnings, report.summary.notices
    );
    if let Some(p) = &report.push {
        let _ = writeln!(
            out,
            "Push probe ({}) of `{}` at {} for {}: {} requests, {} sequential round trips, {} ms.\n",
            escape(&p.mode),
            escape(&p.repository),
            escape(&p.registry),
            escape(&p.platforms.join(", ")),
            p.requests,
            p.critical_path_round_trips,
            p.wall_ms
        );
    }
    if let Some(n) = &report.network {
        let _ = writeln!(
            out,
            "Network ({}, {}): {} workload(s), {} API calls, {} ms.\n\n| workload | subnet | AZ | egress |\n|---|---|---|---|",
            escape(&n.source),
            escape(&n.region),
            n.workloads.len(),
            n.api_calls,
            n.wall_ms
        );
        for w in &n.workloads {
            for s in &w.subnets {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} |",
                    escape(&w.name),
                    escape(&s.id),
                    s.availability_zone
                        .as_deref()
                        .map(escape)
                        .unwrap_or_default(),
                    escape(&s.egress)
                );
            }
        }
        out.push('\n');
    }
    if let Some(id) = &report.identity {
        let _ = writeln!(
            out,
            "Identity: {} ({})\n",
            escape(&id.arn),
            escape(&id.source)
        );
    }
    if report.targets.is_empty() {
        if !report.findings.is_empty() {
            let findings: Vec<&Finding> = report.findings.iter().collect();
            write_findings(&mut out, &findings);
        }
    } else {
        write_targets(&mut out, report);
    }
    if !report.trace.is_empty() {
        let _ = writeln!(
            out,
            "<details><summary>Request trace ({} requests)</summary>\n\n| # | depth | request | status | IAM action | ms |\n|---|---|---|---|---|---|",
            report.trace.len()
        );
        for (i, t) in report.trace.iter().enumerate() {
            let _ = writeln!(
                out,
                "| {} | {} | {} {} | {} | {} | {} |",
                i + 1,
                t.depth,
                escape(&t.method),
                escape(&t.path),
                t.status.map_or_else(|| "—".into(), |s| s.to_string()),
                t.iam_action.as_deref().map(escape).unwrap_or_default(),
                t.ms
            );
        }
        let _ = writeln!(out, "\n</details>");
    }
    out
}

/// The findings table, then a collapsible block per finding with its fix.
fn write_findings(out: &mut String, findings: &[&Finding]) {
    let _ = writeln!(
        out,
        "| severity | rule | finding | IAM action | resources |\n|---|---|---|---|---|"
    );
    for f in findings {
        let _ = writeln!(
            out,
            "| {} | [{}]({}) | {} | {} | {} |",
            f.severity.as_str(),
            escape(&f.rule),
            f.docs,
            escape(&f.title),
            f.iam_action.as_deref().map(escape).unwrap_or_default(),
            f.resources
                .iter()
                .map(|r| escape(r))
                .collect::<Vec<_>>()
                .join("<br>")
        );
    }
    out.push('\n');
    for f in findings {
        let _ = writeln!(
            out,
            "<details><summary>{}: {}</summary>\n\n{}\n",
            f.severity.as_str(),
            escape(&f.title),
            escape(&f.message)
        );
        if let Some(l) = &f.location {
            let _ = writeln!(
                out,
                "**Where:** {}{}{}\n",
                l.file.as_deref().map(escape).unwrap_or_default(),
                l.line.map(|n| format!(":{n}")).unwrap_or_default(),
                l.address
                    .as_deref()
                    .map(|a| format!(" ({})", escape(a)))
                    .unwrap_or_default()
            );
        }
        if let Some(fix) = &f.fix {
            let _ = writeln!(out, "**Fix:** {}\n", escape(&fix.description));
            if let Some(s) = &fix.policy_statement {
                out.push_str(&fenced(
                    "json",
                    &serde_json::to_string_pretty(s).unwrap_or_default(),
                ));
            }
            if let Some(t) = &fix.terraform {
                out.push_str(&fenced("hcl", t));
            }
            if let Some(c) = &fix.aws_cli {
                out.push_str(&fenced("sh", c));
            }
        }
        let _ = writeln!(out, "\n</details>\n");
    }
}

/// A table of the targets of an `audit` or `merge` report, then the findings
/// grouped by the resource (or resources) they belong to.
fn write_targets(out: &mut String, report: &Report) {
    let _ = writeln!(
        out,
        "| target | verdict | errors | warnings | notices |\n|---|---|---|---|---|"
    );
    for t in &report.targets {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            escape(&t.label()),
            match t.verdict {
                Verdict::Pass => "✅ pass",
                Verdict::Fail => "❌ fail",
                Verdict::NotVerified => "❔ not verified",
            },
            t.summary.errors,
            t.summary.warnings,
            t.summary.notices
        );
    }
    out.push('\n');
    for (targets, findings) in report.grouped() {
        let heading = if targets.is_empty() {
            "General".to_string()
        } else {
            targets
                .iter()
                .map(|t| escape(&t.label()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(out, "### {heading}\n");
        write_findings(out, &findings);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_injection() {
        assert_eq!(escape("<img src=x>|a"), "&lt;img src=x&gt;\\|a");
        assert_eq!(escape("[x](javascript:1)"), "\\[x\\](javascript:1)");
        assert!(fenced("sh", "a ``` b").starts_with("````sh"));
    }
}
