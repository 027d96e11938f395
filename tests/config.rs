//! The configuration file and its suppressions, end to end: the README's
//! quick-start example on the command line (text, JSON, SARIF), and the same
//! file found in the workspace by the action (comment, summary, SARIF).
//! Offline: no stand-ins needed.

mod harness;

use std::path::Path;

use harness::Binary;
use harness::runner::{root, run_step};
use serde_json::Value;

const EXAMPLE: &str = "examples/ecr-fargate-preflight.toml";
const EXPIRES: &str = "2030-12-31";

/// Whether the example's suppression has expired by now (then it is a
/// warning and suppresses nothing).
fn expired() -> bool {
    use ecr_fargate_preflight::config::suppress::Date;
    Date::today() > Date::parse(EXPIRES).unwrap()
}

fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Binary::new()
        .unreachable_aws()
        .current_dir(dir)
        .args(args)
        .output();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The README's quick start: the example file's options and its
/// suppression with an expiry, in the text, JSON and SARIF reports.
#[test]
fn the_quick_start_suppression_is_shown_everywhere_and_leaves_the_verdict() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    assert!(
        readme.contains(&format!("check --config {EXAMPLE}")),
        "the README's quick start no longer runs the example configuration"
    );
    let dir = tempfile::tempdir().unwrap();
    let sarif = dir.path().join("r.sarif");
    let sarif_arg = sarif.to_str().unwrap();
    let (code, stdout, stderr) = run(
        &root(),
        &[
            "check", "--config", EXAMPLE, "--format", "json", "--sarif", sarif_arg,
        ],
    );
    assert_eq!(code, 1, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    harness::schema::assert_valid(&report);
    let findings = report["findings"].as_array().unwrap();
    let endpoint = findings
        .iter()
        .find(|f| f["rule"] == "network/endpoint-missing")
        .expect("the suppressed finding stays in the report");
    if expired() {
        assert!(endpoint.get("suppressed").is_none(), "{endpoint}");
        assert!(
            findings
                .iter()
                .any(|f| f["rule"] == "config/suppression-expired")
        );
        return;
    }
    assert_eq!(endpoint["suppressed"]["expires"], EXPIRES);
    assert!(
        endpoint["suppressed"]["reason"]
            .as_str()
            .unwrap()
            .contains("INFRA-142")
    );
    assert_eq!(
        endpoint["suppressed"]["source"],
        format!("{EXAMPLE}:14"),
        "{endpoint}"
    );
    // Counted apart: the error left is the policy's.
    assert_eq!(report["summary"]["suppressed"], 1);
    assert_eq!(report["summary"]["errors"], 1, "{:#}", report["summary"]);
    assert_eq!(findings[0]["rule"], "push/access-denied");
    assert_eq!(findings.last().unwrap()["rule"], "network/endpoint-missing");

    let sarif: Value = serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let suppressed: Vec<&Value> = results
        .iter()
        .filter(|r| r.get("suppressions").is_some())
        .collect();
    assert_eq!(suppressed.len(), 1, "{results:#?}");
    assert_eq!(suppressed[0]["ruleId"], "network/endpoint-missing");
    assert_eq!(suppressed[0]["suppressions"][0]["kind"], "external");
    assert!(
        suppressed[0]["suppressions"][0]["justification"]
            .as_str()
            .unwrap()
            .contains("INFRA-142")
    );

    // The text report lists it apart, with the reason and the expiry.
    let (code, text, _) = run(&root(), &["check", "--config", EXAMPLE]);
    assert_eq!(code, 1);
    let section = text.split("suppressed (1):").nth(1).expect(&text);
    assert!(section.contains("network/endpoint-missing"), "{text}");
    assert!(section.contains(&format!("until {EXPIRES}")), "{text}");
    assert!(!text.contains("error[network/endpoint-missing]"), "{text}");
}

/// Suppressing the last error passes; an expired entry is a warning and
/// suppresses nothing; an entry that matches nothing is a notice.
#[test]
fn expired_and_unused_suppressions_are_findings() {
    let dir = tempfile::tempdir().unwrap();
    let policy = root().join("examples/policies/aws-documented-push-policy.json");
    let config = format!(
        r#"offline = true
repository = "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app"
policy = ["{}"]

[[ignore]]
rule = "push/access-denied"
resource = "arn:aws:ecr:*:repository/team/*"
reason = "reads are granted by the organisation's SCP-managed role"

[[ignore]]
rule = "push/cleanup-denied"
reason = "was accepted once"
expires = "2001-01-01"

[[ignore]]
rule = "network/endpoint-missing"
reason = "no network checked here"
"#,
        policy.display()
    );
    std::fs::write(dir.path().join(".ecr-fargate-preflight.toml"), config).unwrap();
    let (code, stdout, stderr) = run(dir.path(), &["check", "--format", "json"]);
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("{stderr}"));
    harness::schema::assert_valid(&report);
    assert_eq!(code, 0, "{:#}", report["findings"]);
    assert_eq!(report["verdict"], "pass");
    let rule = |id: &str| {
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["rule"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("no {id} in {:#}", report["findings"]))
    };
    assert!(rule("push/access-denied")["suppressed"].is_object());
    let expired = rule("config/suppression-expired");
    assert_eq!(expired["severity"], "warning");
    assert_eq!(expired["location"]["line"], 10);
    let unused = rule("config/suppression-unused");
    assert_eq!(unused["severity"], "notice");
    assert_eq!(unused["location"]["line"], 15);
    // `--fail-on warning` on the command line overrides the file's default;
    // the expired entry's warning now fails the run.
    let (code, _, _) = run(dir.path(), &["check", "--fail-on", "warning"]);
    assert_eq!(code, 1);
}

/// Unknown keys, bad values and a missing `--config` file are exit 2,
/// naming the key and its line.
#[test]
fn bad_configuration_is_exit_2_naming_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.toml");
    for (text, wanted) in [
        (
            "offline = true\nrepositry = \"team/app\"\n",
            "c.toml:2: unknown key `repositry`",
        ),
        (
            "[audit]\ndry-run = true\n",
            "c.toml:2: unknown key `audit.dry-run`",
        ),
        (
            "offline = \"yes\"\n",
            "c.toml:1: `offline` takes true or false",
        ),
        (
            "[[ignore]]\nrule = \"push/access-denied\"\n",
            "c.toml:1: an `[[ignore]]` entry needs `reason`",
        ),
        (
            "[[ignore]]\nrule = \"push/nope\"\nreason = \"x\"\n",
            "no rule is called `push/nope`",
        ),
        (
            "[[ignore]]\nrule = \"push/access-denied\"\nreason = \"x\"\nexpires = \"soon\"\n",
            "c.toml:4: `ignore.expires`: `soon` is not a date",
        ),
        ("offline = [\n", "c.toml:1: not valid TOML"),
    ] {
        std::fs::write(&file, text).unwrap();
        let (code, _, stderr) = run(
            dir.path(),
            &["check", "--config", "c.toml", "--repository", "team/app"],
        );
        assert_eq!(code, 2, "{text}: {stderr}");
        assert!(stderr.contains(wanted), "{text}: {stderr}");
    }
    let (code, _, stderr) = run(dir.path(), &["audit", "--config", "missing.toml"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("--config: missing.toml is not a file"),
        "{stderr}"
    );
}

/// The action finds `.ecr-fargate-preflight.toml` in the workspace: the
/// suppressed finding is collapsed in the pull-request comment and the job
/// summary, and marked in the SARIF file.
#[tokio::test(flavor = "multi_thread")]
async fn the_action_shows_suppressions_in_the_comment_summary_and_sarif() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let comments = "/repos/octo-org/app/issues/42/comments";
    let github = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(comments))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([])))
        .mount(&github)
        .await;
    Mock::given(method("POST"))
        .and(path(comments))
        .respond_with(|req: &wiremock::Request| {
            let sent: Value = serde_json::from_slice(&req.body).unwrap();
            ResponseTemplate::new(201).set_body_json(harness::github::comment(
                7002,
                sent["body"].as_str().unwrap(),
                harness::github::bot(),
            ))
        })
        .mount(&github)
        .await;
    let api = github.uri();
    let step = tokio::task::spawn_blocking(move || {
        run_step(
            &[("sarif-file", "preflight.sarif"), ("comment", "always")],
            &[("GITHUB_API_URL", api.as_str())],
            "pull_request.opened.json",
            |ws| {
                for f in [
                    "examples/policies/aws-documented-push-policy.json",
                    "examples/snapshots/fargate-1.4-upgrade-before.json",
                ] {
                    std::fs::create_dir_all(ws.join(f).parent().unwrap()).unwrap();
                    std::fs::copy(root().join(f), ws.join(f)).unwrap();
                }
                std::fs::copy(root().join(EXAMPLE), ws.join(".ecr-fargate-preflight.toml"))
                    .unwrap();
            },
        )
    })
    .await
    .unwrap();
    step.assert_no_panic();
    assert_eq!(step.code, 1, "{}\n{}", step.stdout, step.stderr);
    let report = step.report();
    if expired() {
        return;
    }
    assert_eq!(report["summary"]["suppressed"], 1, "{}", step.stderr);
    assert!(
        step.summary
            .contains("<details><summary>1 suppressed finding(s)</summary>"),
        "{}",
        step.summary
    );
    // No annotation for the accepted finding.
    assert!(
        step.lines("::error ")
            .iter()
            .all(|l| !l.contains("network/endpoint-missing")),
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
    let body: Value = serde_json::from_slice(&posts[0].body).unwrap();
    let body = body["body"].as_str().unwrap();
    let (visible, collapsed) = body
        .split_once("<details><summary>1 suppressed finding(s)</summary>")
        .unwrap_or_else(|| panic!("{body}"));
    // Not in the findings table (the path diagram still draws the missing
    // endpoint: it shows the network as it is).
    assert!(
        !visible
            .lines()
            .any(|l| l.starts_with("| ") && l.contains("[network/endpoint-missing]")),
        "{body}"
    );
    assert!(collapsed.contains("network/endpoint-missing"), "{body}");
    assert!(collapsed.contains("INFRA-142"), "{body}");
    assert!(collapsed.contains(EXPIRES), "{body}");
    let sarif: Value = serde_json::from_str(
        &std::fs::read_to_string(step.workspace.path().join("preflight.sarif")).unwrap(),
    )
    .unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert!(
        results
            .iter()
            .any(|r| r["ruleId"] == "network/endpoint-missing"
                && r["suppressions"][0]["justification"]
                    .as_str()
                    .is_some_and(|j| j.contains("INFRA-142"))),
        "{results:#?}"
    );
}

/// `rules <ID>` prints the rule's page, the committed one byte for byte;
/// an unknown id is exit 2 with the ids that contain it.
#[test]
fn rules_id_prints_the_rule_page() {
    let (code, stdout, stderr) = run(&root(), &["rules", "network/endpoint-missing"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.starts_with("# `network/endpoint-missing`"),
        "{stdout}"
    );
    assert!(stdout.contains("## How to fix"), "{stdout}");
    let committed =
        std::fs::read_to_string(root().join("docs/rules/network/endpoint-missing.md")).unwrap();
    assert_eq!(stdout, committed);
    let (code, _, stderr) = run(&root(), &["rules", "endpoint-miss"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("no rule is called `endpoint-miss`")
            && stderr.contains("network/endpoint-missing"),
        "{stderr}"
    );
    // The tables still print.
    let (code, stdout, _) = run(&root(), &["rules", "--markdown"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("(docs/rules/network/endpoint-missing.md)"));
}

/// The hidden `generate` command: completions that the shell accepts and
/// that know the flags (the config file's included), and a man page.
#[test]
fn completions_and_the_man_page_are_generated_from_the_flags() {
    let dir = tempfile::tempdir().unwrap();
    let (code, bash, stderr) = run(dir.path(), &["generate", "bash"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        bash.contains("--fail-on") && bash.contains("--config"),
        "{bash}"
    );
    let file = dir.path().join("c.bash");
    std::fs::write(&file, &bash).unwrap();
    let syntax = std::process::Command::new("bash")
        .arg("-n")
        .arg(&file)
        .output()
        .unwrap();
    assert!(syntax.status.success(), "{syntax:?}");
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        let (code, text, _) = run(dir.path(), &["generate", shell]);
        assert_eq!(code, 0, "{shell}");
        assert!(text.contains("fail-on"), "{shell}: {text}");
    }
    let (code, man, _) = run(dir.path(), &["generate", "man"]);
    assert_eq!(code, 0);
    assert!(man.contains(".TH ecr-fargate-preflight 1"), "{man}");
    assert!(man.contains("check"), "{man}");
    let (code, _, _) = run(dir.path(), &["generate", "tcsh"]);
    assert_eq!(code, 2);
}
