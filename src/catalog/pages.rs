//! The rule pages, `docs/rules/<area>/<name>.md`: one per rule, generated
//! from the catalogue (what, why, an example finding, the fix, references),
//! so the documentation cannot drift from the code. `ecr-fargate-preflight
//! rules <ID>` prints one; a test regenerates them all and fails when the
//! committed files differ (`EFP_WRITE_RULE_PAGES=1 cargo test --workspace
//! --lib rule_pages` writes them).

use std::fmt::Write as _;

use crate::rules::{Meaning, Rule};

/// The directory of the pages, relative to the repository root.
pub const DIR: &str = "docs/rules";

/// A rule page's path relative to the repository root.
pub fn path(rule: &Rule) -> String {
    format!("{DIR}/{}.md", rule.id)
}

/// A rule's page, as markdown.
pub fn page(rule: &Rule) -> String {
    let (area, _) = rule.id.split_once('/').unwrap_or(("", rule.id));
    let meaning = match rule.meaning {
        Meaning::Defect => {
            "a defect: something checked is wrong (an error makes the verdict `fail`)"
        }
        Meaning::NotVerified => {
            "not verified: something could not be checked (the verdict cannot be `pass`)"
        }
    };
    let example = rule.finding(
        format!("<one line naming what {} found>", rule.id),
        "<the evidence: what was checked, what failed and why>",
    );
    let json = serde_json::to_string_pretty(&serde_json::json!({
        "rule": example.rule,
        "severity": example.severity,
        "title": example.title,
        "message": example.message,
        "resources": ["<the resources involved: ARNs, ids, references>"],
        "fix": { "description": rule.fix },
        "docs": example.docs,
        "docs_links": example.docs_links,
    }))
    .unwrap_or_default();
    let mut out = String::new();
    let _ = writeln!(out, "# `{}`\n", rule.id);
    let _ = writeln!(
        out,
        "Area: `{area}` · severity: **{}** · {meaning}.\n",
        rule.severity.as_str()
    );
    let _ = writeln!(out, "## What it checks\n\n{}\n", rule.what);
    let _ = writeln!(out, "## Why it matters\n\n{}\n", rule.why);
    let _ = writeln!(
        out,
        "## Example finding\n\nIn the text report:\n\n```text\n{}[{}] {}\n  {}\n  fix: {}\n  docs: {}\n```\n",
        rule.severity.as_str(),
        rule.id,
        example.title,
        example.message,
        rule.fix,
        example.docs_links.join(", ")
    );
    let _ = writeln!(
        out,
        "In the JSON report (`--format json`):\n\n```json\n{json}\n```\n"
    );
    let _ = writeln!(out, "## How to fix\n\n{}\n", rule.fix);
    let _ = writeln!(
        out,
        "To accept the finding knowingly instead, suppress it in `.ecr-fargate-preflight.toml` ([configuration](../../configuration.md)):\n\n```toml\n[[ignore]]\nrule = \"{}\"\nresource = \"<a resource of the finding; * matches anything>\"\nreason = \"<why it is accepted>\"\nexpires = 2030-12-31\n```\n",
        rule.id
    );
    let _ = writeln!(
        out,
        "## References\n\n- {}\n- [All rules](../README.md)",
        rule.docs
    );
    out
}

/// The index page, `docs/rules/README.md`: every rule with its page.
pub fn index() -> String {
    let mut out = String::from(
        "# Rules\n\nOne page per rule, generated from the rule catalogue (`ecr-fargate-preflight rules <ID>` prints one in the terminal).\n\n| id | severity | what |\n|---|---|---|\n",
    );
    for r in super::all() {
        let _ = writeln!(
            out,
            "| [`{}`]({}.md) | {} | {} |",
            r.id,
            r.id,
            r.severity.as_str(),
            r.what
        );
    }
    out
}

/// Every generated file: `(path relative to the repository root, text)`.
pub fn files() -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = super::all().map(|r| (path(r), page(r))).collect();
    files.push((format!("{DIR}/README.md"), index()));
    files
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// The committed pages are what the catalogue generates, and no page
    /// is left of a rule that no longer exists.
    #[test]
    fn rule_pages_are_current() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let write = std::env::var_os("EFP_WRITE_RULE_PAGES").is_some();
        let files = files();
        let mut stale = Vec::new();
        for (path, text) in &files {
            let on_disk = std::fs::read_to_string(root.join(path)).unwrap_or_default();
            if on_disk != *text {
                if write {
                    std::fs::create_dir_all(root.join(path).parent().unwrap()).unwrap();
                    std::fs::write(root.join(path), text).unwrap();
                } else {
                    stale.push(path.clone());
                }
            }
        }
        assert!(
            stale.is_empty(),
            "rule pages out of date: {stale:?}; regenerate with `EFP_WRITE_RULE_PAGES=1 cargo test --workspace --lib rule_pages`"
        );
        let mut extra = Vec::new();
        let mut stack = vec![root.join(DIR)];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let p = entry.path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                    if !files.iter().any(|(f, _)| *f == rel) {
                        extra.push(rel);
                    }
                }
            }
        }
        assert!(extra.is_empty(), "pages of no rule: {extra:?}");
    }

    #[test]
    fn a_page_has_every_section_and_links_its_references() {
        let rule = crate::catalog::by_id("network/endpoint-missing").unwrap();
        let page = page(rule);
        for heading in [
            "# `network/endpoint-missing`",
            "## What it checks",
            "## Why it matters",
            "## Example finding",
            "## How to fix",
            "## References",
        ] {
            assert!(page.contains(heading), "{heading} missing:\n{page}");
        }
        assert!(page.contains(rule.docs));
        assert!(page.contains(rule.what) && page.contains(rule.why) && page.contains(rule.fix));
        assert_eq!(path(rule), "docs/rules/network/endpoint-missing.md");
    }
}
