//! Deadlines: endpoints that accept a connection and never answer (black
//! holes), on 127.0.0.1. Each run must end with a report and exit 3 within
//! the `--timeout` it was given — a generous bound, not a measurement.

use std::net::TcpListener;
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

mod harness;

use harness::{Run, run_subcommand};

/// `check` with these arguments and environment (no gate), and how long it took.
fn check(args: &[&str], env: &[(&str, Option<&str>)]) -> (Run, Duration) {
    let started = Instant::now();
    let run = run_subcommand(None, "check", args, env);
    (run, started.elapsed())
}

/// STS accepts and never answers: the credentials step times out at the
/// run's deadline, and the report says so.
#[test]
fn a_black_holed_aws_endpoint_ends_within_the_timeout() {
    let sts = black_hole();
    let (r, elapsed) = check(
        &["--repository", "team/app", "--timeout", "3s"],
        &[("AWS_ENDPOINT_URL", Some(&sts))],
    );
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    assert!(elapsed < Duration::from_secs(30), "took {elapsed:?}");
    let report = &r.report;
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
    let (r, elapsed) = check(
        &[
            "--repository",
            "team/app",
            "--role-to-assume",
            "arn:aws:iam::123456789012:role/pusher",
            "--timeout",
            "3s",
        ],
        &[
            ("ACTIONS_ID_TOKEN_REQUEST_URL", Some(&url)),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", Some("request-token")),
            ("AWS_ACCESS_KEY_ID", None),
            ("AWS_SECRET_ACCESS_KEY", None),
            ("AWS_ENDPOINT_URL", Some("http://127.0.0.1:9")),
        ],
    );
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    assert!(elapsed < Duration::from_secs(30), "took {elapsed:?}");
    let report = &r.report;
    assert_eq!(
        report["findings"][0]["rule"], "credentials/unavailable",
        "{report}"
    );
}

/// `--timeout` is validated like every other option.
#[test]
fn a_bad_timeout_is_a_usage_error() {
    for value in ["0s", "soon", "3d"] {
        let (r, _) = check(&["--repository", "team/app", "--timeout", value], &[]);
        assert_eq!(r.code, 2, "{value}: {}", r.stderr);
        assert!(r.stderr.contains("--timeout"), "{}", r.stderr);
    }
}
