//! The OIDC trust check end to end: the real binary, offline, with the
//! runner's context predicting the job's claims. No stand-ins needed.

mod harness;

use std::path::PathBuf;

use harness::Binary;
use serde_json::Value;

const ROLE: &str = "arn:aws:iam::123456789012:role/github-ecr-push";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn main_only() -> PathBuf {
    root().join("examples/policies/trust-main-only.json")
}

struct Run {
    code: i32,
    stderr: String,
    report: Value,
}

impl Run {
    fn findings(&self, rule: &str) -> Vec<&Value> {
        of_rule(&self.report, rule)
    }

    fn rules(&self) -> Vec<String> {
        self.report["findings"]
            .as_array()
            .map(|f| {
                f.iter()
                    .map(|f| f["rule"].as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn run(binary: Binary) -> Run {
    let out = binary.args(["--format", "json"]).output();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    Run {
        code: out.status.code().unwrap_or(-1),
        stderr: format!(
            "{}\n--- stdout:\n{stdout}",
            String::from_utf8_lossy(&out.stderr)
        ),
        // Under the runner, annotations follow the JSON report on stdout.
        report: {
            let report = serde_json::Deserializer::from_str(&stdout)
                .into_iter::<Value>()
                .next()
                .and_then(Result::ok)
                .unwrap_or(Value::Null);
            if !report.is_null() {
                harness::schema::assert_valid(&report);
            }
            report
        },
    }
}

/// A runner's job on disk: the workspace with `workflow` as
/// `.github/workflows/build-push.yml` (the file `Binary::runner` names),
/// the runner's files directory, and the event payload.
struct Job {
    _dir: tempfile::TempDir,
    workspace: PathBuf,
    files: PathBuf,
    event: PathBuf,
}

fn job(workflow: &str, event: &str) -> Job {
    let dir = tempfile::tempdir().unwrap();
    let workspace = dir.path().join("workspace");
    let files = dir.path().join("files");
    std::fs::create_dir_all(workspace.join(".github/workflows")).unwrap();
    std::fs::create_dir_all(&files).unwrap();
    std::fs::write(workspace.join(".github/workflows/build-push.yml"), workflow).unwrap();
    let event_path = files.join("event.json");
    std::fs::write(&event_path, event).unwrap();
    Job {
        _dir: dir,
        workspace,
        files,
        event: event_path,
    }
}

/// The findings of one rule in a JSON report.
fn of_rule<'r>(report: &'r Value, rule: &str) -> Vec<&'r Value> {
    report["findings"]
        .as_array()
        .map(|f| f.iter().filter(|f| f["rule"] == rule).collect())
        .unwrap_or_default()
}

/// A context set by hand, as a user outside Actions would.
fn context(event: &str, git_ref: &str) -> Binary {
    Binary::new()
        .env("GITHUB_REPOSITORY", "acme/shop")
        .env("GITHUB_EVENT_NAME", event)
        .env("GITHUB_REF", git_ref)
}

/// `check` for [`ROLE`] in that context.
fn by_hand(event: &str, git_ref: &str) -> Binary {
    context(event, git_ref).args(["check", "--role-to-assume", ROLE])
}

#[test]
fn a_pull_request_run_against_a_main_only_trust_policy_is_refused_with_the_fix() {
    let r = run(by_hand("pull_request", "refs/pull/7/merge")
        .arg("--trust-policy")
        .arg(main_only()));
    assert_eq!(r.code, 1, "{}", r.stderr);
    let refused = r.findings("trust/subject-not-admitted");
    assert_eq!(refused.len(), 1, "{:?}", r.rules());
    let finding = refused[0];
    assert_eq!(finding["iam_action"], "sts:AssumeRoleWithWebIdentity");
    let message = finding["message"].as_str().unwrap();
    assert!(
        message.contains("`repo:acme/shop:pull_request`"),
        "{message}"
    );
    assert!(message.contains("Not authorized to perform sts:AssumeRoleWithWebIdentity"));
    assert_eq!(finding["location"]["line"], 16, "the sub condition's line");
    assert_eq!(
        finding["fix"]["policy_statement"]["Condition"]["StringLike"]["token.actions.githubusercontent.com:sub"],
        serde_json::json!([
            "repo:acme/shop:ref:refs/heads/main",
            "repo:acme/shop:pull_request"
        ])
    );
    let trust = &r.report["trust"];
    assert_eq!(trust["role"], ROLE);
    assert_eq!(trust["claims"]["origin"], "predicted");
    assert_eq!(trust["claims"]["sub"], "repo:acme/shop:pull_request");
    assert_eq!(
        trust["claims"]["aud"],
        serde_json::json!(["sts.amazonaws.com"])
    );
}

#[test]
fn a_push_to_main_is_admitted_and_the_report_passes() {
    let r = run(by_hand("push", "refs/heads/main")
        .arg("--trust-policy")
        .arg(main_only()));
    assert_eq!(r.code, 0, "{} {:?}", r.stderr, r.rules());
    assert_eq!(r.report["verdict"], "pass");
    assert_eq!(
        r.report["trust"]["claims"]["sub"],
        "repo:acme/shop:ref:refs/heads/main"
    );
}

#[test]
fn another_audience_is_named() {
    let r = run(by_hand("push", "refs/heads/main")
        .args(["--audience", "https://github.com/acme"])
        .arg("--trust-policy")
        .arg(main_only()));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.rules(), vec!["trust/audience-not-admitted"]);
}

#[test]
fn the_jobs_environment_is_read_from_its_workflow_file() {
    let Job {
        workspace,
        files,
        event,
        ..
    } = &job(
        "on: pull_request\njobs:\n  preflight:\n    runs-on: ubuntu-latest\n    environment: production\n    steps: []\n",
        r#"{"repository":{"visibility":"private"}}"#,
    );
    let policy = std::fs::read_to_string(main_only())
        .unwrap()
        .replace("acme/shop", "octo-org/app");
    std::fs::write(workspace.join("trust.json"), policy).unwrap();
    let r = run(Binary::new().runner(workspace, files, event).args([
        "check",
        "--role-to-assume",
        ROLE,
        "--trust-policy",
        "trust.json",
    ]));
    assert_eq!(r.code, 1, "{}", r.stderr);
    let finding = r.findings("trust/subject-not-admitted");
    assert_eq!(finding.len(), 1, "{:?} {}", r.rules(), r.stderr);
    let message = finding[0]["message"].as_str().unwrap();
    assert!(
        message.contains("repo:octo-org/app:environment:production"),
        "{message}"
    );
    assert!(
        message.contains("presents the environment, not its branch"),
        "{message}"
    );
    assert_eq!(r.report["trust"]["claims"]["environment"], "production");
    // The job summary says what the job presents, beside the findings.
    let summary = std::fs::read_to_string(files.join("summary")).unwrap();
    assert!(
        summary.contains("OIDC trust: arn:aws:iam::123456789012:role/github-ecr-push: subject repo:octo-org/app:environment:production (predicted)"),
        "{summary}"
    );
}

#[test]
fn a_terraform_plans_trust_policy_and_missing_provider_are_judged() {
    let plans = root().join("tests/fixtures/plans");
    let r = run(context("push", "refs/heads/main")
        .current_dir(&plans)
        .args([
            "check",
            "--role-to-assume",
            "arn:aws:iam::123456789012:role/gha-push",
            "--terraform-plan",
            "buildx-push-complete.json",
            "--offline",
        ]));
    assert_eq!(r.code, 0, "{} {:?}", r.stderr, r.rules());
    let any = r.findings("trust/any-repository");
    assert_eq!(
        any.len(),
        1,
        "the fixture's trust policy has no sub condition: {:?}",
        r.rules()
    );
    assert_eq!(any[0]["location"]["address"], Value::Null);
    assert_eq!(any[0]["location"]["file"], "workspace/push/main.tf");
    let provider = r.findings("trust/provider-missing");
    assert_eq!(provider.len(), 1);
    assert_eq!(
        provider[0]["severity"], "warning",
        "another stack may create it"
    );
    assert_eq!(r.report["trust"]["trust_policy"], "aws_iam_role.push");
}

#[test]
fn bad_trust_policy_input_is_a_usage_error() {
    let r = run(Binary::new()
        .args(["check", "--trust-policy"])
        .arg(main_only()));
    assert_eq!(r.code, 2, "needs a role: {}", r.stderr);
    assert!(
        r.stderr.contains("--trust-policy needs --role-to-assume"),
        "{}",
        r.stderr
    );
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("trust.json");
    std::fs::write(&broken, "{\"Statement\": [").unwrap();
    let r = run(by_hand("push", "refs/heads/main")
        .arg("--trust-policy")
        .arg(&broken));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--trust-policy"), "{}", r.stderr);
    let r = run(by_hand("push", "refs/heads/main").args(["--trust-policy", "/dev/zero"]));
    assert_eq!(r.code, 2, "a device is refused: {}", r.stderr);
}

#[test]
fn a_live_run_without_the_token_permission_names_it() {
    let Job {
        workspace,
        files,
        event,
        ..
    } = &job("on: push\njobs:\n  preflight:\n    steps: []\n", "{}");
    let r = run(Binary::new()
        .runner(workspace, files, event)
        .unreachable_aws()
        .args([
            "check",
            "--role-to-assume",
            ROLE,
            "--repository",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app",
            "--timeout",
            "20s",
        ]));
    assert!(r.code == 1, "{} {:?}", r.stderr, r.rules());
    let finding = r.findings("trust/id-token-unavailable");
    assert_eq!(finding.len(), 1, "{:?}", r.rules());
    assert!(
        finding[0]["title"]
            .as_str()
            .unwrap()
            .contains("id-token: write")
    );
    assert_eq!(r.report["trust"]["token"], "missing");
    assert!(
        r.findings("credentials/unavailable").is_empty(),
        "the trust finding says why, instead of the bare credentials one: {:?}",
        r.rules()
    );
}

#[test]
fn the_readmes_trust_example_is_what_the_binary_prints() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let start = readme
        .find("$ GITHUB_REPOSITORY=acme/shop GITHUB_EVENT_NAME=pull_request")
        .expect("the README shows the trust example");
    let block = &readme[start..readme[start..].find("\n```").unwrap() + start];
    let lines: Vec<&str> = block.lines().collect();
    // Three command lines, then the output.
    let command = lines[..3].join(" ").replace('\\', " ");
    assert!(
        command.contains("--trust-policy examples/policies/trust-main-only.json"),
        "{command}"
    );
    let expected = lines[3..].join("\n");
    let out = context("pull_request", "refs/pull/7/merge")
        .current_dir(root())
        .args([
            "check",
            "--role-to-assume",
            ROLE,
            "--trust-policy",
            "examples/policies/trust-main-only.json",
        ])
        .output();
    let printed = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        printed.trim_end(),
        expected,
        "README.md's trust example drifted"
    );
    assert_eq!(out.status.code(), Some(1));
}

/// Live: the gate's OIDC endpoint issues a token for a job with an
/// environment, and its STS (modelling the trust policy, which moto does
/// not evaluate) refuses it. The report explains the refusal from the
/// token's own claims, and prints no token.
#[test]
fn a_live_refusal_is_explained_from_the_tokens_own_claims() {
    let request_token = "request-token-for-trust-tests";
    let gate = harness::Gate::start(&[
        "--oidc-request-token",
        request_token,
        "--oidc-sub",
        "repo:octo-org/app:environment:production",
        "--trust-sub",
        "repo:octo-org/app:ref:refs/heads/main",
    ]);
    let dir = tempfile::tempdir().unwrap();
    let policy = std::fs::read_to_string(main_only())
        .unwrap()
        .replace("acme/shop", "octo-org/app");
    let trust = dir.path().join("trust.json");
    std::fs::write(&trust, policy).unwrap();
    let url = format!("{}/_github/oidc/token?api-version=2.0", gate.url);
    let trust = trust.to_string_lossy().to_string();
    let run = harness::check(
        &gate,
        &[
            "--repository",
            "team/app",
            "--role-to-assume",
            ROLE,
            "--trust-policy",
            &trust,
        ],
        &[
            ("GITHUB_ACTIONS", Some("true")),
            ("ACTIONS_ID_TOKEN_REQUEST_URL", Some(&url)),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", Some(request_token)),
            ("AWS_ACCESS_KEY_ID", None),
            ("AWS_SECRET_ACCESS_KEY", None),
        ],
    );
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let sts: Vec<_> = gate
        .requests()
        .into_iter()
        .filter(|r| r["decision"] == "deny")
        .collect();
    assert_eq!(sts.len(), 1, "the gate's STS refused the token once");
    let trust = &run.report["trust"];
    assert_eq!(trust["claims"]["origin"], "token");
    assert_eq!(
        trust["claims"]["sub"],
        "repo:octo-org/app:environment:production"
    );
    assert_eq!(trust["token"], "available");
    let refused: Vec<&Value> = of_rule(&run.report, "trust/subject-not-admitted");
    assert_eq!(refused.len(), 1, "{}", run.stdout);
    let message = refused[0]["message"].as_str().unwrap();
    assert!(
        message
            .contains("this job presents the subject `repo:octo-org/app:environment:production`"),
        "{message}"
    );
    // The token (a JWT: base64url of `{"alg"…`) appears only where the
    // runner is told to mask it.
    for text in [&run.stdout, &run.stderr] {
        for line in text.lines().filter(|l| l.contains("eyJhbGciOi")) {
            assert!(
                line.starts_with("::add-mask::"),
                "a token was printed: {line}"
            );
        }
    }
}

#[test]
fn the_jobs_own_session_length_is_judged_against_the_roles_maximum() {
    let Job {
        workspace,
        files,
        event,
        ..
    } = &job(
        "on: push\njobs:\n  preflight:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: aws-actions/configure-aws-credentials@v5\n        with:\n          role-to-assume: arn:aws:iam::123456789012:role/gha-push\n          role-duration-seconds: 7200\n          aws-region: us-east-1\n",
        "{}",
    );
    let plan = root().join("tests/fixtures/plans/buildx-push-complete.json");
    let r = run(Binary::new()
        .runner(workspace, files, event)
        .args([
            "check",
            "--offline",
            "--role-to-assume",
            "arn:aws:iam::123456789012:role/gha-push",
            "--terraform-plan",
        ])
        .arg(&plan));
    let too_long = r.findings("trust/session-duration-over-maximum");
    assert_eq!(too_long.len(), 1, "{:?} {}", r.rules(), r.stderr);
    let message = too_long[0]["message"].as_str().unwrap();
    assert!(
        message.contains("7200 seconds") && message.contains("3600 seconds"),
        "{message}"
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
}

/// Live, with no trust policy given: after STS refuses the token, the tool
/// reads the role's trust policy with `iam:GetRole` using the credentials
/// it has besides the token, and explains the refusal from it; without
/// such credentials it says what would let it read the policy.
#[test]
fn a_live_refusal_reads_the_trust_policy_with_get_role() {
    let request_token = "request-token-for-get-role";
    let role_name = format!("trust-read-{}", std::process::id());
    let role = format!("arn:aws:iam::123456789012:role/{role_name}");
    let policy = std::fs::read_to_string(main_only())
        .unwrap()
        .replace("acme/shop", "octo-org/app");
    harness::create_role_trusting(&role_name, &policy);
    let gate = harness::Gate::start(&[
        "--oidc-request-token",
        request_token,
        "--oidc-sub",
        "repo:octo-org/app:pull_request",
        "--trust-sub",
        "repo:octo-org/app:ref:refs/heads/main",
    ]);
    let url = format!("{}/_github/oidc/token?api-version=2.0", gate.url);
    let env = |keys: bool| {
        let mut env = vec![
            ("GITHUB_ACTIONS", Some("true")),
            ("ACTIONS_ID_TOKEN_REQUEST_URL", Some(url.as_str())),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", Some(request_token)),
        ];
        if !keys {
            env.push(("AWS_ACCESS_KEY_ID", None));
            env.push(("AWS_SECRET_ACCESS_KEY", None));
        }
        env
    };
    let args = [
        "--repository",
        "team/app",
        "--role-to-assume",
        role.as_str(),
    ];
    let run = harness::check(&gate, &args, &env(true));
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        run.report["trust"]["trust_policy"],
        format!("{role_name}'s trust policy (iam:GetRole)")
    );
    let refused: Vec<&Value> = of_rule(&run.report, "trust/subject-not-admitted");
    assert_eq!(refused.len(), 1, "{}", run.stdout);
    assert!(
        refused[0]["message"]
            .as_str()
            .unwrap()
            .contains("`repo:octo-org/app:pull_request`")
    );
    // moto's account has no GitHub provider: iam:GetOpenIDConnectProvider says so.
    let provider: Vec<&Value> = of_rule(&run.report, "trust/provider-missing");
    assert_eq!(provider.len(), 1, "{}", run.stdout);
    assert_eq!(provider[0]["severity"], "error", "the account was asked");
    assert!(
        !run.report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "credentials/unavailable"),
        "explained by the trust findings instead: {}",
        run.stdout
    );

    let unread = harness::check(&gate, &args, &env(false));
    assert_eq!(unread.code, 3, "{}\n{}", unread.stdout, unread.stderr);
    let not_evaluated: Vec<&Value> = of_rule(&unread.report, "trust/not-evaluated");
    assert_eq!(not_evaluated.len(), 1, "{}", unread.stdout);
    let message = not_evaluated[0]["message"].as_str().unwrap();
    assert!(
        message.contains("iam:GetRole") && message.contains("--trust-policy"),
        "{message}"
    );
}
