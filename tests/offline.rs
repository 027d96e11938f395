//! Offline checks: policy files and Terraform plans, no AWS call and no
//! credentials — what a fork pull request gets. No stand-ins needed.

mod harness;

use std::path::Path;
use std::process::Command;

use harness::Binary;
use serde_json::Value;

const REPOSITORY: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app";

struct Run {
    code: i32,
    stderr: String,
    report: Value,
}

impl Run {
    fn errors(&self) -> Vec<&Value> {
        self.report["findings"]
            .as_array()
            .map(|f| f.iter().filter(|f| f["severity"] == "error").collect())
            .unwrap_or_default()
    }

    fn rules(&self, severity: &str) -> Vec<String> {
        let mut v: Vec<String> = self.report["findings"]
            .as_array()
            .map(|f| {
                f.iter()
                    .filter(|f| f["severity"] == severity)
                    .filter_map(|f| f["rule"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v.dedup();
        v
    }
}

/// Runs `check --format json` in `dir` with no credentials at all and no way to reach AWS.
fn check(dir: &Path, args: &[&str]) -> Run {
    let out = Binary::new()
        .unreachable_aws()
        .current_dir(dir)
        .args(["check", "--format", "json"])
        .args(args)
        .output();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !stderr.contains("panicked") && !stdout.contains("panicked"),
        "{stderr}"
    );
    Run {
        code: out.status.code().unwrap_or(-1),
        report: harness::schema::parse(&stdout),
        stderr,
    }
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn plans() -> std::path::PathBuf {
    root().join("tests/fixtures/plans")
}

#[test]
fn readme_first_command_flags_layer_reads_in_the_documented_policy() {
    let run = check(
        root(),
        &[
            "--offline",
            "--repository",
            REPOSITORY,
            "--policy",
            "examples/policies/aws-documented-push-policy.json",
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let errors = run.errors();
    assert_eq!(errors.len(), 1, "{:#}", run.report);
    assert_eq!(errors[0]["rule"], "push/access-denied");
    assert_eq!(errors[0]["iam_action"], "ecr:GetDownloadUrlForLayer");
    // One reason per message, and no finding about the probe's own cleanup:
    // offline nothing is pushed.
    let message = errors[0]["message"].as_str().unwrap();
    assert_eq!(
        message.matches("no identity-based policy allows").count(),
        1,
        "{message}"
    );
    assert!(run.rules("warning").is_empty(), "{:#}", run.report);
    assert_eq!(
        errors[0]["location"]["file"],
        "examples/policies/aws-documented-push-policy.json"
    );
    assert!(
        errors[0]["location"]["line"].as_u64().is_some(),
        "{}",
        errors[0]
    );
    assert_eq!(
        errors[0]["fix"]["policy_statement"]["Resource"],
        "arn:aws:ecr:us-east-1:123456789012:repository/team/app"
    );
    let fixed = check(
        root(),
        &[
            "--offline",
            "--repository",
            REPOSITORY,
            "--policy",
            "examples/policies/buildx-push-policy.json",
        ],
    );
    assert_eq!(fixed.code, 0, "{:#}", fixed.report);
    assert!(fixed.report["findings"].as_array().unwrap().is_empty());
}

#[test]
fn without_credentials_the_offline_inputs_still_answer() {
    // Not --offline: the live probe is wanted but there are no credentials (a fork PR).
    let run = check(
        root(),
        &[
            "--repository",
            REPOSITORY,
            "--policy",
            "examples/policies/aws-documented-push-policy.json",
        ],
    );
    assert_eq!(
        run.code, 1,
        "a finding, not 'could not run': {}",
        run.stderr
    );
    assert_eq!(run.rules("notice"), ["credentials/live-checks-skipped"]);
    assert_eq!(run.rules("error"), ["push/access-denied"]);
    // With nothing offline to check, it is exit 3 as before.
    let nothing = check(root(), &["--repository", REPOSITORY]);
    assert_eq!(nothing.code, 3);
}

#[test]
fn an_explicit_deny_in_an_scp_points_at_its_statement() {
    let dir = tempfile::tempdir().unwrap();
    let scp = dir.path().join("scp.json");
    std::fs::write(
        &scp,
        r#"{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": "*", "Resource": "*"},
    {
      "Sid": "NoPushes",
      "Effect": "Deny",
      "Action": "ecr:PutImage",
      "Resource": "*"
    }
  ]
}"#,
    )
    .unwrap();
    let policy = root().join("examples/policies/buildx-push-policy.json");
    let run = check(
        root(),
        &[
            "--offline",
            "--repository",
            REPOSITORY,
            "--policy",
            policy.to_str().unwrap(),
            "--scp",
            scp.to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 1);
    let f = run.errors()[0];
    assert_eq!(f["iam_action"], "ecr:PutImage");
    assert_eq!(f["location"]["line"], 5, "{f}");
    assert!(
        f["fix"]["description"]
            .as_str()
            .unwrap()
            .contains("organization"),
        "{f}"
    );
}

#[test]
fn a_boundary_caps_the_role() {
    let dir = tempfile::tempdir().unwrap();
    let boundary = dir.path().join("boundary.json");
    std::fs::write(
        &boundary,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecr:*"],"Resource":"*","Condition":{}},{"Effect":"Deny","NotAction":["ecr:GetAuthorizationToken","ecr:BatchCheckLayerAvailability","ecr:InitiateLayerUpload","ecr:UploadLayerPart","ecr:CompleteLayerUpload","ecr:PutImage","ecr:BatchGetImage","ecr:BatchDeleteImage"],"Resource":"*"}]}"#,
    )
    .unwrap();
    let policy = root().join("examples/policies/buildx-push-policy.json");
    let run = check(
        root(),
        &[
            "--offline",
            "--repository",
            REPOSITORY,
            "--policy",
            policy.to_str().unwrap(),
            "--boundary",
            boundary.to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 1, "{:#}", run.report);
    assert_eq!(run.errors()[0]["iam_action"], "ecr:GetDownloadUrlForLayer");
}

#[test]
fn plan_push_policy_points_at_the_terraform_resource() {
    let run = check(
        &plans(),
        &[
            "--offline",
            "--terraform-plan",
            "buildx-push-six-actions.json",
            "--repository",
            "team/app",
            "--region",
            "us-east-1",
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let errors = run.errors();
    assert_eq!(errors.len(), 1, "{:#}", run.report);
    assert_eq!(errors[0]["iam_action"], "ecr:GetDownloadUrlForLayer");
    assert_eq!(errors[0]["location"]["address"], "aws_iam_role_policy.push");
    assert!(
        errors[0]["location"]["file"]
            .as_str()
            .unwrap()
            .ends_with("push/main.tf"),
        "{}",
        errors[0]
    );
    let complete = check(
        &plans(),
        &[
            "--offline",
            "--terraform-plan",
            "buildx-push-complete.json",
            "--repository",
            "team/app",
            "--region",
            "us-east-1",
        ],
    );
    assert!(complete.errors().is_empty(), "{:#}", complete.report);
}

/// The plan fixtures give the same network errors as the live scenarios in tests/network.rs.
#[test]
fn plans_give_the_live_scenarios_findings() {
    for (plan, expected) in [
        (
            "fargate-1.4-upgrade-before.json",
            vec!["network/endpoint-missing"],
        ),
        ("all-endpoints.json", vec![]),
        (
            "sg-without-s3-prefix-list.json",
            vec!["network/task-egress-s3-prefix-list"],
        ),
        (
            "s3-gateway-one-route-table.json",
            vec!["network/s3-gateway-route-missing"],
        ),
        (
            "private-dns-off.json",
            vec!["network/endpoint-private-dns-disabled"],
        ),
        ("nat.json", vec![]),
        (
            "endpoint-sg-no-443.json",
            vec!["network/endpoint-ingress-443"],
        ),
        (
            "restrictive-s3-policy.json",
            vec!["network/s3-endpoint-policy-blocks-layers"],
        ),
    ] {
        let run = check(&plans(), &["--offline", "--terraform-plan", plan]);
        assert_eq!(run.rules("error"), expected, "{plan}: {:#}", run.report);
        assert_eq!(run.code, if expected.is_empty() { 0 } else { 1 }, "{plan}");
        for f in run.errors() {
            assert!(
                f["location"]["address"].is_string(),
                "{plan}: no location: {f}"
            );
        }
    }
    let upgrade = check(
        &plans(),
        &[
            "--offline",
            "--terraform-plan",
            "fargate-1.4-upgrade-before.json",
        ],
    );
    assert_eq!(
        upgrade.errors()[0]["endpoint_service"],
        "com.amazonaws.us-east-1.ecr.api"
    );
    assert_eq!(upgrade.report["network"]["source"], "terraform-plan");
}

#[test]
fn bad_offline_inputs_are_exit_2_with_a_location() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [{\"Effect\": \"Maybe\", \"Action\": \"*\", \"Resource\": \"*\"}]\n}").unwrap();
    let run = check(
        root(),
        &[
            "--offline",
            "--repository",
            REPOSITORY,
            "--policy",
            bad.to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("bad.json:3"), "{}", run.stderr);
    let plan = dir.path().join("plan.json");
    std::fs::write(&plan, "{\"format_version\": \"1.2\", \"planned_values\": ").unwrap();
    let run = check(
        root(),
        &["--offline", "--terraform-plan", plan.to_str().unwrap()],
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains(":1:"), "{}", run.stderr);
    let run = check(root(), &["--offline", "--cluster", "prod"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--offline"), "{}", run.stderr);
}

#[test]
fn the_examples_report_what_examples_readme_says() {
    for (plan, rule) in [
        (
            "examples/plans/fargate-1.4-upgrade-before.json",
            "network/endpoint-missing",
        ),
        (
            "examples/plans/sg-without-s3-prefix-list.json",
            "network/task-egress-s3-prefix-list",
        ),
    ] {
        let run = check(root(), &["--offline", "--terraform-plan", plan]);
        assert_eq!(run.code, 1, "{plan}: {}", run.stderr);
        assert_eq!(run.rules("error"), [rule], "{plan}: {:#}", run.report);
    }
    let snapshot = check(
        root(),
        &[
            "--snapshot",
            "examples/snapshots/fargate-1.4-upgrade-before.json",
        ],
    );
    assert_eq!(snapshot.rules("error"), ["network/endpoint-missing"]);
}

/// Under GitHub Actions: annotations on the policy file's line, the job summary, and step outputs.
#[test]
fn under_github_actions_findings_become_annotations_summary_and_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("output");
    let summary = dir.path().join("summary.md");
    let out = Binary::new()
        .current_dir(root())
        .args([
            "check",
            "--offline",
            "--repository",
            REPOSITORY,
            "--policy",
            "examples/policies/aws-documented-push-policy.json",
        ])
        .under_actions()
        .env("GITHUB_OUTPUT", &output)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let annotation = stdout
        .lines()
        .find(|l| l.starts_with("::error "))
        .unwrap_or_else(|| panic!("no error annotation: {stdout}"));
    assert!(
        annotation
            .starts_with("::error file=examples/policies/aws-documented-push-policy.json,line="),
        "{annotation}"
    );
    assert!(annotation.contains("push/access-denied"), "{annotation}");
    let outputs = std::fs::read_to_string(&output).unwrap();
    assert!(outputs.contains("verdict=fail"), "{outputs}");
    assert!(outputs.contains("errors=1"), "{outputs}");
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(md.contains("ecr:GetDownloadUrlForLayer"), "{md}");
}

/// A named input that is a device, a FIFO with no writer or over its size
/// limit is refused before it is read: exit 2 naming the flag and the file,
/// never a hang or a full memory.
#[test]
fn special_and_oversized_input_files_are_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("plan.fifo");
    let status = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(status.success());
    // Should the FIFO ever be opened, a late writer ends the read (and the
    // test then fails on the message) instead of blocking the suite.
    let late_writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_secs(20));
            let _ = std::fs::OpenOptions::new()
                .write(true)
                .custom_flags_nonblocking()
                .open(&fifo);
        })
    };
    let big = dir.path().join("big.json");
    std::fs::write(&big, vec![b' '; 2 * 1024 * 1024]).unwrap();
    let fifo = fifo.to_str().unwrap();
    let big = big.to_str().unwrap();
    for (args, expected) in [
        (
            vec!["--offline", "--terraform-plan", fifo],
            format!("--terraform-plan {fifo}: is a FIFO (named pipe), not a regular file"),
        ),
        (
            vec!["--snapshot", fifo],
            format!("--snapshot {fifo}: is a FIFO (named pipe), not a regular file"),
        ),
        (
            vec![
                "--offline",
                "--repository",
                REPOSITORY,
                "--policy",
                "/dev/zero",
            ],
            "--policy /dev/zero: is a device, not a regular file".to_string(),
        ),
        (
            vec!["--offline", "--repository", REPOSITORY, "--policy", big],
            format!("--policy {big}: is 2.0 MiB, over the limit of 1.0 MiB for this input"),
        ),
    ] {
        let run = check(root(), &args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(&expected), "{args:?}: {}", run.stderr);
    }
    drop(late_writer);
}

/// Opening a FIFO for writing without blocking when no reader is there.
trait NonBlocking {
    fn custom_flags_nonblocking(&mut self) -> &mut Self;
}

impl NonBlocking for std::fs::OpenOptions {
    fn custom_flags_nonblocking(&mut self) -> &mut Self {
        use std::os::unix::fs::OpenOptionsExt;
        // O_NONBLOCK on Linux.
        self.custom_flags(0o4000)
    }
}

#[test]
fn a_malformed_action_is_exit_2_with_its_place_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    for (action, reason) in [
        ("ecr :PutImage", "not letters, digits and hyphens"),
        ("e*r:PutImage", "wildcard in the service prefix"),
    ] {
        let bad = dir.path().join("bad.json");
        std::fs::write(
            &bad,
            format!(
                "{{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {{\"Effect\": \"Allow\", \"Action\": [\"ecr:*\", \"{action}\"], \"Resource\": \"*\"}}\n  ]\n}}"
            ),
        )
        .unwrap();
        let run = check(
            root(),
            &[
                "--offline",
                "--repository",
                REPOSITORY,
                "--policy",
                bad.to_str().unwrap(),
            ],
        );
        assert_eq!(run.code, 2, "{action}: {}", run.stderr);
        // Line 4, the column of the second array element.
        assert!(run.stderr.contains("bad.json:4:45:"), "{}", run.stderr);
        assert!(run.stderr.contains(reason), "{}", run.stderr);
    }
}

#[test]
fn role_session_name_decides_a_repository_policy_naming_the_session() {
    let dir = tempfile::tempdir().unwrap();
    let identity = dir.path().join("identity.json");
    std::fs::write(
        &identity,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:GetAuthorizationToken","Resource":"*"}]}"#,
    )
    .unwrap();
    let repository = dir.path().join("repository.json");
    std::fs::write(
        &repository,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:sts::123456789012:assumed-role/push/GitHubActions"},"Action":"ecr:*"}]}"#,
    )
    .unwrap();
    let run_with = |extra: &[&str]| {
        let mut args = vec![
            "--offline",
            "--repository",
            REPOSITORY,
            "--role-to-assume",
            "arn:aws:iam::123456789012:role/push",
            "--policy",
            identity.to_str().unwrap(),
            "--repository-policy",
            repository.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        check(root(), &args)
    };
    // The default session name is the action's, GitHubActions: the grant applies.
    let default = run_with(&[]);
    assert_eq!(default.code, 0, "{:#}", default.report);
    // Another session name: the repository policy names someone else.
    let other = run_with(&["--role-session-name", "release"]);
    assert_eq!(other.code, 1, "{:#}", other.report);
    assert_eq!(other.rules("error"), ["push/access-denied"]);
    // `--principal` as a session ARN names the session itself.
    let named = run_with(&[
        "--principal",
        "arn:aws:sts::123456789012:assumed-role/push/GitHubActions",
        "--role-session-name",
        "release",
    ]);
    assert_eq!(named.code, 0, "{:#}", named.report);
}

#[test]
fn a_grant_to_everyone_under_a_boundary_is_reported_undetermined_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    };
    let identity = write(
        "identity.json",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:GetAuthorizationToken","Resource":"*"}]}"#,
    );
    let repository = write(
        "repository.json",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr:*"}]}"#,
    );
    let boundary = write(
        "boundary.json",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecr:GetAuthorizationToken","ecr:BatchCheckLayerAvailability"],"Resource":"*"}]}"#,
    );
    let run = check(
        root(),
        &[
            "--offline",
            "--repository",
            REPOSITORY,
            "--principal",
            "arn:aws:iam::123456789012:role/push",
            "--policy",
            &identity,
            "--repository-policy",
            &repository,
            "--boundary",
            &boundary,
        ],
    );
    assert!(run.errors().is_empty(), "{:#}", run.report);
    let undetermined: Vec<&Value> = run.report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "policy/undetermined" && f["iam_action"] == "ecr:PutImage")
        .collect();
    assert_eq!(undetermined.len(), 1, "{:#}", run.report);
    let text = undetermined[0].to_string();
    assert!(text.contains("not which applies to"), "{text}");
}
