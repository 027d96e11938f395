//! GitHub-flavoured markdown: verdict and counts first, then a findings
//! table, a collapsible block per finding with its fix, and the trace.

use std::fmt::Write;

use super::{Finding, NetworkSummary, Report, Verdict, paths};

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

/// `url` when it is an http(s) URL that can stand inside a markdown link
/// (no blanks, parentheses, quotes or angle brackets), else `None`. A
/// finding's `docs` is ours in a `check`, but `merge` reads it from JSON
/// anyone could have written.
pub fn safe_url(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let ok = matches!(parsed.scheme(), "http" | "https")
        && !url
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "()<>\"'`".contains(c));
    ok.then(|| url.to_string())
}

/// `[rule](docs)` when the docs link is safe, else the escaped rule alone.
pub fn rule_link(finding: &Finding) -> String {
    // The rule's page when the finding has one, else the AWS page.
    let first = finding.docs_links.first().unwrap_or(&finding.docs);
    match safe_url(first).or_else(|| safe_url(&finding.docs)) {
        Some(url) => format!("[{}]({url})", escape(&finding.rule)),
        None => escape(&finding.rule),
    }
}

/// One finding's collapsible block — evidence, resources, IAM action,
/// location, fix snippets — as the job summary and the pull-request
/// comment both show it. Everything from AWS, the repository or a merged
/// report is escaped, and the docs link is kept only when [`safe_url`].
pub fn finding_details(out: &mut String, f: &Finding) {
    let _ = writeln!(
        out,
        "<details><summary>{}: {} — {}</summary>\n\n{}\n",
        f.severity.as_str(),
        escape(&f.rule),
        escape(&f.title),
        escape(&f.message)
    );
    if !f.resources.is_empty() {
        let resources: Vec<String> = f.resources.iter().map(|r| escape(r)).collect();
        let _ = writeln!(out, "**Resources:** {}\n", resources.join(", "));
    }
    if let Some(action) = &f.iam_action {
        let _ = writeln!(out, "**IAM action:** {}\n", escape(action));
    }
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
            out.push_str("Policy statement:\n\n");
            out.push_str(&fenced(
                "json",
                &serde_json::to_string_pretty(s).unwrap_or_default(),
            ));
        }
        if let Some(t) = &fix.terraform {
            out.push_str("\nTerraform:\n\n");
            out.push_str(&fenced("hcl", t));
        }
        if let Some(c) = &fix.aws_cli {
            out.push_str("\nAWS CLI:\n\n");
            out.push_str(&fenced("sh", c));
        }
    }
    let links: Vec<String> = f
        .docs_links
        .iter()
        .filter_map(|l| safe_url(l))
        .map(|l| format!("<{l}>"))
        .collect();
    if !links.is_empty() {
        let _ = writeln!(out, "**Docs:** {}\n", links.join(" · "));
    }
    let _ = writeln!(out, "\n</details>\n");
}

/// The network's path diagrams as Mermaid flowcharts under a `### Paths`
/// heading: at most `max` of them, and only as many whole diagrams as fit in
/// `budget` characters, so a size-limited body (the pull-request comment)
/// never cuts one in half; a line says how many were left out. Nothing when
/// there are none.
pub fn path_diagrams(out: &mut String, n: &NetworkSummary, max: usize, budget: usize) {
    if n.paths.is_empty() {
        return;
    }
    let mut section = String::from(
        "### Paths\n\nHow each distinct network shape reaches the services its tasks need (subnet → route table → endpoint or gateway → service); dotted red links are broken, labelled with the rules that found them.\n\n",
    );
    let mut left_out = n.omitted_paths;
    for (i, d) in n.paths.iter().enumerate() {
        let mut one = format!(
            "**{}** ({} workload(s)):\n\n",
            escape(&d.who()),
            d.workload_count()
        );
        one.push_str(&fenced("mermaid", paths::mermaid(d).trim_end()));
        one.push('\n');
        if i >= max || section.encode_utf16().count() + one.encode_utf16().count() > budget {
            left_out += n.paths.len() - i;
            break;
        }
        section.push_str(&one);
    }
    if left_out > 0 {
        let _ = writeln!(
            section,
            "{left_out} more network shape(s) are not drawn here; the JSON report lists them under `network.paths`.\n"
        );
    }
    out.push_str(&section);
}

/// Renders the report.
pub fn render(report: &Report) -> String {
    if let Some(view) = report.without_suppressed() {
        return render(&view) + &suppressed(report);
    }
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
    if let Some(b) = &report.build {
        let _ = writeln!(out, "Build: {}.\n", escape(&b.line()));
    }
    if let Some(t) = &report.trust {
        let _ = writeln!(
            out,
            "OIDC trust: {}.\n",
            escape(&super::text::trust_line(t))
        );
    }
    if let Some(p) = &report.push {
        let _ = writeln!(
            out,
            "Push probe ({}) of `{}` at {} for {}: {} requests, {}, {} ms.\n",
            escape(&p.mode),
            escape(&p.repository),
            escape(&p.registry),
            escape(&p.platforms.join(", ")),
            p.requests,
            p.round_trips(),
            p.wall_ms
        );
    }
    if let Some(n) = &report.network {
        let _ = writeln!(
            out,
            "Network ({}, {}): {} workload(s), {} API calls, {} ms.\n\n| workload | subnet | AZ | egress |\n|---|---|---|---|",
            escape(&n.source),
            escape(&n.region),
            n.workload_count(),
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
        path_diagrams(&mut out, n, usize::MAX, usize::MAX);
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
            "| {} | {} | {} | {} | {} |",
            f.severity.as_str(),
            rule_link(f),
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
        finding_details(out, f);
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

/// The suppressed findings as a collapsed markdown block (empty when there
/// are none), for the job summary and the pull-request comment.
pub fn suppressed(report: &Report) -> String {
    let suppressed: Vec<&Finding> = report.suppressed().collect();
    if suppressed.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "<details><summary>{} suppressed finding(s)</summary>\n\n| severity | rule | finding | reason | expires |\n|---|---|---|---|---|\n",
        suppressed.len()
    );
    for f in suppressed {
        let s = f
            .suppressed
            .as_ref()
            .expect("suppressed() keeps suppressed findings");
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            f.severity.as_str(),
            rule_link(f),
            escape(&f.title),
            escape(&s.reason),
            s.expires.as_deref().map(escape).unwrap_or_default()
        ));
    }
    out.push_str("\n</details>\n\n");
    out
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

    /// A merged report's `docs` is anyone's JSON: the summary links it only
    /// when it is a plain http(s) URL, as the comment does.
    #[test]
    fn a_hostile_docs_link_is_not_rendered_as_a_link() {
        for docs in [
            "javascript:alert(1)",
            "https://x.example/a) [click](https://evil.example",
            "data:text/html,<script>",
        ] {
            let mut f = crate::rules::PUSH_ACCESS_DENIED.finding("t", "m");
            f.docs = docs.to_string();
            f.docs_links = vec![docs.to_string(), docs.to_string()];
            let report = Report::new(None, None, vec![f], vec![]);
            let md = render(&report);
            assert!(!md.contains(&format!("]({docs})")), "{docs}: {md}");
            assert!(!md.contains("](javascript:"), "{md}");
            assert!(!md.contains("](data:"), "{md}");
        }
        let f = crate::rules::PUSH_ACCESS_DENIED.finding("t", "m");
        let page = f.docs_links[0].clone();
        let md = render(&Report::new(None, None, vec![f], vec![]));
        assert!(
            md.contains(&format!("]({page})")),
            "our own rule page link stays: {md}"
        );
        assert!(md.contains(&format!("<{}>", crate::rules::PUSH_ACCESS_DENIED.docs)));
    }
}
