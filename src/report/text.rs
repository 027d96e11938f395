//! The compact text report for terminals and CI logs.

use std::fmt::Write;

use anstyle::{AnsiColor, Style};

use super::{Finding, Report, Severity, Verdict};

fn paint(on: bool, style: Style, text: &str) -> String {
    if on {
        format!("{style}{text}{style:#}")
    } else {
        text.to_string()
    }
}

fn severity_style(s: Severity) -> Style {
    match s {
        Severity::Error => AnsiColor::Red.on_default().bold(),
        Severity::Warning => AnsiColor::Yellow.on_default().bold(),
        Severity::Notice => AnsiColor::Cyan.on_default(),
    }
}

/// Renders the report; `color` adds ANSI styles.
pub fn render(report: &Report, color: bool) -> String {
    if let Some(view) = report.without_suppressed() {
        let mut out = render(&view, color);
        let lines = super::suppressed::lines(report);
        let _ = writeln!(out, "\nsuppressed ({}):", lines.len());
        for line in lines {
            let _ = writeln!(out, "  {line}");
        }
        return out;
    }
    let mut out = String::new();
    let verdict = match report.verdict {
        Verdict::Pass => paint(color, AnsiColor::Green.on_default().bold(), "PASS"),
        Verdict::Fail => paint(color, AnsiColor::Red.on_default().bold(), "FAIL"),
        Verdict::NotVerified => paint(color, AnsiColor::Yellow.on_default().bold(), "NOT VERIFIED"),
    };
    let _ = writeln!(
        out,
        "ecr-fargate-preflight {}: {verdict} ({} error(s), {} warning(s), {} notice(s))",
        report.tool.version, report.summary.errors, report.summary.warnings, report.summary.notices
    );
    if let Some(id) = &report.identity {
        let _ = writeln!(out, "  identity  {} ({})", id.arn, id.source);
    }
    if let Some(b) = &report.build {
        let _ = writeln!(out, "  build     {}", b.line());
    }
    if let Some(t) = &report.trust {
        let _ = writeln!(out, "  trust     {}", trust_line(t));
    }
    if let Some(p) = &report.push {
        let _ = writeln!(
            out,
            "  push      {} {} → {}",
            p.mode, p.repository, p.registry
        );
        let _ = writeln!(
            out,
            "            tag {}, platforms {}, {} requests, {}, {} ms, cleaned up: {}",
            p.tag.as_deref().unwrap_or("-"),
            p.platforms.join(","),
            p.requests,
            p.round_trips(),
            p.wall_ms,
            if p.cleaned_up { "yes" } else { "no" }
        );
    }
    if let Some(n) = &report.network {
        let _ = writeln!(
            out,
            "  network   {} in {}: {} workload(s), {} API calls, {} ms",
            n.source,
            n.region,
            n.workload_count(),
            n.api_calls,
            n.wall_ms
        );
        for w in &n.workloads {
            let subnets: Vec<String> = w
                .subnets
                .iter()
                .map(|s| format!("{} {}", s.id, s.egress))
                .collect();
            let _ = writeln!(
                out,
                "            {} ({}{}): {}",
                w.name,
                if w.fargate { "Fargate" } else { "not Fargate" },
                w.platform_version
                    .as_deref()
                    .map(|p| format!(" {p}"))
                    .unwrap_or_default(),
                subnets.join(", ")
            );
        }
        for d in &n.paths {
            let _ = writeln!(
                out,
                "  paths of {} ({} workload(s)):",
                d.who(),
                d.workload_count()
            );
            out.push_str(&super::paths::text(d, "            "));
        }
        if n.omitted_paths > 0 {
            let _ = writeln!(
                out,
                "  ({} more network shape(s) in the JSON report)",
                n.omitted_paths
            );
        }
    }
    if report.targets.is_empty() {
        for f in &report.findings {
            write_finding(&mut out, f, color);
        }
    } else {
        write_targets(&mut out, report, color);
    }
    if !report.trace.is_empty() {
        let _ = writeln!(out, "\ntrace (depth method status ms action path):");
        for t in &report.trace {
            let status = t
                .status
                .map_or_else(|| "---".to_string(), |s| s.to_string());
            let status = if t.status.is_some_and(|s| s < 400) {
                status
            } else {
                paint(color, AnsiColor::Red.on_default(), &status)
            };
            let _ = writeln!(
                out,
                "  {:>2} {:<6} {} {:>5} {:<45} {}{}",
                t.depth,
                t.method,
                status,
                t.ms,
                t.iam_action.as_deref().unwrap_or("-"),
                t.path,
                t.error
                    .as_deref()
                    .map(|e| format!("  ({e})"))
                    .unwrap_or_default()
            );
        }
    }
    out
}

/// One finding: severity, rule and title, then the message, place, fix and docs.
fn write_finding(out: &mut String, f: &Finding, color: bool) {
    let _ = writeln!(out);
    let head = format!("{}[{}]", f.severity.as_str(), f.rule);
    let _ = writeln!(
        out,
        "{} {}",
        paint(color, severity_style(f.severity), &head),
        f.title
    );
    let _ = writeln!(out, "  {}", f.message);
    if let Some(l) = &f.location {
        let place = match (&l.file, l.line) {
            (Some(file), Some(line)) => format!("{file}:{line}"),
            (Some(file), None) => file.clone(),
            _ => String::new(),
        };
        let address = l
            .address
            .as_deref()
            .map(|a| format!(" ({a})"))
            .unwrap_or_default();
        let _ = writeln!(out, "  at: {place}{address}");
    }
    if let Some(fix) = &f.fix {
        let _ = writeln!(out, "  fix: {}", fix.description);
        if let Some(statement) = &fix.policy_statement {
            let _ = writeln!(out, "  statement: {statement}");
        }
        if let Some(cli) = &fix.aws_cli {
            let _ = writeln!(out, "  cli: {cli}");
        }
    }
    if let Some(t) = &f
        .fix
        .as_ref()
        .and_then(|x| x.terraform.as_ref())
        .filter(|_| f.rule.starts_with("network/"))
    {
        let _ = writeln!(out, "  terraform:\n    {}", t.replace('\n', "\n    "));
    }
    if f.docs_links.is_empty() {
        let _ = writeln!(out, "  docs: {}", f.docs);
    } else {
        let _ = writeln!(out, "  docs: {}", f.docs_links.join(", "));
    }
}

/// The targets of an `audit` or `merge` report, one line each, then the
/// findings grouped by the target (or targets) they belong to.
fn write_targets(out: &mut String, report: &Report, color: bool) {
    let _ = writeln!(out, "  targets   {}", report.targets.len());
    for t in &report.targets {
        let verdict = match t.verdict {
            Verdict::Pass => paint(color, AnsiColor::Green.on_default(), "pass"),
            Verdict::Fail => paint(color, AnsiColor::Red.on_default(), "fail"),
            Verdict::NotVerified => paint(color, AnsiColor::Yellow.on_default(), "not-verified"),
        };
        let mut detail = Vec::new();
        if let Some(p) = &t.push {
            detail.push(format!("push {} ({} requests)", p.mode, p.requests));
        }
        if let Some(n) = &t.network {
            detail.push(format!("{} workload(s)", n.workload_count()));
        }
        let _ = writeln!(
            out,
            "            {verdict} {} — {} error(s), {} warning(s), {} notice(s){}",
            t.label(),
            t.summary.errors,
            t.summary.warnings,
            t.summary.notices,
            if detail.is_empty() {
                String::new()
            } else {
                format!("; {}", detail.join(", "))
            }
        );
    }
    for (targets, findings) in report.grouped() {
        let heading = if targets.is_empty() {
            "general".to_string()
        } else {
            targets
                .iter()
                .map(|t| t.label())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(out, "\n== {heading}");
        for f in findings {
            write_finding(out, f, color);
        }
    }
}

/// The trust check in one line: the role, the subject this job presents
/// (from its token, or predicted), the trust policy judged.
pub(crate) fn trust_line(t: &super::TrustSummary) -> String {
    use crate::trust::claims::ClaimsOrigin;
    let subject = match t.claims.as_ref() {
        Some(c) => {
            let origin = match c.origin {
                ClaimsOrigin::Token => "from the job's token",
                ClaimsOrigin::Predicted => "predicted",
            };
            match &c.sub {
                Some(sub) => format!("subject {sub} ({origin}), audience {}", c.aud.join(", ")),
                None => format!("subject unknown ({origin})"),
            }
        }
        None => "no claims".to_string(),
    };
    let policy = t
        .trust_policy
        .as_deref()
        .map_or("no trust policy read".to_string(), |p| {
            format!("trust policy {p}")
        });
    format!("{}: {subject}; {policy}", t.role)
}
