//! The `merge` command, and the folding of many targets into one report that
//! `audit` shares: reports of matrix jobs (one account or region each) in,
//! one report out, its findings de-duplicated across targets.
//!
//! One bad input aborts the merge (exit 2, naming the file): a merged report
//! that silently left out an account would vouch for what nobody checked.
//! Only in a directory are JSON files that are not this tool's reports (a
//! saved snapshot, another action's artifact) skipped, with a warning.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::error::UsageError;
use crate::report::{
    Finding, Identity, Meaning, Report, SCHEMA_VERSION, Target, TargetKind, TraceEntry,
};

/// This tool's name, as every report's `tool.name` carries it.
pub const TOOL_NAME: &str = env!("CARGO_PKG_NAME");

/// Reads every report named by `inputs`, in order: files as given,
/// directories searched recursively for `*.json` (sorted by path). The same
/// file reached twice (named twice, or through a link) and a directory that
/// links back into itself are refused: a report counted twice would count
/// its findings twice.
pub fn load(inputs: &[PathBuf]) -> Result<Vec<(PathBuf, Report)>, UsageError> {
    let mut out = Vec::new();
    let mut seen: HashMap<PathBuf, PathBuf> = HashMap::new();
    let mut once = |file: &Path| -> Result<(), UsageError> {
        let real = std::fs::canonicalize(file)
            .map_err(|e| UsageError(format!("{}: {e}", file.display())))?;
        match seen.get(&real) {
            Some(first) => Err(UsageError(format!(
                "{}: the same file as {}; each report is merged once",
                file.display(),
                first.display()
            ))),
            None => {
                seen.insert(real, file.to_path_buf());
                Ok(())
            }
        }
    };
    for input in inputs {
        if input.is_dir() {
            let mut files = Vec::new();
            json_files(input, &mut Vec::new(), &mut files)?;
            files.sort();
            for file in files {
                once(&file)?;
                if let Some(report) = read_report(&file, true)? {
                    out.push((file, report));
                }
            }
        } else {
            once(input)?;
            if let Some(report) = read_report(input, false)? {
                out.push((input.clone(), report));
            }
        }
    }
    if out.is_empty() {
        return Err(UsageError(format!(
            "merge: no report found in {}",
            inputs
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(out)
}

/// The `*.json` files under `dir`. `parents` are the real paths of the
/// directories being walked: a directory that is one of them again (a
/// symbolic link back up the tree) is a loop, refused.
fn json_files(
    dir: &Path,
    parents: &mut Vec<PathBuf>,
    out: &mut Vec<PathBuf>,
) -> Result<(), UsageError> {
    let real =
        std::fs::canonicalize(dir).map_err(|e| UsageError(format!("{}: {e}", dir.display())))?;
    if parents.contains(&real) {
        return Err(UsageError(format!(
            "{}: a symbolic link loop (it leads back to {}); merge each report once",
            dir.display(),
            real.display()
        )));
    }
    parents.push(real);
    let entries =
        std::fs::read_dir(dir).map_err(|e| UsageError(format!("{}: {e}", dir.display())))?;
    for entry in entries {
        let path = entry
            .map_err(|e| UsageError(format!("{}: {e}", dir.display())))?
            .path();
        if path.is_dir() {
            json_files(&path, parents, out)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    parents.pop();
    Ok(())
}

/// One report file. `Ok(None)` for a JSON file found in a directory that is
/// not a report of this tool; everything else that is wrong is an error.
fn read_report(path: &Path, in_directory: bool) -> Result<Option<Report>, UsageError> {
    let bad = |why: String| UsageError(format!("{}: {why}", path.display()));
    let text =
        crate::files::read_text(path, crate::files::REPORT_LIMIT).map_err(|e| bad(e.reason()))?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        bad(format!(
            "not JSON: {e} (line {}, column {}); write reports with --format json",
            e.line(),
            e.column()
        ))
    })?;
    let tool = value.pointer("/tool/name").and_then(|v| v.as_str());
    if tool != Some(TOOL_NAME) {
        if in_directory {
            tracing::warn!("{}: not an {TOOL_NAME} report, skipped", path.display());
            return Ok(None);
        }
        return Err(bad(format!(
            "not an {TOOL_NAME} report (tool.name is {}); pass reports written by `check` or `audit` with --format json",
            tool.map_or("missing".to_string(), |t| format!("`{t}`"))
        )));
    }
    let version = value.get("schema_version").and_then(|v| v.as_u64());
    if version != Some(u64::from(SCHEMA_VERSION)) {
        return Err(bad(format!(
            "report schema_version {} is not supported (this build reads version {SCHEMA_VERSION}); merge with the version that wrote it",
            version.map_or("missing".to_string(), |v| v.to_string())
        )));
    }
    crate::report::schema::validate(&value).map_err(|e| {
        bad(format!(
            "not a valid report ({e}); see schemas/report.schema.json"
        ))
    })?;
    let mut report: Report =
        serde_json::from_value(value).map_err(|e| bad(format!("not a valid report: {e}")))?;
    // Judged again by this build's rules: a report from before a rule was
    // known to mean "not verified" (or one that says otherwise) counts as
    // today's rule says. A rule this build does not know stays a defect.
    for finding in &mut report.findings {
        finding.meaning =
            crate::catalog::by_id(&finding.rule).map_or(Meaning::Defect, |r| r.meaning);
    }
    Ok(Some(report))
}

/// The target a `check` report stands for in a merge: named by its push
/// repository, else its network's clusters, else its identity's account.
pub fn check_target(report: &Report) -> Target {
    // An offline check has no push section: its findings name the repository.
    let repository_arn = report
        .push
        .as_ref()
        .map(|p| p.repository_arn.clone())
        .or_else(|| {
            report
                .findings
                .iter()
                .flat_map(|f| &f.resources)
                .find(|r| {
                    r.starts_with("arn:") && r.contains(":ecr:") && r.contains(":repository/")
                })
                .cloned()
        });
    let arn_part = |i: usize| {
        repository_arn
            .as_deref()
            .and_then(|a| a.splitn(6, ':').nth(i))
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let account = report
        .identity
        .as_ref()
        .map(|i| i.account.clone())
        .filter(|a| !a.is_empty())
        .or_else(|| arn_part(4));
    let region = arn_part(3).or_else(|| report.network.as_ref().map(|n| n.region.clone()));
    let mut names: Vec<String> = Vec::new();
    if let Some(name) = arn_part(5).and_then(|r| r.strip_prefix("repository/").map(str::to_string))
    {
        names.push(name);
    }
    if let Some(n) = &report.network {
        for w in &n.workloads {
            let label = if w.cluster.is_empty() {
                format!("network {}", n.source)
            } else {
                format!("cluster {}", w.cluster)
            };
            if !names.contains(&label) {
                names.push(label);
            }
        }
        if n.workloads.is_empty() {
            names.push(format!("network {}", n.source));
        }
    }
    if names.is_empty() {
        names.push("account".into());
    }
    let mut target = Target::new(TargetKind::Check, names.join(" + "), account, region);
    target.push = report.push.clone();
    target.network = report.network.clone();
    target
}

/// Merges reports: targets concatenated (a `check` report becomes one
/// target), findings de-duplicated, counts and verdict recomputed. The
/// traces are left out: each job's own report keeps its own.
pub fn merge(reports: Vec<Report>) -> Report {
    let identities: Vec<Option<Identity>> = reports.iter().map(|r| r.identity.clone()).collect();
    let mut parts = Vec::new();
    for report in reports {
        if report.targets.is_empty() {
            let target = check_target(&report);
            let findings = report
                .findings
                .into_iter()
                .map(|mut f| {
                    f.targets = vec![target.id.clone()];
                    f
                })
                .collect();
            parts.push((vec![target], findings));
        } else {
            parts.push((report.targets, report.findings));
        }
    }
    let identity = match identities.split_first() {
        Some((first, rest)) if rest.iter().all(|i| i == first) => first.clone(),
        _ => None,
    };
    combine(identity, parts, Vec::new())
}

/// Folds (targets, their findings) parts into one report: target ids made
/// unique (a repeated id gets `#2`, `#3`, …), findings de-duplicated with
/// [`dedupe`], verdict and counts recomputed overall and per target.
pub fn combine(
    identity: Option<Identity>,
    parts: Vec<(Vec<Target>, Vec<Finding>)>,
    trace: Vec<TraceEntry>,
) -> Report {
    let mut targets: Vec<Target> = Vec::new();
    let mut findings = Vec::new();
    for (part_targets, part_findings) in parts {
        let mut renamed: HashMap<String, String> = HashMap::new();
        for mut t in part_targets {
            let original = t.id.clone();
            let mut n = 1;
            while targets.iter().any(|x| x.id == t.id) {
                n += 1;
                t.id = format!("{original}#{n}");
            }
            renamed.insert(original, t.id.clone());
            targets.push(t);
        }
        findings.extend(part_findings.into_iter().map(|mut f| {
            for id in &mut f.targets {
                if let Some(new) = renamed.get(id) {
                    id.clone_from(new);
                }
            }
            f
        }));
    }
    Report::new(identity, None, dedupe(findings), trace).with_targets(targets)
}

/// Findings that agree in rule, severity, title, message, resources, IAM
/// action, endpoint service and location become one, listing every target
/// any of them came from (in first-seen order). The first one's fix and
/// docs are kept.
pub fn dedupe(findings: Vec<Finding>) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for f in findings {
        let key = serde_json::to_string(&(
            &f.rule,
            f.severity,
            &f.title,
            &f.message,
            &f.resources,
            &f.iam_action,
            &f.endpoint_service,
            &f.location,
        ))
        .expect("findings always serialize");
        match index.get(&key) {
            Some(&i) => {
                for t in f.targets {
                    if !out[i].targets.contains(&t) {
                        out[i].targets.push(t);
                    }
                }
            }
            None => {
                index.insert(key, out.len());
                out.push(f);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Identity, PushSummary, Severity, Verdict};
    use crate::rules;

    fn push_summary(repository: &str, account: &str) -> PushSummary {
        PushSummary {
            mode: "push".into(),
            repository: repository.into(),
            repository_arn: format!("arn:aws:ecr:us-east-1:{account}:repository/{repository}"),
            registry: format!("https://{account}.dkr.ecr.us-east-1.amazonaws.com"),
            tag: None,
            platforms: vec!["linux/amd64".into()],
            index_digest: None,
            critical_path_round_trips: 3,
            sequential_round_trips: 3,
            requests: 10,
            wall_ms: 5,
            cleaned_up: true,
        }
    }

    fn check_report(account: &str, repository: &str, findings: Vec<Finding>) -> Report {
        Report::new(
            Some(Identity {
                arn: format!("arn:aws:sts::{account}:assumed-role/audit/gha"),
                account: account.into(),
                source: "web-identity".into(),
            }),
            Some(push_summary(repository, account)),
            findings,
            Vec::new(),
        )
    }

    /// The same finding, as two accounts' jobs would report it.
    fn shared_notice() -> Finding {
        rules::PUSH_NOT_VERIFIED
            .finding("Some actions not verified", "An earlier step failed.")
            .with_resources(["*"])
    }

    fn denied(account: &str) -> Finding {
        rules::PUSH_ACCESS_DENIED
            .finding("ecr:PutImage denied", "no identity-based policy allows it")
            .with_iam_action("ecr:PutImage")
            .with_resources([format!("arn:aws:ecr:us-east-1:{account}:repository/app")])
    }

    #[test]
    fn identical_findings_of_two_accounts_become_one_with_two_targets() {
        let a = check_report("111111111111", "app", vec![shared_notice()]);
        let b = check_report("222222222222", "app", vec![shared_notice()]);
        let merged = merge(vec![a, b]);
        assert_eq!(merged.targets.len(), 2);
        assert_eq!(merged.findings.len(), 1, "{:#?}", merged.findings);
        assert_eq!(
            merged.findings[0].targets,
            [
                "check:111111111111:us-east-1:app",
                "check:222222222222:us-east-1:app"
            ]
        );
        assert_eq!(merged.summary.notices, 1);
        // `push/not-verified` says something was not checked: never a pass.
        assert_eq!(merged.verdict, Verdict::NotVerified);
        assert!(
            merged
                .targets
                .iter()
                .all(|t| t.verdict == Verdict::NotVerified)
        );
        // Two different identities: no single identity for the merge.
        assert!(merged.identity.is_none());
        assert!(merged.targets.iter().all(|t| t.summary.notices == 1));
    }

    #[test]
    fn findings_about_different_resources_stay_apart_and_counts_are_recomputed() {
        let a = check_report("111111111111", "app", vec![denied("111111111111")]);
        let b = check_report(
            "222222222222",
            "app",
            vec![denied("222222222222"), shared_notice()],
        );
        let merged = merge(vec![a, b]);
        assert_eq!(merged.findings.len(), 3);
        assert_eq!(merged.summary.errors, 2);
        assert_eq!(merged.summary.notices, 1);
        assert_eq!(merged.verdict, Verdict::Fail);
        // Errors first, each error with its own target.
        assert_eq!(merged.findings[0].severity, Severity::Error);
        for f in merged
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
        {
            assert_eq!(f.targets.len(), 1);
            let account = f.targets[0].split(':').nth(1).unwrap();
            assert!(f.resources[0].contains(account), "{f:?}");
        }
        let t = &merged.targets[1];
        assert_eq!((t.summary.errors, t.summary.notices), (1, 1));
        assert_eq!(t.verdict, Verdict::Fail);
        assert_eq!(t.push.as_ref().unwrap().requests, 10);
    }

    #[test]
    fn a_merged_report_merges_again_without_losing_targets() {
        let ab = merge(vec![
            check_report("111111111111", "app", vec![shared_notice()]),
            check_report("222222222222", "app", vec![shared_notice()]),
        ]);
        let c = check_report("333333333333", "app", vec![shared_notice()]);
        let all = merge(vec![ab, c]);
        assert_eq!(all.targets.len(), 3);
        assert_eq!(all.findings.len(), 1);
        assert_eq!(all.findings[0].targets.len(), 3);
        // The same report twice: the second copy's target gets its own id.
        let twice = merge(vec![
            check_report("111111111111", "app", vec![denied("111111111111")]),
            check_report("111111111111", "app", vec![denied("111111111111")]),
        ]);
        assert_eq!(twice.targets[1].id, "check:111111111111:us-east-1:app#2");
        assert_eq!(twice.findings[0].targets.len(), 2);
        assert_eq!(twice.summary.errors, 1);
    }

    #[test]
    fn same_identity_is_kept() {
        let merged = merge(vec![
            check_report("111111111111", "app", vec![]),
            check_report("111111111111", "web", vec![]),
        ]);
        assert_eq!(merged.identity.unwrap().account, "111111111111");
        assert_eq!(merged.targets[1].name, "web");
        assert_eq!(merged.targets[1].region.as_deref(), Some("us-east-1"));
    }

    #[test]
    fn an_offline_check_is_named_by_the_repository_its_findings_name() {
        let mut offline = check_report("111111111111", "app", vec![denied("222222222222")]);
        offline.push = None;
        offline.identity = None;
        let t = check_target(&offline);
        assert_eq!(t.name, "app");
        assert_eq!(t.account.as_deref(), Some("222222222222"));
        assert_eq!(t.region.as_deref(), Some("us-east-1"));
        let mut nothing = offline.clone();
        nothing.findings.clear();
        assert_eq!(check_target(&nothing).label(), "check account");
        let merged = merge(vec![nothing.clone(), nothing]);
        assert_eq!(merged.targets[1].label(), "check account #2");
    }

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn bad_files_are_usage_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let good = crate::report::render_json(&check_report("111111111111", "app", vec![]));
        let good_path = write(dir.path(), "good.json", &good);
        for (name, text, why) in [
            ("truncated.json", &good[..good.len() / 2], "not JSON"),
            (
                "other.json",
                r#"{"tool":{"name":"trivy"},"schema_version":1}"#,
                "not an ecr-fargate-preflight report",
            ),
            (
                "future.json",
                &good.replace("\"schema_version\": 1", "\"schema_version\": 2"),
                "schema_version 2 is not supported",
            ),
            (
                "broken.json",
                &good.replace("\"verdict\": \"pass\"", "\"verdict\": \"maybe\""),
                "not a valid report",
            ),
        ] {
            let path = write(dir.path(), &format!("bad/{name}"), text);
            let e = load(&[good_path.clone(), path.clone()]).unwrap_err().0;
            assert!(e.contains(why), "{name}: {e}");
            assert!(e.contains(name), "{name}: {e}");
        }
        let missing = load(&[dir.path().join("nope.json")]).unwrap_err().0;
        assert!(missing.contains("nope.json"), "{missing}");
    }

    #[test]
    fn directories_are_searched_and_foreign_json_in_them_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let a = crate::report::render_json(&check_report("111111111111", "app", vec![]));
        let b = crate::report::render_json(&check_report("222222222222", "app", vec![]));
        write(dir.path(), "report-a/report.json", &a);
        write(dir.path(), "report-b/report.json", &b);
        write(dir.path(), "report-b/notes.txt", "not json");
        write(dir.path(), "snapshot/snapshot.json", r#"{"version":1}"#);
        let loaded = load(&[dir.path().to_path_buf()]).unwrap();
        assert_eq!(loaded.len(), 2);
        assert!(loaded[0].0.ends_with("report-a/report.json"));
        // Named explicitly, the same foreign file is an error.
        let e = load(&[dir.path().join("snapshot/snapshot.json")])
            .unwrap_err()
            .0;
        assert!(e.contains("tool.name is missing"), "{e}");
        let empty = tempfile::tempdir().unwrap();
        assert!(
            load(&[empty.path().to_path_buf()])
                .unwrap_err()
                .0
                .contains("no report found")
        );
    }

    #[test]
    fn loops_duplicates_and_special_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let a = crate::report::render_json(&check_report("111111111111", "app", vec![]));
        let file = write(dir.path(), "reports/a/report.json", &a);
        // A link back up the tree: followed, it would count the report again and again.
        std::os::unix::fs::symlink(dir.path().join("reports"), dir.path().join("reports/a/up"))
            .unwrap();
        let e = load(&[dir.path().join("reports")]).unwrap_err().0;
        assert!(e.contains("symbolic link loop"), "{e}");
        std::fs::remove_file(dir.path().join("reports/a/up")).unwrap();
        assert_eq!(load(&[dir.path().join("reports")]).unwrap().len(), 1);
        // The same report named twice, or once directly and once in its directory.
        let e = load(&[file.clone(), file.clone()]).unwrap_err().0;
        assert!(e.contains("the same file as"), "{e}");
        let e = load(&[dir.path().join("reports"), file.clone()])
            .unwrap_err()
            .0;
        assert!(e.contains("each report is merged once"), "{e}");
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert!(load(&[file, link]).is_err());
        // A device is refused before it is read.
        let e = load(&[PathBuf::from("/dev/zero")]).unwrap_err().0;
        assert!(e.contains("is a device, not a regular file"), "{e}");
    }

    #[test]
    fn a_report_that_does_not_fit_the_schema_names_file_and_path() {
        let dir = tempfile::tempdir().unwrap();
        let mut value: serde_json::Value = serde_json::from_str(&crate::report::render_json(
            &check_report("111111111111", "app", vec![denied("111111111111")]),
        ))
        .unwrap();
        value["findings"][0]["severity"] = "fatal".into();
        let path = write(dir.path(), "bad.json", &value.to_string());
        let e = load(&[path]).unwrap_err().0;
        assert!(
            e.contains("bad.json: not a valid report (at /findings/0/severity"),
            "{e}"
        );
    }

    #[test]
    fn reports_of_earlier_versions_are_judged_again_by_their_rules() {
        // Before `not-verified` existed, a check without credentials said `fail`.
        let mut old = check_report(
            "111111111111",
            "app",
            vec![rules::CREDENTIALS_UNAVAILABLE.finding("No usable AWS credentials", "none")],
        );
        old.verdict = Verdict::Fail;
        let text = crate::report::render_json(&old);
        assert!(text.contains("\"verdict\": \"fail\""), "{text}");
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "old.json", &text);
        let fine = write(
            dir.path(),
            "fine.json",
            &crate::report::render_json(&check_report("222222222222", "app", vec![])),
        );
        let loaded = load(&[path, fine]).unwrap();
        let merged = merge(loaded.into_iter().map(|(_, r)| r).collect());
        assert_eq!(merged.verdict, Verdict::NotVerified);
        assert_eq!(merged.targets[0].verdict, Verdict::NotVerified);
        assert_eq!(merged.targets[1].verdict, Verdict::Pass);
        let json = crate::report::render_json(&merged);
        assert!(json.contains("\"verdict\": \"not-verified\""), "{json}");
        let back: Report = serde_json::from_str(&json).unwrap();
        assert_eq!(back.verdict, Verdict::NotVerified);
        // A defect still makes it `fail`, whatever else was not checked.
        let both = merge(vec![
            merged,
            check_report("333333333333", "app", vec![denied("333333333333")]),
        ]);
        assert_eq!(both.verdict, Verdict::Fail);
    }

    #[test]
    fn merged_json_round_trips_and_check_reports_have_no_targets_field() {
        let single = crate::report::render_json(&check_report("111111111111", "app", vec![]));
        assert!(!single.contains("\"targets\""), "{single}");
        let merged = merge(vec![
            check_report("111111111111", "app", vec![shared_notice()]),
            check_report("222222222222", "app", vec![shared_notice()]),
        ]);
        let json = crate::report::render_json(&merged);
        let back: Report = serde_json::from_str(&json).unwrap();
        assert_eq!(back, merged);
        assert!(json.contains("\"kind\": \"check\""));
    }

    #[test]
    fn renderers_group_findings_by_target() {
        let merged = merge(vec![
            check_report("111111111111", "app", vec![denied("111111111111")]),
            check_report(
                "222222222222",
                "app",
                vec![denied("222222222222"), shared_notice()],
            ),
            check_report("333333333333", "app", vec![shared_notice()]),
        ]);
        let text = crate::report::render_text(&merged, false);
        let first = text.find("== check app (111111111111, us-east-1)").unwrap();
        let second = text
            .find("== check app (222222222222, us-east-1)\n")
            .unwrap();
        let shared = text
            .find("== check app (222222222222, us-east-1), check app (333333333333, us-east-1)")
            .unwrap();
        assert!(first < second && second < shared, "{text}");
        assert_eq!(text.matches("notice[push/not-verified]").count(), 1);
        let markdown = crate::report::render_markdown(&merged);
        assert!(markdown.contains("| check app (111111111111, us-east-1) | ❌ fail | 1 | 0 | 0 |"));
        assert!(
            markdown
                .contains("| check app (333333333333, us-east-1) | ❔ not verified | 0 | 0 | 1 |"),
            "{markdown}"
        );
        assert_eq!(markdown.matches("### ").count(), 3, "{markdown}");
    }
}
