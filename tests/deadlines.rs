//! Deadlines: endpoints that accept a connection and never answer (black
//! holes), on 127.0.0.1. Each run must end with a report and exit 3 within
//! the `--timeout` it was given — a generous bound, not a measurement.

use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

/// A server that accepts every connection and never answers. Returns its URL.
fn black_hole() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    url
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

fn run(args: &[&str], env: &[(&str, &str)]) -> Run {
    let started = Instant::now();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ecr-fargate-preflight"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_CONFIG_FILE", "/nonexistent/config")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_REGION", "us-east-1")
        .env("NO_COLOR", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: started.elapsed(),
    }
}

/// STS accepts and never answers: the credentials step times out at the
/// run's deadline, and the report says so.
#[test]
fn a_black_holed_aws_endpoint_ends_within_the_timeout() {
    let sts = black_hole();
    let r = run(
        &[
            "check",
            "--repository",
            "team/app",
            "--timeout",
            "3s",
            "--format",
            "json",
        ],
        &[
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_ENDPOINT_URL", &sts),
        ],
    );
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    assert!(r.elapsed < Duration::from_secs(30), "took {:?}", r.elapsed);
    let report: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let finding = &report["findings"][0];
    assert_eq!(finding["rule"], "credentials/unavailable", "{report}");
    assert!(
        finding["message"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("timeout")
            || finding["message"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .contains("timed out"),
        "{report}"
    );
}

/// The GitHub OIDC token endpoint accepts and never answers.
#[test]
fn a_black_holed_oidc_endpoint_ends_within_the_timeout() {
    let oidc = black_hole();
    let url = format!("{oidc}/token?api-version=2.0");
    let r = run(
        &[
            "check",
            "--repository",
            "team/app",
            "--role-to-assume",
            "arn:aws:iam::123456789012:role/pusher",
            "--timeout",
            "3s",
            "--format",
            "json",
        ],
        &[
            ("ACTIONS_ID_TOKEN_REQUEST_URL", &url),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "request-token"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
        ],
    );
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    assert!(r.elapsed < Duration::from_secs(30), "took {:?}", r.elapsed);
    let report: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        report["findings"][0]["rule"], "credentials/unavailable",
        "{report}"
    );
}

/// `--timeout` is validated like every other option.
#[test]
fn a_bad_timeout_is_a_usage_error() {
    for value in ["0s", "soon", "3d"] {
        let r = run(
            &["check", "--repository", "team/app", "--timeout", value],
            &[],
        );
        assert_eq!(r.code, 2, "{value}: {}", r.stderr);
        assert!(r.stderr.contains("--timeout"), "{}", r.stderr);
    }
}
