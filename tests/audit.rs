//! `audit` and `merge` end to end: the real binary against moto server,
//! docker-registry and the ECR behaviour gate, whose request log shows what
//! a read-only audit did not send.

mod harness;

use harness::{
    Gate, create_repository, create_role, ecr_api, registry_tags, run_subcommand, seed,
    unique_repository,
};
use serde_json::{Value, json};

const ACCOUNT: &str = "123456789012";

fn audit(gate: &Gate, args: &[&str]) -> harness::Run {
    let mut all = vec!["--registry-endpoint", gate.url.as_str()];
    all.extend_from_slice(args);
    let run = run_subcommand(Some(gate), "audit", &all, &[]);
    run.assert_no_panic();
    run
}

/// A role allowed every ECR action, to be assumed by the audit.
fn auditor(prefix: &str) -> String {
    let name = format!("{prefix}-{}", std::process::id());
    create_role(
        &name,
        &json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ecr:*", "Resource": "*"}]}),
    );
    format!("arn:aws:iam::{ACCOUNT}:role/{name}")
}

fn target<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["targets"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["name"] == name))
        .unwrap_or_else(|| panic!("no target {name} in {report:#}"))
}

fn findings_of<'a>(report: &'a Value, target_id: &Value) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            f["targets"]
                .as_array()
                .is_some_and(|t| t.contains(target_id))
        })
        .collect()
}

#[test]
fn read_only_audit_over_a_prefix_sends_nothing_that_writes() {
    let gate = Gate::start(&[]);
    let prefix = format!("{}/", unique_repository("audit-ro"));
    let names: Vec<String> = ["a", "b", "denied"]
        .iter()
        .map(|n| format!("{prefix}{n}"))
        .collect();
    for n in &names {
        create_repository(n, false);
    }
    // The repository policy of one repository denies pushing to everyone.
    ecr_api(
        "SetRepositoryPolicy",
        &json!({
            "repositoryName": names[2],
            "policyText": json!({"Version": "2012-10-17", "Statement": [{
                "Sid": "NoPush", "Effect": "Deny", "Principal": "*", "Action": "ecr:PutImage"
            }]}).to_string(),
        }),
    );
    let missing = unique_repository("audit-missing");
    let role = auditor("audit-ro");
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("report.json");
    let mut run = audit(
        &gate,
        &[
            "--repository-prefix",
            &prefix,
            "--repositories",
            &format!("{missing},{}", names[0]),
            "--role-to-assume",
            &role,
            "--output",
            output.to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    // With --output the JSON goes to the file and the text report, grouped by resource, to stdout.
    assert!(
        run.stdout.contains(&format!(
            "== repository {} ({ACCOUNT}, us-east-1)",
            names[2]
        )),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("targets   4"), "{}", run.stdout);
    run.report = harness::schema::parse(&std::fs::read_to_string(&output).unwrap());
    assert_eq!(run.report["schema_version"], 1);
    let targets = run.report["targets"].as_array().unwrap();
    // The named repository also matched by the prefix is audited once.
    assert_eq!(targets.len(), 4, "{}", run.stdout);
    assert!(targets.iter().all(|t| t["kind"] == "repository"));
    for n in &names[..2] {
        let t = target(&run.report, n);
        assert_eq!(t["verdict"], "pass", "{n}: {}", run.stdout);
        assert_eq!(t["push"]["mode"], "read-only");
        assert_eq!(t["account"], ACCOUNT);
        assert!(
            findings_of(&run.report, &t["id"]).is_empty(),
            "{}",
            run.stdout
        );
    }
    let denied = target(&run.report, &names[2]);
    assert_eq!(denied["verdict"], "fail");
    let denied_findings = findings_of(&run.report, &denied["id"]);
    assert_eq!(denied_findings.len(), 1, "{}", run.stdout);
    assert_eq!(denied_findings[0]["rule"], "push/access-denied");
    assert_eq!(denied_findings[0]["iam_action"], "ecr:PutImage");
    let gone = target(&run.report, &missing);
    assert_eq!(
        findings_of(&run.report, &gone["id"])[0]["rule"],
        "push/repository-not-found"
    );

    // Read-only: no registry request at all, no write API call, no tag.
    let log = gate.requests();
    let registry: Vec<&Value> = log
        .iter()
        .filter(|r| r["path"].as_str().unwrap_or("").starts_with("/v2/"))
        .collect();
    assert!(registry.is_empty(), "registry requests: {registry:?}");
    let actions: Vec<String> = log
        .iter()
        .flat_map(|r| r["actions"].as_array().cloned().unwrap_or_default())
        .filter_map(|a| a.as_str().map(str::to_string))
        .collect();
    for write in [
        "ecr:PutImage",
        "ecr:InitiateLayerUpload",
        "ecr:CompleteLayerUpload",
        "ecr:BatchDeleteImage",
    ] {
        assert!(!actions.iter().any(|a| a == write), "{write} was sent");
    }
    for read in [
        "ecr:GetAuthorizationToken",
        "ecr:GetRepositoryPolicy",
        "ecr:DescribeRepositories",
        "iam:SimulatePrincipalPolicy",
    ] {
        assert!(
            actions.iter().any(|a| a == read),
            "{read} was not sent: {actions:?}"
        );
    }
    for n in &names {
        assert!(registry_tags(n).is_empty(), "{n} got a tag");
    }
}

#[test]
fn push_probe_pushes_to_each_repository_and_cleans_up() {
    let gate = Gate::start(&[]);
    let a = unique_repository("audit-push");
    let b = unique_repository("audit-push");
    create_repository(&a, false);
    create_repository(&b, false);
    let uri = format!("{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/{b}");
    let run = audit(
        &gate,
        &[
            "--repositories",
            &format!("{a},{uri}"),
            "--push-probe",
            "--platforms",
            "linux/amd64",
            "--concurrency",
            "2",
        ],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    for name in [&a, &b] {
        let t = target(&run.report, name);
        assert_eq!(t["push"]["mode"], "push", "{t}");
        assert_eq!(t["push"]["cleaned_up"], true, "{t}");
        assert!(registry_tags(name).is_empty(), "{name} kept a tag");
    }
    let puts = gate
        .requests()
        .iter()
        .filter(|r| r["method"] == "PUT" && r["path"].as_str().unwrap().contains("/manifests/"))
        .count();
    assert!(puts >= 4, "two repositories, index and child each: {puts}");
    assert!(
        run.trace()
            .iter()
            .any(|t| t["path"].as_str().unwrap().contains(b.as_str()))
    );
}

#[test]
fn a_cluster_with_several_services_and_a_denied_one_beside_it() {
    let gate = Gate::start(&["--deny", "ecs:ListServices"]);
    let broken = seed(
        "audit-cluster",
        &[
            "--services",
            "3",
            "--endpoints",
            "ecr.dkr,s3",
            "--logs",
            "none",
        ],
    );
    let cluster = broken["cluster"].as_str().unwrap();
    let run = audit(&gate, &["--cluster", cluster]);
    let t = target(&run.report, cluster);
    assert_eq!(t["kind"], "cluster");
    // ListServices is denied: the cluster's own failure is a finding, not an abort.
    assert!(
        findings_of(&run.report, &t["id"])
            .iter()
            .any(|f| f["rule"] == "network/not-checked"),
        "{}",
        run.stdout
    );

    let gate = Gate::start(&[]);
    let ok = seed("audit-ok", &[]);
    let run = audit(
        &gate,
        &[
            "--cluster",
            cluster,
            "--cluster",
            ok["cluster"].as_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
    let t = target(&run.report, cluster);
    assert_eq!(t["network"]["workloads"].as_array().unwrap().len(), 3);
    let missing: Vec<&Value> = findings_of(&run.report, &t["id"])
        .into_iter()
        .filter(|f| f["rule"] == "network/endpoint-missing")
        .collect();
    assert_eq!(missing.len(), 1, "{}", run.stdout);
    assert_eq!(
        missing[0]["endpoint_service"],
        "com.amazonaws.us-east-1.ecr.api"
    );
    let fine = target(&run.report, ok["cluster"].as_str().unwrap());
    assert_eq!(fine["verdict"], "pass", "{}", run.stdout);
    assert_eq!(run.report["summary"]["errors"], t["summary"]["errors"]);
}

#[test]
fn merge_combines_the_reports_of_two_accounts() {
    let gate = Gate::start(&[]);
    let repo = unique_repository("audit-merge");
    create_repository(&repo, false);
    // A role that may only log in: the rest of the push is denied.
    let name = format!("audit-merge-{}", std::process::id());
    create_role(
        &name,
        &json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"}]}),
    );
    let role = format!("arn:aws:iam::{ACCOUNT}:role/{name}");
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("job-a/report.json");
    std::fs::create_dir_all(first.parent().unwrap()).unwrap();
    let run = audit(
        &gate,
        &[
            "--repositories",
            &repo,
            "--role-to-assume",
            &role,
            "--output",
            first.to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let text = std::fs::read_to_string(&first).unwrap();
    let report: Value = harness::schema::parse(&text);
    let errors = report["summary"]["errors"].as_u64().unwrap();
    // Everything past the login is denied by the role's own policy.
    assert!(errors >= 4, "{}", run.stdout);
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["iam_action"] == "ecr:PutImage")
    );
    // moto has one account: the second matrix job's report is the first one
    // as another account would have written it.
    let second = dir.path().join("job-b/report.json");
    std::fs::create_dir_all(second.parent().unwrap()).unwrap();
    std::fs::write(&second, text.replace(ACCOUNT, "210987654321")).unwrap();

    let merged = run_subcommand(None, "merge", &[dir.path().to_str().unwrap()], &[]);
    merged.assert_no_panic();
    assert_eq!(merged.code, 1, "{}\n{}", merged.stdout, merged.stderr);
    let targets = merged.report["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 2);
    assert_eq!(targets[0]["account"], ACCOUNT);
    assert_eq!(targets[1]["account"], "210987654321");
    // Every finding names its account's repository: nothing to de-duplicate.
    assert_eq!(merged.report["summary"]["errors"], errors * 2);
    assert!(merged.report["identity"].is_null());

    // The same report twice (a re-run's artifact, another file with the same
    // content): one finding per problem, both targets.
    let rerun_dir = tempfile::tempdir().unwrap();
    let rerun = rerun_dir.path().join("report.json");
    std::fs::copy(&first, &rerun).unwrap();
    let again = run_subcommand(
        None,
        "merge",
        &[first.to_str().unwrap(), rerun.to_str().unwrap()],
        &[],
    );
    assert_eq!(again.report["summary"]["errors"], errors);
    assert!(
        again.report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["targets"].as_array().unwrap().len() == 2)
    );

    // A bad file aborts with exit 2 and names the file.
    let bad = dir.path().join("job-c/report.json");
    std::fs::create_dir_all(bad.parent().unwrap()).unwrap();
    std::fs::write(&bad, &text[..text.len() / 3]).unwrap();
    let failed = run_subcommand(None, "merge", &[dir.path().to_str().unwrap()], &[]);
    assert_eq!(failed.code, 2, "{}", failed.stderr);
    assert!(
        failed.stderr.contains("job-c/report.json"),
        "{}",
        failed.stderr
    );
}

#[test]
fn a_prefix_that_cannot_be_listed_is_a_finding_and_the_rest_is_still_audited() {
    let gate = Gate::start(&["--deny", "ecr:DescribeRepositories"]);
    let repo = unique_repository("audit-listdenied");
    create_repository(&repo, false);
    let role = auditor("audit-listdenied");
    let run = audit(
        &gate,
        &[
            "--repository-prefix",
            "it/",
            "--repositories",
            &repo,
            "--role-to-assume",
            &role,
        ],
    );
    // The repositories behind the prefix were not looked at: not verified
    // (exit 3), not a finding about them (exit 1).
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.report["verdict"], "not-verified");
    let failed = run.finding("audit/target-failed");
    assert_eq!(failed["iam_action"], "ecr:DescribeRepositories");
    assert!(failed.get("targets").is_none(), "{failed}");
    assert_eq!(target(&run.report, &repo)["verdict"], "pass");
    assert_eq!(run.report["targets"].as_array().unwrap().len(), 1);
}
