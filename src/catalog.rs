//! The catalogue of every rule, on top of the areas: it imports each
//! area's rules (push and general in [`crate::rules`], network in
//! [`crate::network::rules`], offline in [`crate::policy::flows`], audit),
//! and nothing below the commands imports it, so the rule registry never
//! closes an import cycle. Renderers that list every rule (SARIF) are
//! handed [`all`] by their caller.
//!
//! Rule ids are public API: scripts filter on them and SARIF keys on them.
//! Never rename one; add a new rule instead. The README's rule table is
//! generated from [`all`] (`ecr-fargate-preflight rules --markdown`) and a
//! test fails when the two drift.

pub mod pages;

use crate::rules::{AUDIT, GENERAL, Meaning, PUSH, Rule};

/// Every rule, in the order the README lists them: push, network, general.
pub fn all() -> impl Iterator<Item = &'static Rule> {
    PUSH.iter()
        .chain(crate::network::rules::RULES)
        .chain(crate::policy::flows::RULES)
        .chain(crate::build::rules::RULES)
        .chain(crate::trust::rules::RULES)
        .chain(AUDIT)
        .chain(GENERAL)
        .chain(crate::config::rules::RULES)
}

/// The rule with this id.
pub fn by_id(id: &str) -> Option<&'static Rule> {
    all().find(|r| r.id == id)
}

/// The README's rule table, as markdown.
pub fn markdown_table() -> String {
    let mut out = String::from("| id | severity | what | why | fix |\n|---|---|---|---|---|\n");
    for r in all() {
        let severity = match r.meaning {
            Meaning::Defect => r.severity.as_str().to_string(),
            Meaning::NotVerified => format!("{} (not verified)", r.severity.as_str()),
        };
        // The rule's page (which links the AWS documentation in turn).
        out.push_str(&format!(
            "| [`{}`]({}) | {} | {} | {} | {} |\n",
            r.id,
            pages::path(r),
            severity,
            r.what,
            r.why,
            r.fix
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_and_well_formed() {
        let mut seen = HashSet::new();
        for r in all() {
            assert!(seen.insert(r.id), "duplicate rule id {}", r.id);
            let (area, name) = r.id.split_once('/').expect("area/name");
            assert!(!area.is_empty() && !name.is_empty(), "{}", r.id);
            assert!(
                r.id.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '/'),
                "{} is not kebab-case",
                r.id
            );
            assert!(r.docs.starts_with("https://"), "{} has no docs link", r.id);
        }
    }

    #[test]
    fn readme_rule_table_is_current() {
        let readme = include_str!("../README.md");
        let table = markdown_table();
        assert!(
            readme.contains(&table),
            "README.md's rule table is out of date; replace it with the output of `ecr-fargate-preflight rules --markdown`"
        );
    }
}
