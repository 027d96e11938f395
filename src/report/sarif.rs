//! SARIF 2.1.0, for `github/codeql-action/upload-sarif` (GitHub code scanning).
//!
//! One run. `tool.driver.rules` lists **every** rule the caller passes in [`SarifOptions::rules`] (the whole catalogue)
//! (not only those with results), so a rule's help is there the day it first
//! fires; results refer to their rule by `ruleId` (the stable rule id, never
//! renamed) and `ruleIndex`.
//!
//! # Severity
//!
//! | finding    | `level`   | rule `security-severity` | GitHub shows |
//! |------------|-----------|--------------------------|--------------|
//! | `error`    | `error`   | `8.0`                    | High         |
//! | `warning`  | `warning` | `5.0`                    | Medium       |
//! | `notice`   | `note`    | `2.0`                    | Low          |
//!
//! GitHub reads `security-severity` only from the rule (0.1–3.9 low, 4.0–6.9
//! medium, 7.0–8.9 high, 9.0+ critical) and only for rules tagged `security`,
//! so every rule carries that tag. None is critical: a finding says a push or
//! a task will fail (or may), not that something is exposed. A finding whose
//! severity differs from its rule's default (`with_severity`) keeps its own
//! `level`.
//!
//! # Locations
//!
//! Code scanning needs a file for every result. In order:
//! 1. the finding's own `location.file` (a policy file, a `.tf` file) with its
//!    line, made relative to the repository root
//!    ([`SarifOptions::source_root`]: `GITHUB_WORKSPACE`, else the current
//!    directory), with forward slashes, percent-encoded, `uriBaseId`
//!    `%SRCROOT%`. A file outside the root cannot be shown by GitHub, so it
//!    falls through to 2 (its path is kept in the result's properties);
//! 2. the workflow file that ran the check ([`SarifOptions::fallback_uri`],
//!    from `GITHUB_WORKFLOW_REF`), line 1: the findings are about AWS, and the
//!    workflow is the file in the repository that points the check at it;
//! 3. outside GitHub Actions, [`DEFAULT_FALLBACK_URI`] (`README.md`), line 1: a
//!    file nearly every repository has at its root, so the alert opens on a
//!    real file instead of a missing one.
//!
//! The AWS resources (ARNs, ids, the Terraform address) are the result's
//! `logicalLocations`, and `properties` carries them too, with the IAM
//! action, the endpoint service and the fix (policy statement, Terraform, AWS
//! CLI).
//!
//! # Fingerprints
//!
//! `upload-sarif` computes `partialFingerprints.primaryLocationLineHash` from
//! the file's content at the result's line and warns about every result whose
//! `primaryLocationLineHash` was supplied with another value
//! (github/codeql-action#4052; its `fingerprints.ts` warns only for that key).
//! So we never set it. But several findings of one rule on the same fallback
//! line get the same line hash and could be merged into one alert. Each result
//! therefore carries our own key, [`FINGERPRINT_KEY`]: a hash of what
//! identifies the problem — rule id, IAM action, endpoint service, Terraform
//! address and the sorted resources, never the line or the wording — with an
//! occurrence number for exact repeats. It tells GitHub the results apart and
//! stays stable when lines move, without the warning.
//!
//! # Limits
//!
//! GitHub rejects a run with more than 25,000 results, a result with more than
//! 1,000 locations, and a file over 10 MB gzipped. Each result has one
//! location; results beyond [`MAX_RESULTS`] (or beyond what fits in
//! [`MAX_GZIPPED_BYTES`]) are left out, notices first since findings are
//! ordered errors first, and the cut is stated in
//! `invocations[0].toolExecutionNotifications` (GitHub's tool status page
//! shows it) and `run.properties` (`resultsOmitted`).
//!
//! # Category
//!
//! `runAutomationDetails.id` is left out unless [`SarifOptions::category`] is
//! set: `upload-sarif` fills it from its `category` input, or from the
//! workflow, job and matrix values — which this binary cannot see — and it
//! never overwrites an id already in the file. Setting it here would make
//! matrix jobs replace each other's alerts.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Component, Path, PathBuf};

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::{Finding, Report, Severity};
use crate::rules::Rule;

/// The `$schema` of the file: the OASIS SARIF 2.1.0 schema (errata 01), the
/// one shipped in `tests/fixtures/sarif-schema-2.1.0.json`.
pub const SCHEMA_URI: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// `tool.driver.informationUri`: where users read about the tool.
pub const INFORMATION_URI: &str = "https://github.com/ecr-fargate-preflight/ecr-fargate-preflight";

/// GitHub's limit of results per run.
pub const MAX_RESULTS: usize = 25_000;

/// GitHub's limit on an uploaded SARIF file, gzipped.
pub const MAX_GZIPPED_BYTES: usize = 10 * 1024 * 1024;

/// The location of results that point at no file, when no workflow file is
/// known (outside GitHub Actions). See the module documentation.
pub const DEFAULT_FALLBACK_URI: &str = "README.md";

/// Our key in `partialFingerprints` (see the module documentation). The
/// version suffix changes if what it hashes ever changes.
pub const FINGERPRINT_KEY: &str = "ecrFargatePreflight/v1";

/// At most this many AWS resources become `logicalLocations` of one result;
/// all of them stay in the result's `properties.resources`.
const MAX_LOGICAL_LOCATIONS: usize = 50;

/// How to place results in the repository and what to add to the run.
#[derive(Debug, Clone, PartialEq)]
pub struct SarifOptions {
    /// The file results fall back to when a finding names no file in the
    /// repository: the workflow file relative to the repository root, such
    /// as `.github/workflows/deploy.yml` (see [`parse_workflow_ref`]).
    /// `None`: [`DEFAULT_FALLBACK_URI`].
    pub fallback_uri: Option<String>,
    /// The repository root that result paths are made relative to
    /// (`GITHUB_WORKSPACE`). `None`: relative paths are taken as relative to
    /// the root already, and absolute ones fall back.
    pub source_root: Option<PathBuf>,
    /// The directory relative finding paths were given from (the current
    /// directory of the run). `None`: [`SarifOptions::source_root`].
    pub working_dir: Option<PathBuf>,
    /// `runAutomationDetails.id`; leave `None` under `upload-sarif` (see the
    /// module documentation).
    pub category: Option<String>,
    /// `invocations[0].executionSuccessful`: false when the check could not
    /// run (exit code 3).
    pub execution_successful: bool,
    /// At most this many results (GitHub: [`MAX_RESULTS`]).
    pub max_results: usize,
    /// The gzipped file stays under this many bytes (GitHub: [`MAX_GZIPPED_BYTES`]).
    pub max_gzipped_bytes: usize,
    /// The rules `tool.driver.rules` lists, in order: the caller passes the
    /// whole catalogue (`crate::catalog::all`), so a reader sees every rule,
    /// not only those with results. A finding whose rule is not among them
    /// is described from the finding.
    pub rules: Vec<&'static Rule>,
}

impl Default for SarifOptions {
    fn default() -> Self {
        SarifOptions {
            fallback_uri: None,
            source_root: None,
            working_dir: None,
            category: None,
            execution_successful: true,
            max_results: MAX_RESULTS,
            max_gzipped_bytes: MAX_GZIPPED_BYTES,
            rules: Vec::new(),
        }
    }
}

/// The workflow file in a `GITHUB_WORKFLOW_REF` value:
/// `owner/repo/.github/workflows/build.yml@refs/heads/main` →
/// `.github/workflows/build.yml`. `None` for anything else, such as the
/// `dynamic/…` workflows GitHub runs itself, which are no file.
pub fn parse_workflow_ref(workflow_ref: &str) -> Option<String> {
    let mut parts = workflow_ref.splitn(3, '/');
    let (owner, repo, rest) = (parts.next()?, parts.next()?, parts.next()?);
    if owner.is_empty() || repo.is_empty() {
        return None;
    }
    // The ref follows the first `@` after the file name; a file name with an
    // `@` of its own still ends in `.yml` or `.yaml`.
    let at = rest
        .match_indices('@')
        .map(|(i, _)| i)
        .find(|&i| rest[..i].ends_with(".yml") || rest[..i].ends_with(".yaml"))?;
    let path = &rest[..at];
    let name = path.strip_prefix(".github/workflows/")?;
    if name.is_empty() || path.split('/').any(|s| s.is_empty() || s == "..") {
        return None;
    }
    Some(path.to_string())
}

/// The report as a SARIF 2.1.0 log: pretty JSON with a trailing newline.
pub fn render_sarif(report: &Report, options: &SarifOptions) -> String {
    let total = report.findings.len();
    let mut included = total.min(options.max_results);
    loop {
        let mut text = serde_json::to_string_pretty(&document(report, options, included))
            .expect("SARIF values always serialize");
        text.push('\n');
        if included == 0 || gzipped_len(&text) <= options.max_gzipped_bytes {
            return text;
        }
        // Rare (results of kilobytes each): shrink by a tenth until it fits.
        included = included * 9 / 10;
    }
}

fn gzipped_len(text: &str) -> usize {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(text.as_bytes());
    encoder.finish().map(|v| v.len()).unwrap_or(usize::MAX)
}

/// The whole log with the first `included` findings as results.
fn document(report: &Report, options: &SarifOptions, included: usize) -> Value {
    let mut rules: Vec<Value> = options.rules.iter().map(|r| rule_descriptor(r)).collect();
    let mut index: HashMap<String, usize> = options
        .rules
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id.to_string(), i))
        .collect();
    // A report from another version may name a rule this one does not know:
    // describe it from the finding, so every result resolves to a rule.
    for f in &report.findings[..included] {
        if !index.contains_key(&f.rule) {
            index.insert(f.rule.clone(), rules.len());
            rules.push(unknown_rule_descriptor(f));
        }
    }

    let mut occurrences: HashMap<String, usize> = HashMap::new();
    let results: Vec<Value> = report.findings[..included]
        .iter()
        .map(|f| {
            let identity = identity_hash(f);
            let n = occurrences.entry(identity.clone()).or_insert(0);
            *n += 1;
            result(f, index[&f.rule], &format!("{identity}:{n}"), options)
        })
        .collect();

    let omitted = report.findings.len() - included;
    let mut notifications = Vec::new();
    if omitted > 0 {
        notifications.push(json!({
            "level": "warning",
            "message": { "text": format!(
                "{omitted} of {} findings are not in this SARIF file: GitHub accepts at most {} results per run and {} MB gzipped. Findings are ordered errors first; the JSON report (--format json) has all of them.",
                report.findings.len(),
                options.max_results,
                options.max_gzipped_bytes / (1024 * 1024),
            ) },
            "descriptor": { "id": "sarif/results-omitted" },
        }));
    }
    let mut invocation = Map::new();
    invocation.insert(
        "executionSuccessful".into(),
        options.execution_successful.into(),
    );
    if !notifications.is_empty() {
        invocation.insert("toolExecutionNotifications".into(), notifications.into());
    }

    let mut run = Map::new();
    run.insert(
        "tool".into(),
        json!({ "driver": {
            "name": "ecr-fargate-preflight",
            "version": report.tool.version,
            "semanticVersion": report.tool.version,
            "informationUri": INFORMATION_URI,
            "rules": rules,
        }}),
    );
    run.insert("invocations".into(), json!([invocation]));
    if let Some(root) = options.source_root.as_deref().and_then(directory_uri) {
        run.insert(
            "originalUriBaseIds".into(),
            json!({ "%SRCROOT%": { "uri": root } }),
        );
    }
    if let Some(category) = options.category.as_deref().filter(|c| !c.is_empty()) {
        run.insert("automationDetails".into(), json!({ "id": category }));
    }
    run.insert("results".into(), results.into());
    run.insert(
        "properties".into(),
        json!({
            "verdict": report.verdict,
            "errors": report.summary.errors,
            "warnings": report.summary.warnings,
            "notices": report.summary.notices,
            "resultsOmitted": omitted,
        }),
    );

    json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [run],
    })
}

/// GitHub's level for a severity.
pub fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Notice => "note",
    }
}

/// The `security-severity` of a rule of this default severity (see the
/// module documentation).
pub fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "8.0",
        Severity::Warning => "5.0",
        Severity::Notice => "2.0",
    }
}

/// `push/access-denied` → `PushAccessDenied`: SARIF's `name` is an identifier.
fn pascal_case(id: &str) -> String {
    id.split(['/', '-'])
        .filter(|s| !s.is_empty())
        .map(|s| {
            let mut c = s.chars();
            c.next()
                .map(|first| first.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn tags(id: &str) -> Vec<String> {
    let area = id.split('/').next().unwrap_or(id);
    let mut tags = vec!["security".to_string(), "aws".to_string(), area.to_string()];
    match area {
        "push" => tags.push("ecr".into()),
        "network" => tags.extend(["ecs".to_string(), "fargate".to_string()]),
        "policy" | "credentials" => tags.push("iam".into()),
        _ => {}
    }
    tags
}

fn rule_descriptor(rule: &Rule) -> Value {
    json!({
        "id": rule.id,
        "name": pascal_case(rule.id),
        "shortDescription": { "text": rule.what },
        "fullDescription": { "text": format!("{} {}", rule.what, rule.why) },
        "help": {
            "text": format!(
                "What it checks: {}\n\nWhy it matters: {}\n\nHow to fix: {}\n\nMore: {} and {}",
                rule.what, rule.why, rule.fix, rule.page_url(), rule.docs
            ),
            "markdown": format!(
                "**What it checks.** {}\n\n**Why it matters.** {}\n\n**How to fix.** {}\n\n[Rule page]({}) · [Documentation]({})",
                rule.what, rule.why, rule.fix, rule.page_url(), rule.docs
            ),
        },
        // The rule's own page first; the AWS page is in the help text.
        "helpUri": rule.page_url(),
        "defaultConfiguration": { "level": level(rule.severity) },
        "properties": {
            "security-severity": security_severity(rule.severity),
            "tags": tags(rule.id),
        },
    })
}

fn unknown_rule_descriptor(finding: &Finding) -> Value {
    let mut rule = json!({
        "id": finding.rule,
        "name": pascal_case(&finding.rule),
        "shortDescription": { "text": finding.rule },
        "defaultConfiguration": { "level": level(finding.severity) },
        "properties": {
            "security-severity": security_severity(finding.severity),
            "tags": tags(&finding.rule),
        },
    });
    if finding.docs.starts_with("https://") {
        rule["helpUri"] = finding.docs.clone().into();
    }
    rule
}

/// What identifies the problem, not where or how it is worded.
fn identity_hash(f: &Finding) -> String {
    let mut resources: Vec<&str> = f.resources.iter().map(String::as_str).collect();
    resources.sort_unstable();
    resources.dedup();
    let mut h = Sha256::new();
    for part in [
        f.rule.as_str(),
        f.iam_action.as_deref().unwrap_or(""),
        f.endpoint_service.as_deref().unwrap_or(""),
        f.location
            .as_ref()
            .and_then(|l| l.address.as_deref())
            .unwrap_or(""),
    ]
    .into_iter()
    .chain(resources)
    {
        h.update(part.as_bytes());
        h.update([0]);
    }
    let mut hex = String::with_capacity(32);
    for b in &h.finalize()[..16] {
        let _ = write!(hex, "{b:02x}");
    }
    hex
}

fn message(f: &Finding) -> String {
    let mut text = f.title.trim().to_string();
    let body = f.message.trim();
    if !body.is_empty() && body != text {
        text.push_str("\n\n");
        text.push_str(body);
    }
    if let Some(fix) = f.fix.as_ref().map(|x| x.description.trim())
        && !fix.is_empty()
    {
        text.push_str("\n\nFix: ");
        text.push_str(fix);
    }
    if text.is_empty() {
        // SARIF requires a message; GitHub shows it as the alert's text.
        text = f.rule.clone();
    }
    text
}

fn result(f: &Finding, rule_index: usize, fingerprint: &str, options: &SarifOptions) -> Value {
    let mut properties = Map::new();
    properties.insert("title".into(), f.title.clone().into());
    properties.insert("resources".into(), f.resources.clone().into());
    if let Some(a) = &f.iam_action {
        properties.insert("iamAction".into(), a.clone().into());
    }
    if let Some(s) = &f.endpoint_service {
        properties.insert("endpointService".into(), s.clone().into());
    }
    if let Some(fix) = &f.fix {
        properties.insert(
            "fix".into(),
            serde_json::to_value(fix).expect("fixes always serialize"),
        );
    }
    if !f.docs.is_empty() {
        properties.insert("docs".into(), f.docs.clone().into());
    }

    let own_file = f.location.as_ref().and_then(|l| l.file.as_deref());
    let own = own_file.and_then(|file| repo_relative(file, options));
    let (uri, line, source) = match own {
        Some(uri) => {
            let line = f.location.as_ref().and_then(|l| l.line).unwrap_or(1);
            (uri, line.max(1), "finding")
        }
        None => {
            if let Some(file) = own_file {
                // Kept so the user still learns which file it was.
                properties.insert("file".into(), file.to_string().into());
            }
            match options
                .fallback_uri
                .as_deref()
                .and_then(repo_relative_clean)
            {
                Some(workflow) => (workflow, 1, "workflow"),
                None => (encode_path(DEFAULT_FALLBACK_URI), 1, "default"),
            }
        }
    };
    properties.insert("locationSource".into(), source.into());

    let mut logical: Vec<Value> = Vec::new();
    if let Some(address) = f.location.as_ref().and_then(|l| l.address.as_deref()) {
        logical.push(json!({ "fullyQualifiedName": address, "kind": "resource" }));
    }
    logical.extend(
        f.resources
            .iter()
            .filter(|r| !r.is_empty())
            .map(|r| json!({ "fullyQualifiedName": r, "kind": "resource" })),
    );
    logical.truncate(MAX_LOGICAL_LOCATIONS);

    let mut location = json!({
        "physicalLocation": {
            "artifactLocation": { "uri": uri, "uriBaseId": "%SRCROOT%" },
            "region": { "startLine": line },
        },
    });
    if !logical.is_empty() {
        location["logicalLocations"] = logical.into();
    }

    let mut result = json!({
        "ruleId": f.rule,
        "ruleIndex": rule_index,
        "level": level(f.severity),
        "message": { "text": message(f) },
        "locations": [location],
        "partialFingerprints": { FINGERPRINT_KEY: fingerprint },
        "properties": properties,
    });
    // An accepted finding: code scanning shows it as dismissed, with why.
    if let Some(s) = &f.suppressed {
        result["suppressions"] = json!([{ "kind": "external", "justification": s.reason }]);
    }
    result
}

/// Characters escaped in a URI path segment: controls, non-ASCII (always),
/// and what would end or change the meaning of a relative reference.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'[')
    .add(b']')
    .add(b'^')
    .add(b'|')
    .add(b'\\')
    .add(b':');

fn encode_path(path: &str) -> String {
    path.split('/')
        .map(|s| utf8_percent_encode(s, SEGMENT).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

/// Resolves `.` and `..` without touching the file system. `None` when `..`
/// climbs above the start of a relative path.
fn lexical(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    let mut depth = 0usize;
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if depth == 0 {
                    return None;
                }
                out.pop();
                depth -= 1;
            }
            Component::Normal(s) => {
                out.push(s);
                depth += 1;
            }
            Component::RootDir | Component::Prefix(_) => out.push(c.as_os_str()),
        }
    }
    Some(out)
}

/// A finding's file as a `%SRCROOT%`-relative, percent-encoded URI, or
/// `None` when it is not inside the repository root.
fn repo_relative(file: &str, options: &SarifOptions) -> Option<String> {
    let file = file.trim().replace('\\', "/");
    if file.is_empty() || file.contains("://") {
        return None;
    }
    let path = Path::new(&file);
    let joined = match (
        path.is_absolute(),
        &options.working_dir,
        &options.source_root,
    ) {
        (true, _, _) => path.to_path_buf(),
        (false, Some(wd), _) => wd.join(path),
        (false, None, Some(root)) => root.join(path),
        (false, None, None) => path.to_path_buf(),
    };
    let normalized = lexical(&joined)?;
    let relative = match &options.source_root {
        Some(root) => normalized.strip_prefix(lexical(root)?).ok()?.to_path_buf(),
        None if normalized.is_absolute() => return None,
        None => normalized,
    };
    repo_relative_clean(relative.to_str()?)
}

/// A path already relative to the root: forward slashes, no `.`/`..`, no
/// leading `/` or `./`, percent-encoded. `None` if it leaves the root or is empty.
fn repo_relative_clean(path: &str) -> Option<String> {
    let path = path.trim().replace('\\', "/");
    if path.starts_with('/') {
        return None;
    }
    let normalized = lexical(Path::new(&path))?;
    let segments: Vec<&str> = normalized
        .components()
        .map(|c| match c {
            Component::Normal(s) => s.to_str(),
            _ => None,
        })
        .collect::<Option<_>>()?;
    if segments.is_empty() {
        return None;
    }
    Some(encode_path(&segments.join("/")))
}

/// `file:///github/workspace/` for `%SRCROOT%`, when the root is absolute.
fn directory_uri(root: &Path) -> Option<String> {
    url::Url::from_directory_path(lexical(root)?)
        .ok()
        .map(String::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_ref_gives_the_workflow_file() {
        assert_eq!(
            parse_workflow_ref("octo/app/.github/workflows/build.yml@refs/heads/main").as_deref(),
            Some(".github/workflows/build.yml")
        );
        assert_eq!(
            parse_workflow_ref("octo/app/.github/workflows/deploy.yaml@refs/pull/7/merge")
                .as_deref(),
            Some(".github/workflows/deploy.yaml")
        );
        // A ref with an `@` of its own, and a file name with one.
        assert_eq!(
            parse_workflow_ref("o/r/.github/workflows/a.yml@refs/heads/user@fix").as_deref(),
            Some(".github/workflows/a.yml")
        );
        assert_eq!(
            parse_workflow_ref("o/r/.github/workflows/x@y.yml@refs/tags/v1").as_deref(),
            Some(".github/workflows/x@y.yml")
        );
    }

    #[test]
    fn workflow_ref_rejects_what_is_no_workflow_file() {
        for bad in [
            "",
            "octo",
            "octo/app",
            "octo/app/.github/workflows/build.yml",
            "octo/app/dynamic/github-code-scanning/codeql@refs/heads/main",
            "octo/app/.github/workflows/@refs/heads/main",
            "octo/app/.github/workflows/../../x.yml@refs/heads/main",
            "octo/app/other/build.yml@refs/heads/main",
            "/app/.github/workflows/build.yml@refs/heads/main",
        ] {
            assert_eq!(parse_workflow_ref(bad), None, "{bad}");
        }
    }

    fn opts(root: &str, wd: &str) -> SarifOptions {
        SarifOptions {
            source_root: Some(PathBuf::from(root)),
            working_dir: Some(PathBuf::from(wd)),
            ..SarifOptions::default()
        }
    }

    #[test]
    fn paths_become_root_relative_uris() {
        let o = opts("/github/workspace", "/github/workspace");
        let cases = [
            ("policies/push.json", Some("policies/push.json")),
            ("./policies/push.json", Some("policies/push.json")),
            ("/github/workspace/infra/main.tf", Some("infra/main.tf")),
            ("infra\\modules\\ecr.tf", Some("infra/modules/ecr.tf")),
            ("a/../b/./c.json", Some("b/c.json")),
            ("my policy #1.json", Some("my%20policy%20%231.json")),
            ("règle.json", Some("r%C3%A8gle.json")),
            ("C:/x.json", Some("C%3A/x.json")),
            ("/tmp/elsewhere.json", None),
            ("../outside.json", None),
            ("/github/workspace", None),
            ("", None),
            ("https://example.com/x.json", None),
        ];
        for (file, want) in cases {
            assert_eq!(repo_relative(file, &o).as_deref(), want, "{file}");
        }
        // From a subdirectory of the root.
        let sub = opts("/github/workspace", "/github/workspace/deploy");
        assert_eq!(
            repo_relative("policy.json", &sub).as_deref(),
            Some("deploy/policy.json")
        );
        assert_eq!(
            repo_relative("../iam/p.json", &sub).as_deref(),
            Some("iam/p.json")
        );
        // Without a root, relative paths are taken as they are.
        let none = SarifOptions::default();
        assert_eq!(
            repo_relative("./a/b.json", &none).as_deref(),
            Some("a/b.json")
        );
        assert_eq!(repo_relative("/abs/b.json", &none), None);
    }

    #[test]
    fn pascal_case_names() {
        assert_eq!(pascal_case("push/access-denied"), "PushAccessDenied");
        assert_eq!(
            pascal_case("credentials/live-checks-skipped"),
            "CredentialsLiveChecksSkipped"
        );
    }

    #[test]
    fn security_severity_is_in_githubs_bands() {
        let band = |s: Severity| security_severity(s).parse::<f64>().unwrap();
        assert!((7.0..9.0).contains(&band(Severity::Error)), "high");
        assert!((4.0..7.0).contains(&band(Severity::Warning)), "medium");
        assert!((0.1..4.0).contains(&band(Severity::Notice)), "low");
    }
}
