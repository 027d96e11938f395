//! SARIF output (`--sarif FILE`), validated against the OASIS SARIF 2.1.0
//! schema shipped in tests/fixtures (see its .SOURCE file), plus the
//! properties GitHub code scanning relies on beyond the schema.

mod harness;

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use ecr_fargate_preflight::report::sarif::{self, FINGERPRINT_KEY};
use ecr_fargate_preflight::report::{
    Finding, Fix, Location, Report, SarifOptions, Severity, render_sarif,
};
use ecr_fargate_preflight::{catalog, rules};
use harness::Binary;
use serde_json::{Value, json};

static SCHEMA: LazyLock<jsonschema::Validator> = LazyLock::new(|| {
    let schema: Value = serde_json::from_str(include_str!("fixtures/sarif-schema-2.1.0.json"))
        .expect("the shipped schema is JSON");
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the shipped schema compiles")
});

/// Parses and validates; panics with every schema error.
fn valid(text: &str) -> Value {
    let doc: Value = serde_json::from_str(text).expect("SARIF output is JSON");
    let errors: Vec<String> = SCHEMA
        .iter_errors(&doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "not valid SARIF 2.1.0:\n{}",
        errors.join("\n")
    );
    doc
}

fn schema_errors(doc: &Value) -> usize {
    SCHEMA.iter_errors(doc).count()
}

fn report(findings: Vec<Finding>) -> Report {
    Report::new(None, None, findings, Vec::new())
}

fn root_options() -> SarifOptions {
    SarifOptions {
        fallback_uri: Some(".github/workflows/deploy.yml".into()),
        source_root: Some(PathBuf::from("/github/workspace")),
        working_dir: Some(PathBuf::from("/github/workspace")),
        rules: catalog::all().collect(),
        ..SarifOptions::default()
    }
}

fn run(doc: &Value) -> &Value {
    &doc["runs"][0]
}

fn results(doc: &Value) -> &Vec<Value> {
    run(doc)["results"].as_array().expect("results")
}

fn artifact(result: &Value) -> (&str, u64) {
    let physical = &result["locations"][0]["physicalLocation"];
    (
        physical["artifactLocation"]["uri"].as_str().expect("uri"),
        physical["region"]["startLine"].as_u64().expect("startLine"),
    )
}

/// What GitHub needs beyond the schema, checked on every result.
fn assert_github_properties(doc: &Value) {
    let driver = &run(doc)["tool"]["driver"];
    let rules = driver["rules"].as_array().unwrap();
    for rule in rules {
        let sev: f64 = rule["properties"]["security-severity"]
            .as_str()
            .expect("security-severity is a string")
            .parse()
            .expect("security-severity is a number");
        assert!((0.1..=10.0).contains(&sev), "{rule}");
        let tags = rule["properties"]["tags"].as_array().unwrap();
        assert!(tags.contains(&json!("security")), "{rule}");
    }
    for r in results(doc) {
        let id = r["ruleId"].as_str().expect("ruleId");
        let index = r["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(rules[index]["id"], id, "ruleIndex points at the rule");
        assert!(["error", "warning", "note"].contains(&r["level"].as_str().unwrap()));
        assert!(!r["message"]["text"].as_str().unwrap().is_empty());
        let locations = r["locations"].as_array().unwrap();
        assert!(!locations.is_empty() && locations.len() <= 1000);
        let (uri, line) = artifact(r);
        assert!(line >= 1);
        assert!(
            !uri.is_empty() && !uri.starts_with('/') && !uri.starts_with("./"),
            "{uri}"
        );
        // No parent segment (`a..b` is a name, `..` is a way out of the root).
        assert!(
            !uri.contains('\\') && !uri.contains(' ') && !uri.split('/').any(|s| s == ".."),
            "{uri}"
        );
        assert!(uri.is_ascii(), "percent-encoded: {uri}");
        assert_eq!(
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uriBaseId"],
            "%SRCROOT%"
        );
        // A relative reference that resolves inside the base.
        let base = url::Url::parse("file:///src/").unwrap();
        let joined = base.join(uri).expect("uri is a relative reference");
        assert!(joined.path().starts_with("/src/"), "{uri}");
        let fp = &r["partialFingerprints"];
        assert!(
            fp.get("primaryLocationLineHash").is_none(),
            "left to upload-sarif"
        );
        assert!(fp[FINGERPRINT_KEY].is_string());
    }
    assert!(results(doc).len() <= sarif::MAX_RESULTS);
}

#[test]
fn the_validator_rejects_invalid_sarif() {
    // The tests below can only fail if the schema really checks something.
    let good = valid(&render_sarif(&report(Vec::new()), &root_options()));
    assert_eq!(schema_errors(&good), 0);

    let mut no_runs = good.clone();
    no_runs.as_object_mut().unwrap().remove("runs");
    assert!(schema_errors(&no_runs) > 0, "runs is required");

    let mut wrong_version = good.clone();
    wrong_version["version"] = json!("2.0.0");
    assert!(schema_errors(&wrong_version) > 0);

    let one = render_sarif(
        &report(vec![
            rules::PUSH_ACCESS_DENIED
                .finding("t", "m")
                .with_location(Some(Location {
                    file: Some("p.json".into()),
                    line: Some(3),
                    address: None,
                })),
        ]),
        &root_options(),
    );
    let one = valid(&one);
    let mut bad_level = one.clone();
    bad_level["runs"][0]["results"][0]["level"] = json!("fatal");
    assert!(schema_errors(&bad_level) > 0, "level is an enum");

    let mut bad_line = one.clone();
    bad_line["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] =
        json!(0);
    assert!(schema_errors(&bad_line) > 0, "startLine is at least 1");

    let mut no_message = one.clone();
    no_message["runs"][0]["results"][0]
        .as_object_mut()
        .unwrap()
        .remove("message");
    assert!(schema_errors(&no_message) > 0, "message is required");

    let mut unknown_property = one;
    unknown_property["runs"][0]["results"][0]["severity"] = json!("high");
    assert!(schema_errors(&unknown_property) > 0, "no extra properties");
}

#[test]
fn an_empty_report_is_valid_and_lists_every_rule() {
    let doc = valid(&render_sarif(&report(Vec::new()), &root_options()));
    assert_eq!(doc["version"], "2.1.0");
    assert_eq!(doc["runs"].as_array().unwrap().len(), 1);
    let driver = &run(&doc)["tool"]["driver"];
    assert_eq!(driver["name"], "ecr-fargate-preflight");
    assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));
    assert!(
        driver["informationUri"]
            .as_str()
            .unwrap()
            .starts_with("https://")
    );
    let ids: Vec<&str> = driver["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    let all: Vec<&str> = catalog::all().map(|r| r.id).collect();
    assert_eq!(ids, all);
    assert!(results(&doc).is_empty());
    assert_eq!(run(&doc)["invocations"][0]["executionSuccessful"], true);
    assert!(
        run(&doc).get("automationDetails").is_none(),
        "left to upload-sarif's category"
    );
    assert_eq!(
        run(&doc)["originalUriBaseIds"]["%SRCROOT%"]["uri"],
        "file:///github/workspace/"
    );
    assert_github_properties(&doc);
}

#[test]
fn one_finding_of_every_rule() {
    let findings: Vec<Finding> = catalog::all()
        .map(|r| {
            r.finding(format!("{} fired", r.id), "what happened")
                .with_resources([format!(
                    "arn:aws:ecr:us-east-1:123456789012:repository/{}",
                    r.id
                )])
                .with_fix(Fix {
                    description: "do this".into(),
                    policy_statement: Some(json!({"Effect": "Allow", "Action": "ecr:PutImage"})),
                    terraform: Some("resource \"x\" \"y\" {}".into()),
                    aws_cli: Some("aws ecr put-image".into()),
                })
        })
        .collect();
    let n = findings.len();
    let doc = valid(&render_sarif(&report(findings), &root_options()));
    assert_github_properties(&doc);
    assert_eq!(results(&doc).len(), n);
    let driver_rules = run(&doc)["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(
        driver_rules.len(),
        n,
        "no extra descriptors for known rules"
    );
    for rule in catalog::all() {
        let r = results(&doc)
            .iter()
            .find(|r| r["ruleId"] == rule.id)
            .unwrap_or_else(|| panic!("a result for {}", rule.id));
        let want = match rule.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Notice => "note",
        };
        assert_eq!(r["level"], want, "{}", rule.id);
        let descriptor = &driver_rules[r["ruleIndex"].as_u64().unwrap() as usize];
        assert_eq!(descriptor["defaultConfiguration"]["level"], want);
        assert_eq!(descriptor["helpUri"], rule.page_url());
        assert_eq!(descriptor["shortDescription"]["text"], rule.what);
        let help = descriptor["help"]["markdown"].as_str().unwrap();
        assert!(help.contains(rule.why) && help.contains(rule.fix), "{help}");
        assert!(help.contains(&format!("]({})", rule.docs)), "{help}");
        assert!(
            descriptor["help"]["text"]
                .as_str()
                .unwrap()
                .contains(rule.fix)
        );
        let message = r["message"]["text"].as_str().unwrap();
        assert!(
            message.starts_with(&format!("{} fired", rule.id)),
            "{message}"
        );
        assert!(message.contains("Fix: do this"), "{message}");
        assert_eq!(r["properties"]["fix"]["aws_cli"], "aws ecr put-image");
        assert_eq!(
            r["properties"]["fix"]["policy_statement"]["Action"],
            "ecr:PutImage"
        );
        // No file: the workflow file, line 1.
        assert_eq!(artifact(r), (".github/workflows/deploy.yml", 1));
        assert_eq!(r["properties"]["locationSource"], "workflow");
        assert_eq!(
            r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
            format!("arn:aws:ecr:us-east-1:123456789012:repository/{}", rule.id)
        );
    }
    // Same fallback line, different problems: told apart by our fingerprint.
    let mut fingerprints: Vec<&str> = results(&doc)
        .iter()
        .map(|r| r["partialFingerprints"][FINGERPRINT_KEY].as_str().unwrap())
        .collect();
    fingerprints.sort_unstable();
    fingerprints.dedup();
    assert_eq!(fingerprints.len(), n);
}

fn located(file: Option<&str>, line: Option<usize>, address: Option<&str>) -> Finding {
    rules::PUSH_ACCESS_DENIED
        .finding("ecr:PutImage denied", "no statement allows it")
        .with_iam_action("ecr:PutImage")
        .with_location(Some(Location {
            file: file.map(Into::into),
            line,
            address: address.map(Into::into),
        }))
}

#[test]
fn locations_with_and_without_file_and_line() {
    let findings = vec![
        located(Some("policies/push.json"), Some(12), None),
        located(
            Some("/github/workspace/infra/iam.tf"),
            Some(40),
            Some("aws_iam_policy.push"),
        ),
        located(Some("./policies/other.json"), None, None),
        located(Some("policies/zero.json"), Some(0), None),
        located(Some("/tmp/outside.json"), Some(3), None),
        located(None, None, Some("aws_iam_role.deploy")),
        rules::PUSH_REPOSITORY_NOT_FOUND.finding("team/app does not exist", ""),
    ];
    let doc = valid(&render_sarif(&report(findings), &root_options()));
    assert_github_properties(&doc);
    let by_title = |uri: &str| {
        results(&doc)
            .iter()
            .filter(|r| artifact(r).0 == uri)
            .collect::<Vec<_>>()
    };
    assert_eq!(artifact(by_title("policies/push.json")[0]).1, 12);
    let tf = by_title("infra/iam.tf")[0];
    assert_eq!(artifact(tf).1, 40);
    assert_eq!(
        tf["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
        "aws_iam_policy.push"
    );
    assert_eq!(
        artifact(by_title("policies/other.json")[0]).1,
        1,
        "no line: line 1"
    );
    assert_eq!(
        artifact(by_title("policies/zero.json")[0]).1,
        1,
        "never line 0"
    );
    let fallback = by_title(".github/workflows/deploy.yml");
    assert_eq!(
        fallback.len(),
        3,
        "outside the root, address only, no location"
    );
    assert!(fallback.iter().all(|r| artifact(r).1 == 1));
    assert!(
        fallback
            .iter()
            .any(|r| r["properties"]["file"] == "/tmp/outside.json"),
        "the file outside the root is still named"
    );
    let not_found = results(&doc)
        .iter()
        .find(|r| r["ruleId"] == "push/repository-not-found")
        .unwrap();
    assert_eq!(
        not_found["message"]["text"], "team/app does not exist",
        "an empty message adds nothing"
    );

    // Outside GitHub Actions, with no workflow file: README.md, line 1.
    let outside = SarifOptions {
        fallback_uri: None,
        ..root_options()
    };
    let doc = valid(&render_sarif(
        &report(vec![located(None, None, None)]),
        &outside,
    ));
    assert_eq!(
        artifact(&results(&doc)[0]),
        (sarif::DEFAULT_FALLBACK_URI, 1)
    );
    assert_eq!(results(&doc)[0]["properties"]["locationSource"], "default");
}

#[test]
fn untrusted_text_stays_text() {
    let title = "`repo` <img src=x onerror=alert(1)> **bold** | \"quoted\" 'single'\nsecond line\r\n\t— ünïcödé 🚀 \u{0}";
    let resource = "arn:aws:ecr:us-east-1:123456789012:repository/a<b>&\"c\"\n[link](javascript:x)";
    let network_rule = catalog::all()
        .find(|r| r.id.starts_with("network/"))
        .expect("a network rule");
    let finding = network_rule
        .finding(title, format!("message: {title}"))
        .with_resources([resource])
        .with_location(Some(Location {
            file: Some("dir with space/pölicy #1.json".into()),
            line: Some(2),
            address: None,
        }));
    let doc = valid(&render_sarif(&report(vec![finding]), &root_options()));
    assert_github_properties(&doc);
    let r = &results(&doc)[0];
    // JSON carries the text exactly; nothing is lost or interpreted.
    assert!(r["message"]["text"].as_str().unwrap().starts_with(title));
    assert_eq!(r["properties"]["title"], title);
    assert_eq!(r["properties"]["resources"][0], resource);
    assert_eq!(
        r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
        resource
    );
    assert_eq!(
        artifact(r),
        ("dir%20with%20space/p%C3%B6licy%20%231.json", 2)
    );
}

#[test]
fn results_over_githubs_limit_are_cut_visibly() {
    let findings: Vec<Finding> = (0..5)
        .map(|i| {
            rules::PUSH_NOT_VERIFIED
                .finding(format!("n{i}"), "")
                .with_resources([format!("r{i}")])
        })
        .chain([rules::PUSH_ACCESS_DENIED.finding("the error", "")])
        .collect();
    let options = SarifOptions {
        max_results: 3,
        ..root_options()
    };
    let doc = valid(&render_sarif(&report(findings.clone()), &options));
    assert_eq!(results(&doc).len(), 3);
    assert_eq!(results(&doc)[0]["level"], "error", "errors are kept first");
    assert_eq!(run(&doc)["properties"]["resultsOmitted"], 3);
    let note = &run(&doc)["invocations"][0]["toolExecutionNotifications"][0];
    assert_eq!(note["level"], "warning");
    assert!(
        note["message"]["text"]
            .as_str()
            .unwrap()
            .starts_with("3 of 6 findings")
    );

    // The gzipped-size limit cuts too.
    let big: Vec<Finding> = (0..200)
        .map(|i| {
            rules::PUSH_NOT_VERIFIED
                .finding(
                    format!("n{i}"),
                    (0..40)
                        .map(|_| uuid::Uuid::new_v4().to_string())
                        .collect::<String>(),
                )
                .with_resources([format!("r{i}")])
        })
        .collect();
    let options = SarifOptions {
        max_gzipped_bytes: 60_000,
        ..root_options()
    };
    let text = render_sarif(&report(big), &options);
    let doc = valid(&text);
    let kept = results(&doc).len();
    assert!(kept > 0 && kept < 200, "{kept}");
    assert_eq!(run(&doc)["properties"]["resultsOmitted"], 200 - kept);

    // Under the limits: no notification at all.
    let doc = valid(&render_sarif(&report(findings), &root_options()));
    assert!(
        run(&doc)["invocations"][0]
            .get("toolExecutionNotifications")
            .is_none()
    );
    assert_eq!(run(&doc)["properties"]["resultsOmitted"], 0);
}

#[test]
fn fingerprints_ignore_lines_and_wording_but_not_identity() {
    let a = located(Some("p.json"), Some(3), None).with_resources(["arn:a"]);
    let moved = located(Some("p.json"), Some(30), None).with_resources(["arn:a"]);
    let mut reworded = a.clone();
    reworded.title = "other words".into();
    let other = located(Some("p.json"), Some(3), None).with_resources(["arn:b"]);
    let fp = |f: &Finding| {
        let doc = valid(&render_sarif(&report(vec![f.clone()]), &root_options()));
        results(&doc)[0]["partialFingerprints"][FINGERPRINT_KEY]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(fp(&a), fp(&moved));
    assert_eq!(fp(&a), fp(&reworded));
    assert_ne!(fp(&a), fp(&other));
    // Exact repeats are numbered, so neither hides the other.
    let doc = valid(&render_sarif(&report(vec![a.clone(), a]), &root_options()));
    let both: Vec<&str> = results(&doc)
        .iter()
        .map(|r| r["partialFingerprints"][FINGERPRINT_KEY].as_str().unwrap())
        .collect();
    assert!(
        both[0].ends_with(":1") && both[1].ends_with(":2"),
        "{both:?}"
    );
    assert_eq!(both[0].split(':').next(), both[1].split(':').next());
}

#[test]
fn an_unknown_rule_id_gets_a_descriptor() {
    let mut f = rules::PUSH_ACCESS_DENIED.finding("from a newer version", "");
    f.rule = "push/some-future-rule".into();
    let doc = valid(&render_sarif(&report(vec![f]), &root_options()));
    assert_github_properties(&doc);
    let rules_len = catalog::all().count();
    assert_eq!(results(&doc)[0]["ruleIndex"], rules_len);
    assert_eq!(
        run(&doc)["tool"]["driver"]["rules"][rules_len]["id"],
        "push/some-future-rule"
    );
}

#[test]
fn category_and_execution_status_when_asked() {
    let options = SarifOptions {
        category: Some("ecr-fargate-preflight/merged".into()),
        execution_successful: false,
        ..root_options()
    };
    let doc = valid(&render_sarif(&report(Vec::new()), &options));
    assert_eq!(
        run(&doc)["automationDetails"]["id"],
        "ecr-fargate-preflight/merged"
    );
    assert_eq!(run(&doc)["invocations"][0]["executionSuccessful"], false);
}

// --- end to end: the binary's --sarif flag ---

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn check(args: &[&str], envs: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Binary::new()
        .unreachable_aws()
        .current_dir(root())
        .arg("check")
        .args(args);
    for (k, v) in envs {
        cmd = cmd.env(k, v);
    }
    let out = cmd.output();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    out
}

const REPOSITORY: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app";
const FAILING_POLICY: &str = "examples/policies/aws-documented-push-policy.json";

#[test]
fn check_writes_sarif_pointing_at_the_policy_line() {
    let dir = tempfile::tempdir().unwrap();
    let sarif_path = dir.path().join("out.sarif");
    let out = check(
        &[
            "--offline",
            "--format",
            "json",
            "--policy",
            FAILING_POLICY,
            "--repository",
            REPOSITORY,
            "--sarif",
            sarif_path.to_str().unwrap(),
        ],
        &[(
            "GITHUB_WORKFLOW_REF",
            "octo/app/.github/workflows/preflight.yml@refs/pull/1/merge",
        )],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("the JSON report still prints");
    let finding = &report["findings"][0];
    assert_eq!(finding["rule"], "push/access-denied");
    let line = finding["location"]["line"].as_u64().expect("a line");

    let doc = valid(&std::fs::read_to_string(&sarif_path).expect("the SARIF file"));
    assert_github_properties(&doc);
    let r = &results(&doc)[0];
    assert_eq!(r["ruleId"], "push/access-denied");
    assert_eq!(r["level"], "error");
    assert_eq!(artifact(r), (FAILING_POLICY, line));
    assert_eq!(r["properties"]["iamAction"], "ecr:GetDownloadUrlForLayer");
    assert_eq!(
        r["properties"]["fix"]["policy_statement"]["Resource"],
        "arn:aws:ecr:us-east-1:123456789012:repository/team/app"
    );
    // The policy really has that statement at that line.
    let policy = std::fs::read_to_string(root().join(FAILING_POLICY)).unwrap();
    assert!(policy.lines().nth(line as usize - 1).is_some());

    // A clean run writes a valid, empty SARIF file.
    let clean = dir.path().join("clean.sarif");
    let out = check(
        &[
            "--offline",
            "--policy",
            "examples/policies/buildx-push-policy.json",
            "--repository",
            REPOSITORY,
            "--sarif",
            clean.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0));
    let doc = valid(&std::fs::read_to_string(&clean).unwrap());
    assert!(results(&doc).is_empty());
}

#[test]
fn an_unwritable_sarif_path_is_exit_2_but_the_report_still_prints() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/dir/out.sarif");
    let out = check(
        &[
            "--offline",
            "--format",
            "json",
            "--policy",
            FAILING_POLICY,
            "--repository",
            REPOSITORY,
            "--sarif",
            missing.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot write --sarif"), "{stderr}");
    let report: Value = serde_json::from_slice(&out.stdout).expect("the report still prints");
    assert_eq!(report["findings"][0]["rule"], "push/access-denied");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Whatever a finding holds (paths with `..`, `\`, `:`, `%`, spaces or
    /// unicode, any text), the file is valid SARIF and every URI stays a
    /// relative reference inside the root.
    #[test]
    fn any_finding_gives_valid_sarif(
        file in proptest::option::of("[a-zA-Z0-9 ./\\\\:%#?éü🚀-]{0,40}"),
        line in proptest::option::of(0usize..100_000),
        title in "\\PC{0,80}",
        resource in "\\PC{0,80}",
        workflow in proptest::option::of("[a-zA-Z0-9 ./\\\\:%-]{0,30}"),
    ) {
        let finding = rules::PUSH_ACCESS_DENIED
            .finding(title.clone(), title)
            .with_resources([resource])
            .with_location(Some(Location { file, line, address: None }));
        let options = SarifOptions {
            fallback_uri: workflow,
            ..root_options()
        };
        let doc = valid(&render_sarif(&report(vec![finding]), &options));
        assert_github_properties(&doc);
    }
}

/// Found by the property test: a name with two dots in it (`8..z`) is a
/// name, not a way out of the root, and stays in the URI.
#[test]
fn a_name_with_two_dots_is_not_a_parent_segment() {
    let finding = rules::PUSH_ACCESS_DENIED
        .finding("t", "m")
        .with_location(Some(Location {
            file: Some("P 8..z#/ém8".into()),
            line: Some(3),
            address: None,
        }));
    let doc = valid(&render_sarif(&report(vec![finding]), &root_options()));
    assert_github_properties(&doc);
    let (uri, line) = artifact(&results(&doc)[0]);
    assert_eq!(uri, "P%208..z%23/%C3%A9m8");
    assert_eq!(line, 3);
}
