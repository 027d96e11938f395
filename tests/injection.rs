//! Workflow-command injection: hostile text in every input, in the answers
//! of a registry, in file names and file contents, read back the way the
//! GitHub Actions runner reads a step's output ([`emulate`]). The only
//! commands must be the tool's own, and no secret may be shown.

mod harness;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;

use harness::runner::{Emulation, action_defaults, emulate, run_step};
use harness::{Binary, Gate, create_repository, stand_ins, unique_repository};

/// Strings that would be workflow commands if printed as they are.
const CORPUS: &[&str] = &[
    "x\n::set-output name=verdict::pass",
    "x\n   ::error::injected-indented",
    "x ##[error]injected-legacy",
    "x%0A::warning::injected-percent",
    "prod\n::stop-commands::zz",
    "x\r::add-mask::injected-cr",
    "::set-output name=verdict::pass",
];

fn check_emulation(stdout: &str, stderr: &str, context: &str) -> Emulation {
    let e = emulate(stdout, stderr);
    let context = format!("{context}\n--- stdout\n{stdout}\n--- stderr\n{stderr}");
    e.assert_only_own_commands(&context);
    e
}

/// Every input of action.yml, set to each string of the corpus: the run
/// ends with a documented exit code, issues only the tool's own commands,
/// and sets no output the hostile value names.
#[test]
fn no_input_can_issue_a_workflow_command() {
    let inputs: Vec<String> = action_defaults().into_keys().collect();
    assert!(inputs.len() > 40, "{inputs:?}");
    let mut runs = 0;
    for input in &inputs {
        for value in CORPUS {
            let mut given = vec![(input.as_str(), *value)];
            if input != "repository" {
                given.push(("repository", "team/app"));
            }
            let step = run_step(
                &given,
                // Nowhere to get credentials from: the run ends quickly.
                &[("AWS_REGION", "us-east-1")],
                "pull_request.opened.json",
                |_| {},
            );
            runs += 1;
            let context = format!("input `{input}` = {value:?} (exit {})", step.code);
            step.assert_no_panic();
            assert!(
                (0..=3).contains(&step.code),
                "undocumented exit code: {context}"
            );
            check_emulation(&step.stdout, &step.stderr, &context);
            for name in step.outputs.keys() {
                assert!(
                    ["verdict", "errors", "warnings", "report", "sarif-file"]
                        .contains(&name.as_str()),
                    "an output the tool does not set: {name} ({context})"
                );
            }
            if input == "github-token" {
                continue;
            }
            // The job token is masked first, and shown nowhere.
            assert!(
                step.stdout
                    .starts_with("::add-mask::ghs_fakeRunnerToken0000000000000000000\n"),
                "{context}"
            );
            let e = emulate(&step.stdout, &step.stderr);
            e.assert_no_secret_shown(&["ghs_fakeRunnerToken"], &context);
            assert!(!step.stderr.contains("ghs_fakeRunnerToken"), "{context}");
        }
    }
    assert_eq!(runs, inputs.len() * CORPUS.len());
}

/// A value with a line break is refused before it is echoed, and the
/// message says where the control character is instead of quoting it.
#[test]
fn a_control_character_in_an_input_is_refused_without_being_echoed() {
    for input in [
        "cluster",
        "role-to-assume",
        "audience",
        "aws-region",
        "comment-key",
    ] {
        let step = run_step(
            &[
                ("repository", "team/app"),
                (input, "prod\n::stop-commands::zz"),
            ],
            &[],
            "pull_request.opened.json",
            |_| {},
        );
        assert_eq!(step.code, 2, "{input}: {}\n{}", step.stdout, step.stderr);
        assert!(
            step.stderr.contains(&format!(
                "input `{input}`: contains a control character (U+000A at character 5)"
            )),
            "{input}: {}",
            step.stderr
        );
        assert!(
            !step.stdout.contains("stop-commands::zz"),
            "{}",
            step.stdout
        );
        assert!(!step.stderr.contains("stop-commands"), "{}", step.stderr);
        // Nothing ran: the Inputs group is never opened.
        assert!(!step.stdout.contains("::group::Inputs"), "{}", step.stdout);
    }
}

/// A server on 127.0.0.1 that answers every request with `status`,
/// `content_type` and `body` (no body to a HEAD). Returns its URL.
fn hostile_server(status: &'static str, content_type: &'static str, body: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let body = body.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut length = 0usize;
                let mut method = String::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    if method.is_empty() {
                        method = line.split(' ').next().unwrap_or_default().to_string();
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                    if line == "\r\n" {
                        break;
                    }
                }
                let mut request_body = vec![0; length];
                let _ = reader.read_exact(&mut request_body);
                let payload = if method == "HEAD" { "" } else { body.as_str() };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{payload}",
                    payload.len()
                );
            });
        }
    });
    url
}

/// A registry whose every answer is a denial with hostile text in its message.
fn hostile_registry(message: &str) -> String {
    let json = serde_json::json!({ "errors": [{ "code": "DENIED", "message": message }] });
    hostile_server("403 Forbidden", "application/json", json.to_string())
}

const HOSTILE_MESSAGE: &str = "User: arn:aws:sts::123456789012:assumed-role/pusher/GitHubActions is not authorized to perform: ecr:InitiateLayerUpload\n::set-output name=verdict::pass\n   ::error::injected ##[error]legacy\r::stop-commands::zz\n::add-mask::x";

/// The job's OIDC token, STS and ECR's token as in a real run, against a
/// registry that answers with hostile text: the findings carry that text
/// (so it reached every place the tool prints), yet the only commands are
/// the tool's own, and every secret was masked before it could be shown.
#[test]
fn hostile_registry_answers_issue_no_command_and_secrets_stay_masked() {
    let request_token = "oidc-request-token-for-injection-tests";
    let gate = Gate::start(&["--oidc-request-token", request_token]);
    let repo = unique_repository("injection/registry");
    create_repository(&repo, false);
    let registry = hostile_registry(HOSTILE_MESSAGE);
    let oidc_url = format!("{}/_github/oidc/token?api-version=2.0", gate.url);
    let step = run_step(
        &[
            ("repository", repo.as_str()),
            ("registry-endpoint", registry.as_str()),
            ("role-to-assume", "arn:aws:iam::123456789012:role/pusher"),
            ("platforms", "linux/amd64"),
            ("comment", "never"),
        ],
        &[
            ("AWS_REGION", "us-east-1"),
            ("AWS_ENDPOINT_URL", gate.url.as_str()),
            ("ACTIONS_ID_TOKEN_REQUEST_URL", oidc_url.as_str()),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", request_token),
        ],
        "pull_request.opened.json",
        |_| {},
    );
    step.assert_no_panic();
    let context = format!("exit {}", step.code);
    let e = check_emulation(&step.stdout, &step.stderr, &context);
    // The hostile text did reach the report and the log.
    let report = step.report();
    assert!(
        report
            .to_string()
            .contains("::set-output name=verdict::pass"),
        "{report}"
    );
    assert!(step.stdout.contains("injected"), "{}", step.stdout);
    assert_ne!(
        step.outputs.get("verdict").map(String::as_str),
        Some("pass")
    );
    // Every secret was masked, and none is shown in the log or on stderr.
    let password = stand_ins().password;
    let jwt = e
        .masks
        .iter()
        .find(|m| m.split('.').count() == 3)
        .cloned()
        .expect("the JWT is masked");
    let secrets = [request_token, password.as_str(), jwt.as_str()];
    for secret in secrets {
        assert!(
            e.masks.iter().any(|m| m == secret),
            "not masked: {secret}\n{}",
            step.stdout
        );
        assert!(!step.stderr.contains(secret), "on stderr: {secret}");
    }
    e.assert_no_secret_shown(&secrets, &step.stdout);
}

/// AWS (STS's XML error) and GitHub (a REST error) answering with hostile
/// text: the messages reach the report, the log and the annotations, and
/// issue no command.
#[test]
fn hostile_aws_and_github_answers_issue_no_command() {
    let sts = hostile_server(
        "403 Forbidden",
        "text/xml",
        format!(
            "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>{}</Message></Error><RequestId>1</RequestId></ErrorResponse>",
            HOSTILE_MESSAGE.replace('&', "&amp;").replace('<', "&lt;")
        ),
    );
    let github = hostile_server(
        "403 Forbidden",
        "application/json",
        serde_json::json!({
            "message": format!("Resource not accessible by integration\n{HOSTILE_MESSAGE}"),
            "documentation_url": "https://docs.github.com/rest"
        })
        .to_string(),
    );
    let step = run_step(
        &[
            ("repository", "team/app"),
            ("role-to-assume", "arn:aws:iam::123456789012:role/pusher"),
            ("comment", "always"),
        ],
        &[
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_ENDPOINT_URL", sts.as_str()),
            ("GITHUB_API_URL", github.as_str()),
        ],
        "pull_request.opened.json",
        |_| {},
    );
    step.assert_no_panic();
    let context = format!("exit {}", step.code);
    check_emulation(&step.stdout, &step.stderr, &context);
    // The hostile text did reach the log and the report.
    assert!(
        step.stdout.contains("injected"),
        "{}\n{}",
        step.stdout,
        step.stderr
    );
    assert!(
        step.report().to_string().contains("set-output"),
        "{}",
        step.stdout
    );
    // The comment was tried, and GitHub's hostile refusal is in its notice.
    let notice = step
        .stdout
        .lines()
        .find(|l| l.starts_with("::notice title=Pull-request comment::"))
        .unwrap_or_else(|| panic!("no comment notice: {}", step.stdout));
    assert!(notice.contains("%0A::set-output"), "{notice}");
}

/// Outside the action, a command line under GitHub Actions (a `run:` step):
/// a hostile file name, policy content and option value issue no command.
#[test]
fn hostile_file_names_contents_and_arguments_issue_no_command() {
    let dir = tempfile::tempdir().unwrap();
    let name = "pol\n::set-output name=verdict::pass\n ##[error]x.json";
    let policy = dir.path().join(name);
    std::fs::write(
        &policy,
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"x\n::error::sid","Effect":"Allow","Action":["ecr:GetAuthorizationToken"],"Resource":"*"}]}"#,
    )
    .unwrap();
    let runs: Vec<Vec<String>> = vec![
        vec![
            "check".into(),
            "--offline".into(),
            "--repository".into(),
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app".into(),
            "--policy".into(),
            policy.display().to_string(),
        ],
        vec![
            "check".into(),
            "--repository".into(),
            "team/app".into(),
            "--fail-on".into(),
            "x\n::set-output name=verdict::pass".into(),
        ],
        vec![
            "check".into(),
            "--offline".into(),
            "--repository".into(),
            "team/app".into(),
            "--policy".into(),
            dir.path()
                .join("missing\n::error::y.json")
                .display()
                .to_string(),
        ],
        vec![
            "merge".into(),
            dir.path()
                .join("no ##[error]such\r::warning::dir")
                .display()
                .to_string(),
        ],
    ];
    for args in runs {
        let out = Binary::new()
            .args(&args)
            .current_dir(dir.path())
            .under_actions()
            .output();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let code = out.status.code().unwrap_or(-1);
        assert!(
            (0..=3).contains(&code),
            "{args:?}: {code}\n{stdout}\n{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        check_emulation(&stdout, &stderr, &format!("{args:?}"));
    }
}
