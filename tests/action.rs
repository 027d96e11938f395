//! The fake runner: the real binary run end to end the way GitHub's runner
//! runs a container action — no arguments, `GITHUB_ACTIONS=true`, every input
//! of `action.yml` as `INPUT_<NAME>` with hyphens kept and its default
//! applied, temporary `GITHUB_OUTPUT` / `GITHUB_STEP_SUMMARY` files, a real
//! `pull_request` payload at `GITHUB_EVENT_PATH`, the workspace as the
//! working directory — against the moto / registry stand-ins behind the gate.

mod harness;

use std::path::Path;

use harness::runner::{action_defaults, aws_env, root, run_step, with_aws};
use harness::{Binary, Gate, create_repository, unique_repository};

/// A push that fails on one denied action, run as the action on a pull
/// request: outputs, the JSON report file, the summary, annotations and a
/// group per phase.
#[test]
fn a_denied_push_on_a_pull_request_reports_everywhere() {
    let gate = Gate::start(&["--deny", "ecr:CompleteLayerUpload"]);
    let repo = unique_repository("action/denied");
    create_repository(&repo, false);
    let env = aws_env(&gate);
    let step = run_step(
        &[
            ("repository", repo.as_str()),
            ("registry-endpoint", gate.url.as_str()),
            ("comment", "never"),
        ],
        &with_aws(&env),
        "pull_request.opened.json",
        |_| {},
    );
    step.assert_no_panic();
    assert_eq!(step.code, 1, "{}\n{}", step.stdout, step.stderr);
    assert_eq!(step.outputs["verdict"], "fail");
    assert_eq!(step.outputs["errors"], "1", "{:?}", step.outputs);
    assert_eq!(step.outputs["report"], "ecr-fargate-preflight-report.json");
    let report = step.report();
    assert_eq!(report["verdict"], "fail");
    assert_eq!(
        report["findings"][0]["iam_action"],
        "ecr:CompleteLayerUpload"
    );
    let errors = step.lines("::error ");
    assert_eq!(errors.len(), 1, "{}", step.stdout);
    assert!(
        errors[0].contains("ecr%3ACompleteLayerUpload"),
        "{}",
        errors[0]
    );
    assert!(step.summary.contains("## ECR Fargate preflight: ❌ fail"));
    assert!(step.summary.contains("ecr:CompleteLayerUpload"));
    // A group per phase, each closed.
    for title in [
        "::group::Inputs",
        "::group::Credentials",
        &format!("::group::Push probe: {repo}"),
        "::group::ecr-fargate-preflight report",
    ] {
        assert!(
            step.stdout.lines().any(|l| l == title),
            "no `{title}` in {}",
            step.stdout
        );
    }
    assert_eq!(
        step.lines("::group::").len(),
        step.lines("::endgroup::").len(),
        "{}",
        step.stdout
    );
    // The inputs as flags, in the log; the token never.
    assert!(
        step.stdout.contains(&format!(
            "check --repository={repo} --platforms=linux/amd64"
        )),
        "{}",
        step.stdout
    );
    // The token: masked before anything else is printed, and never shown otherwise.
    let first = step.stdout.lines().next().unwrap_or_default();
    assert_eq!(first, "::add-mask::ghs_fakeRunnerToken0000000000000000000");
    assert_eq!(step.stdout.matches("ghs_fakeRunnerToken").count(), 1);
    assert!(!step.stderr.contains("ghs_fakeRunnerToken"));
}

/// The same inputs against a repository the role may push to: pass, exit 0.
#[test]
fn a_passing_push_sets_pass_outputs() {
    let gate = Gate::start(&[]);
    let repo = unique_repository("action/pass");
    create_repository(&repo, false);
    let env = aws_env(&gate);
    let step = run_step(
        &[
            ("repository", repo.as_str()),
            ("registry-endpoint", gate.url.as_str()),
            ("platforms", "linux/amd64"),
        ],
        &with_aws(&env),
        "pull_request.opened.json",
        |_| {},
    );
    step.assert_no_panic();
    assert_eq!(step.code, 0, "{}\n{}", step.stdout, step.stderr);
    assert_eq!(step.outputs["verdict"], "pass");
    assert_eq!(step.outputs["errors"], "0");
    assert!(step.lines("::error").is_empty(), "{}", step.stdout);
    assert_eq!(step.report()["push"]["platforms"][0], "linux/amd64");
    assert!(step.summary.contains("✅ pass"));
}

/// A fork's pull request: no credentials, no OIDC. The offline inputs still
/// answer, with annotations on the policy file's line; the live part is a notice.
#[test]
fn a_fork_pull_request_without_credentials_still_gets_the_offline_answer() {
    let policy =
        std::fs::read_to_string(root().join("examples/policies/aws-documented-push-policy.json"))
            .unwrap();
    let step = run_step(
        &[
            (
                "repository",
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app",
            ),
            ("policy-files", "policies/push.json\n"),
            ("role-to-assume", "arn:aws:iam::123456789012:role/ci-push"),
            ("sarif-file", "preflight.sarif"),
        ],
        &[],
        "pull_request.fork.json",
        |ws| {
            std::fs::create_dir_all(ws.join("policies")).unwrap();
            std::fs::write(ws.join("policies/push.json"), policy).unwrap();
        },
    );
    step.assert_no_panic();
    assert_eq!(step.code, 1, "{}\n{}", step.stdout, step.stderr);
    assert_eq!(step.outputs["verdict"], "fail");
    let error = step.lines("::error ");
    assert!(
        error
            .iter()
            .any(|l| l.starts_with("::error file=policies/push.json,line=")),
        "{}",
        step.stdout
    );
    assert!(
        step.lines("::notice ")
            .iter()
            .any(|l| l.contains("credentials/live-checks-skipped")),
        "{}",
        step.stdout
    );
    let report = step.report();
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["iam_action"] == "ecr:GetDownloadUrlForLayer")
    );
    // SARIF for code scanning, pointing at the policy file.
    assert_eq!(step.outputs["sarif-file"], "preflight.sarif");
    let sarif: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(step.workspace.path().join("preflight.sarif")).unwrap(),
    )
    .unwrap();
    let result = &sarif["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "push/access-denied");
    assert_eq!(
        result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "policies/push.json"
    );
}

/// Bad inputs: exit 2, an error annotation naming the input, no outputs
/// claiming a verdict.
#[test]
fn bad_inputs_fail_with_the_input_named() {
    for (inputs, expected) in [
        (
            vec![("repository", "team/app"), ("dry-run", "maybe")],
            "input `dry-run`: `maybe` is not a boolean",
        ),
        (vec![], "nothing to check: set at least one of the inputs"),
        (
            vec![("cluster", "prod"), ("mode", "push")],
            "`mode: push` needs the `repository` input",
        ),
        (
            vec![("repository", "team/app"), ("fail-on", "sometimes")],
            "input `fail-on`",
        ),
        (
            vec![("repository", "team/app")],
            "no AWS region: pass input `aws-region`, use a repository URI, or set AWS_REGION",
        ),
        (
            vec![
                ("repository", "team/app"),
                ("platforms", "linux/amd64,arm64"),
            ],
            "input `platforms`",
        ),
    ] {
        let step = run_step(&inputs, &[], "pull_request.opened.json", |_| {});
        step.assert_no_panic();
        assert_eq!(step.code, 2, "{inputs:?}: {}\n{}", step.stdout, step.stderr);
        let errors = step.lines("::error title=ecr-fargate-preflight::");
        assert_eq!(errors.len(), 1, "{inputs:?}: {}", step.stdout);
        assert!(errors[0].contains(expected), "{inputs:?}: {}", errors[0]);
        assert!(!step.outputs.contains_key("verdict"), "{:?}", step.outputs);
    }
}

/// `ecr-fargate-preflight action` outside a runner reads the same inputs;
/// with no arguments outside GitHub Actions it prints usage and exits 2.
#[test]
fn the_action_command_and_a_bare_run() {
    let out = Binary::new().output();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Usage"));

    let dir = tempfile::tempdir().unwrap();
    let out = Binary::new()
        .current_dir(root())
        .arg("action")
        .env(
            "INPUT_REPOSITORY",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app",
        )
        .env(
            "INPUT_POLICY_FILES",
            "examples/policies/buildx-push-policy.json",
        )
        .env("INPUT_OFFLINE", "true")
        .env("INPUT_REPORT_FILE", dir.path().join("r.json"))
        .output();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(!stdout.contains("::group::"), "{stdout}");
    let report =
        harness::schema::parse(&std::fs::read_to_string(dir.path().join("r.json")).unwrap());
    assert_eq!(report["verdict"], "pass");
}

/// The README's input table, as generated from action.yml.
fn inputs_table() -> String {
    let text = std::fs::read_to_string(root().join("action.yml")).unwrap();
    let doc: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    let mut table = String::from("| input | CLI | default | what |\n|---|---|---|---|\n");
    for (name, spec) in doc["inputs"].as_mapping().unwrap() {
        let name = name.as_str().unwrap();
        let cli = if ecr_fargate_preflight::action::ACTION_ONLY.contains(&name) {
            "(action only)".to_string()
        } else if name == "reports" {
            "`merge FILE|DIR…`".replace('|', "\\|")
        } else {
            let flag = ecr_fargate_preflight::action::RENAMED
                .iter()
                .find(|(i, _)| *i == name)
                .map_or(name, |(_, f)| f);
            format!("`--{flag}`")
        };
        let default = spec
            .get("default")
            .and_then(|d| d.as_str())
            .map(|d| format!("`{d}`"))
            .unwrap_or_default();
        let what = spec["description"]
            .as_str()
            .unwrap()
            .replace('|', "\\|")
            .replace('\n', " ");
        table.push_str(&format!("| `{name}` | {cli} | {default} | {what} |\n"));
    }
    table.push_str("\n| output | what |\n|---|---|\n");
    for (name, spec) in doc["outputs"].as_mapping().unwrap() {
        table.push_str(&format!(
            "| `{}` | {} |\n",
            name.as_str().unwrap(),
            spec["description"].as_str().unwrap().replace('|', "\\|")
        ));
    }
    table
}

/// Every input and output of action.yml is documented in the README, with
/// its flag and default.
#[test]
fn the_readme_documents_every_input_and_output() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let table = inputs_table();
    assert!(
        readme.contains(&table),
        "README.md's action input table is out of date; replace it with:\n\n{table}"
    );
}

/// Every input is a flag of a command (by the same name or the documented
/// rename) or read by the action itself, and its default is the flag's.
#[test]
fn every_input_is_an_option_with_the_same_default() {
    use clap::CommandFactory;
    let cli = ecr_fargate_preflight::cli::Cli::command();
    let defaults = action_defaults();
    let mut flags = std::collections::BTreeMap::new();
    for sub in ecr_fargate_preflight::action::COMMANDS {
        let sub = cli.find_subcommand(sub).unwrap();
        for arg in sub.get_arguments() {
            let name = ecr_fargate_preflight::action::input_name(
                arg.get_long().unwrap_or(arg.get_id().as_str()),
            );
            flags.entry(name.to_string()).or_insert_with(Vec::new).push(
                Some(
                    arg.get_default_values()
                        .iter()
                        .map(|v| v.to_string_lossy().into_owned())
                        .collect::<Vec<_>>()
                        .join(","),
                )
                .filter(|d| d != "false")
                .unwrap_or_default(),
            );
        }
    }
    for (input, default) in &defaults {
        if ecr_fargate_preflight::action::ACTION_ONLY.contains(&input.as_str()) {
            continue;
        }
        let Some(flag_defaults) = flags.get(input) else {
            panic!(
                "input `{input}` is no option of {:?}",
                ecr_fargate_preflight::action::COMMANDS
            );
        };
        let expected = default.clone().filter(|d| d != "false").unwrap_or_default();
        assert!(
            flag_defaults.iter().all(|d| *d == expected),
            "input `{input}` defaults to {expected:?}, the flag to {flag_defaults:?}"
        );
    }
    // And the other way: every option of `check` has its input.
    let check = cli.find_subcommand("check").unwrap();
    for arg in check.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        if matches!(long, "help") {
            continue;
        }
        let input = ecr_fargate_preflight::action::input_name(long);
        assert!(
            defaults.contains_key(input),
            "`check --{long}` has no input `{input}` in action.yml"
        );
    }
}

/// The sticky comment through the action, against a local GitHub API: the
/// first run creates it (with the marker, the findings and a link to the
/// run) and sets `comment-url`; a read-only token is a notice, not a failure.
#[tokio::test(flavor = "multi_thread")]
async fn the_pull_request_comment_is_posted_and_its_url_is_an_output() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let comments = "/repos/octo-org/app/issues/42/comments";
    let inputs = [
        (
            "repository",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app",
        ),
        (
            "policy-files",
            "examples/policies/aws-documented-push-policy.json",
        ),
        ("offline", "true"),
    ];
    let copy_examples = |ws: &Path| {
        std::fs::create_dir_all(ws.join("examples/policies")).unwrap();
        std::fs::copy(
            root().join("examples/policies/aws-documented-push-policy.json"),
            ws.join("examples/policies/aws-documented-push-policy.json"),
        )
        .unwrap();
    };

    let github = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(comments))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([])))
        .mount(&github)
        .await;
    Mock::given(method("POST"))
        .and(path(comments))
        .respond_with(|req: &wiremock::Request| {
            let sent: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
            ResponseTemplate::new(201).set_body_json(harness::github::comment(
                7001,
                sent["body"].as_str().unwrap(),
                harness::github::bot(),
            ))
        })
        .mount(&github)
        .await;
    let api = github.uri();
    let step = tokio::task::spawn_blocking(move || {
        run_step(
            &inputs,
            &[("GITHUB_API_URL", api.as_str())],
            "pull_request.opened.json",
            copy_examples,
        )
    })
    .await
    .unwrap();
    step.assert_no_panic();
    assert_eq!(step.code, 1, "{}\n{}", step.stdout, step.stderr);
    assert_eq!(
        step.outputs.get("comment-url").map(String::as_str),
        Some("https://github.com/acme/app/pull/42#issuecomment-7001"),
        "{}",
        step.stdout
    );
    let posts: Vec<_> = github
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.method.as_str() == "POST")
        .collect();
    assert_eq!(posts.len(), 1);
    let auth = posts[0]
        .headers
        .get("authorization")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        auth.ends_with("ghs_fakeRunnerToken0000000000000000000"),
        "{auth}"
    );
    let body: serde_json::Value = serde_json::from_slice(&posts[0].body).unwrap();
    let body = body["body"].as_str().unwrap();
    assert!(
        body.starts_with("<!-- ecr-fargate-preflight:build-push:preflight:"),
        "{body}"
    );
    assert!(body.contains("ecr:GetDownloadUrlForLayer"), "{body}");
    assert!(
        body.contains("https://github.com/octo-org/app/actions/runs/1658821493"),
        "{body}"
    );

    // A read-only token: 403 → a notice; the step's result is the findings' (1), not a failure of its own.
    let github = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(comments))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([])))
        .mount(&github)
        .await;
    Mock::given(method("POST"))
        .and(path(comments))
        .respond_with(ResponseTemplate::new(403).set_body_json(serde_json::json!({
            "message": "Resource not accessible by integration",
            "documentation_url": "https://docs.github.com/rest/issues/comments#create-an-issue-comment",
            "status": "403"
        })))
        .mount(&github)
        .await;
    let api = github.uri();
    let step = tokio::task::spawn_blocking(move || {
        run_step(
            &inputs,
            &[("GITHUB_API_URL", api.as_str())],
            "pull_request.opened.json",
            copy_examples,
        )
    })
    .await
    .unwrap();
    assert_eq!(step.code, 1, "{}\n{}", step.stdout, step.stderr);
    assert!(!step.outputs.contains_key("comment-url"));
    assert!(
        step.lines("::notice ")
            .iter()
            .any(|l| l.contains("pull-requests: write")),
        "{}",
        step.stdout
    );
    assert!(step.summary.contains("ecr:GetDownloadUrlForLayer"));
}

/// The last job of the audit workflow: `command: merge` over the matrix
/// jobs' downloaded report artifacts gives one report, one summary and one
/// SARIF file.
#[test]
fn merge_combines_the_matrix_jobs_reports() {
    let step = run_step(
        &[
            ("command", "merge"),
            ("reports", "artifacts/"),
            ("sarif-file", "merged.sarif"),
            ("comment", "never"),
        ],
        &[],
        "pull_request.opened.json",
        |ws| {
            // Two matrix legs (here: two roles' policies) on one repository.
            for (leg, policy) in [
                ("documented", "aws-documented-push-policy.json"),
                ("buildx", "buildx-push-policy.json"),
            ] {
                let dir = ws.join(format!("artifacts/report-{leg}"));
                std::fs::create_dir_all(&dir).unwrap();
                let out = Binary::new()
                    .current_dir(root())
                    .args([
                        "check",
                        "--offline",
                        "--format",
                        "json",
                        "--repository",
                        "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app",
                        "--policy",
                        &format!("examples/policies/{policy}"),
                        "--output",
                    ])
                    .arg(dir.join("ecr-fargate-preflight-report.json"))
                    .output();
                assert!(out.status.code().is_some_and(|c| c < 2), "{out:?}");
            }
        },
    );
    step.assert_no_panic();
    assert_eq!(step.code, 1, "{}\n{}", step.stdout, step.stderr);
    assert_eq!(step.outputs["verdict"], "fail");
    assert_eq!(step.outputs["errors"], "1", "{:?}", step.outputs);
    assert_eq!(step.outputs["sarif-file"], "merged.sarif");
    let report = step.report();
    assert_eq!(
        report["targets"].as_array().map(Vec::len),
        Some(2),
        "{report}"
    );
    assert!(step.workspace.path().join("merged.sarif").exists());
    assert!(step.summary.contains("ecr:GetDownloadUrlForLayer"));
    assert!(
        step.stdout.contains("merge --sarif=merged.sarif") || step.stdout.contains("merge "),
        "{}",
        step.stdout
    );
}
