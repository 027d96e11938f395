//! Shared harness for the integration tests: the stand-ins started by
//! `scripts/test` (moto server, docker-registry), one ECR behaviour gate per
//! test, and [`Binary`], the one way the tests start the real binary.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

pub mod binary;
pub mod github;
pub mod runner;
pub mod schema;

pub use binary::Binary;

/// The long-running stand-ins, from the environment `scripts/test` sets.
pub struct StandIns {
    /// moto server base URL.
    pub moto: String,
    /// docker-registry base URL.
    pub registry: String,
    /// The registry password (the decoded moto token).
    pub password: String,
}

/// The stand-ins; a clear failure when the tests were not started by `scripts/test`.
pub fn stand_ins() -> StandIns {
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| {
            panic!("{name} is not set: the integration tests need the stand-ins; run them with scripts/test")
        })
    };
    StandIns {
        moto: var("EFP_TEST_MOTO_URL"),
        registry: var("EFP_TEST_REGISTRY_URL"),
        password: var("EFP_TEST_REGISTRY_PASSWORD"),
    }
}

/// Seeds a Fargate networking scenario into moto (`tests/network/seed.py`)
/// under a unique name and returns its ids.
pub fn seed(prefix: &str, options: &[&str]) -> Value {
    static N: AtomicUsize = AtomicUsize::new(0);
    let s = stand_ins();
    let name = format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    let python = std::env::var("EFP_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(python)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/network/seed.py"
        ))
        .args([&s.moto, &name])
        .args(options)
        .output()
        .expect("seed.py runs");
    assert!(
        out.status.success(),
        "seeding {name} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("seed.py prints JSON")
}

/// A repository name no other test uses.
pub fn unique_repository(prefix: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "it/{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn curl(args: &[&str]) -> (String, String) {
    let out = Command::new("curl")
        .args(["-s", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .expect("curl runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", &text));
    (body.to_string(), code.to_string())
}

const DUMMY_SIGV4: &str = "Authorization: AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/ecr/aws4_request, SignedHeaders=host, Signature=0";

/// Calls an ECR API operation on moto directly.
pub fn ecr_api(operation: &str, body: &Value) -> Value {
    let s = stand_ins();
    let target = format!("X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.{operation}");
    let (out, code) = curl(&[
        "-X",
        "POST",
        &format!("{}/", s.moto),
        "-H",
        &target,
        "-H",
        "Content-Type: application/x-amz-json-1.1",
        "-H",
        DUMMY_SIGV4,
        "-d",
        &body.to_string(),
    ]);
    assert_eq!(code, "200", "{operation} on moto failed: {out}");
    serde_json::from_str(&out).unwrap_or(Value::Null)
}

/// Calls an IAM (query protocol) action on moto directly.
pub fn iam_api(action: &str, params: &[(&str, &str)]) {
    let s = stand_ins();
    let mut args: Vec<String> = vec![
        "-X".into(),
        "POST".into(),
        format!("{}/", s.moto),
        "-H".into(),
        "Authorization: AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0".into(),
        "--data-urlencode".into(),
        format!("Action={action}"),
        "--data-urlencode".into(),
        "Version=2010-05-08".into(),
    ];
    for (k, v) in params {
        args.push("--data-urlencode".into());
        args.push(format!("{k}={v}"));
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let (out, code) = curl(&refs);
    assert_eq!(code, "200", "{action} on moto failed: {out}");
}

/// Creates a role in moto with one inline policy.
pub fn create_role(name: &str, inline_policy: &Value) {
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#;
    iam_api(
        "CreateRole",
        &[("RoleName", name), ("AssumeRolePolicyDocument", trust)],
    );
    iam_api(
        "PutRolePolicy",
        &[
            ("RoleName", name),
            ("PolicyName", "push"),
            ("PolicyDocument", &inline_policy.to_string()),
        ],
    );
}

/// Creates a role in moto with this trust policy and no permissions.
pub fn create_role_trusting(name: &str, trust: &str) {
    iam_api(
        "CreateRole",
        &[("RoleName", name), ("AssumeRolePolicyDocument", trust)],
    );
}

/// Creates a repository in moto.
pub fn create_repository(name: &str, immutable: bool) {
    let mutability = if immutable { "IMMUTABLE" } else { "MUTABLE" };
    ecr_api(
        "CreateRepository",
        &serde_json::json!({"repositoryName": name, "imageTagMutability": mutability}),
    );
}

/// HTTP status of `HEAD /v2/<repo>/manifests/<reference>` straight on the registry.
pub fn registry_manifest_status(repository: &str, reference: &str) -> u16 {
    let s = stand_ins();
    let (_, code) = curl(&[
        "-I",
        "-u",
        &format!("AWS:{}", s.password),
        "-H",
        "Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json",
        &format!("{}/v2/{repository}/manifests/{reference}", s.registry),
    ]);
    code.trim().parse().unwrap_or(0)
}

/// A running ECR behaviour gate; killed when dropped.
pub struct Gate {
    child: Child,
    /// Registry (and API) base URL.
    pub url: String,
    /// Its request log (JSON lines).
    pub log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Gate {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Gate {
    /// Starts a gate with these extra options (`--deny ecr:X`, …).
    pub fn start(options: &[&str]) -> Gate {
        let s = stand_ins();
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("gate.log");
        let exe = std::env::current_exe().expect("test binary path");
        let gate_bin = exe
            .parent()
            .and_then(|deps| deps.parent())
            .map(|d| d.join("ecr-gate"))
            .filter(|p| p.exists())
            .expect("target/debug/ecr-gate is missing: build with `cargo build --workspace` (scripts/test does)");
        let mut child = Command::new(gate_bin)
            .args([
                "--registry-upstream",
                &s.registry,
                "--aws-upstream",
                &s.moto,
            ])
            .args(["--registry-credentials", &format!("AWS:{}", s.password)])
            .args(["--log", log.to_str().expect("utf-8 path")])
            .args(options)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("gate starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped"))
            .read_line(&mut line)
            .expect("gate prints READY");
        let url = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("registry="))
            .unwrap_or_else(|| panic!("unexpected gate output: {line}"))
            .to_string();
        Gate {
            child,
            url,
            log,
            _dir: dir,
        }
    }

    /// The gate's request log.
    pub fn requests(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

/// What one run of the binary produced.
#[derive(Debug)]
pub struct Run {
    /// Exit code.
    pub code: i32,
    /// Everything on stdout.
    pub stdout: String,
    /// Everything on stderr.
    pub stderr: String,
    /// The JSON report, when stdout (minus workflow commands) is one.
    pub report: Value,
}

impl Run {
    /// Findings of one severity.
    pub fn findings(&self, severity: &str) -> Vec<&Value> {
        self.report["findings"]
            .as_array()
            .map(|f| f.iter().filter(|f| f["severity"] == severity).collect())
            .unwrap_or_default()
    }

    /// The `iam_action`s of the error findings, sorted.
    pub fn denied_actions(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .findings("error")
            .iter()
            .filter_map(|f| f["iam_action"].as_str().map(str::to_string))
            .collect();
        v.sort();
        v
    }

    /// The findings with this rule id.
    pub fn all(&self, rule: &str) -> Vec<&Value> {
        self.report["findings"]
            .as_array()
            .map(|f| f.iter().filter(|f| f["rule"] == rule).collect())
            .unwrap_or_default()
    }

    /// The rule ids of findings of a severity, sorted and deduplicated.
    pub fn rules(&self, severity: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .findings(severity)
            .iter()
            .filter_map(|f| f["rule"].as_str().map(str::to_string))
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// The finding with this rule id.
    pub fn finding(&self, rule: &str) -> &Value {
        self.report["findings"]
            .as_array()
            .and_then(|f| f.iter().find(|f| f["rule"] == rule))
            .unwrap_or_else(|| panic!("no {rule} finding in {}", self.stdout))
    }

    /// The trace entries.
    pub fn trace(&self) -> Vec<&Value> {
        self.report["trace"]
            .as_array()
            .map(|t| t.iter().collect())
            .unwrap_or_default()
    }

    /// Asserts nothing panicked and no stack trace was printed.
    pub fn assert_no_panic(&self) {
        for text in [&self.stdout, &self.stderr] {
            assert!(!text.contains("panicked"), "panic: {text}");
            assert!(!text.contains("stack backtrace"), "backtrace: {text}");
        }
    }
}

/// Runs `ecr-fargate-preflight check --format json --registry-endpoint <gate>`
/// plus `args`, with test credentials, AWS endpoints on the gate, and a clean
/// environment. `env` adds or (with `None`) removes variables.
pub fn check(gate: &Gate, args: &[&str], env: &[(&str, Option<&str>)]) -> Run {
    let mut all = Vec::with_capacity(args.len() + 2);
    if !args.contains(&"--registry-endpoint") {
        all.extend(["--registry-endpoint", gate.url.as_str()]);
    }
    all.extend_from_slice(args);
    run_subcommand(Some(gate), "check", &all, env)
}

/// The tags of a repository straight on the registry (empty when it holds none).
pub fn registry_tags(repository: &str) -> Vec<String> {
    let s = stand_ins();
    let (body, _) = curl(&[
        "-u",
        &format!("AWS:{}", s.password),
        &format!("{}/v2/{repository}/tags/list", s.registry),
    ]);
    serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| v["tags"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|t| t.as_str().map(str::to_string))
        .collect()
}

/// Runs `ecr-fargate-preflight <subcommand> --format json` plus `args` with
/// the same environment as [`check`] (without `--registry-endpoint`, which
/// only some subcommands take). `gate` points the AWS endpoints at a gate.
pub fn run_subcommand(
    gate: Option<&Gate>,
    subcommand: &str,
    args: &[&str],
    env: &[(&str, Option<&str>)],
) -> Run {
    let mut cmd = Binary::new()
        .test_credentials()
        .quick_retries()
        .args([subcommand, "--format", "json"])
        .args(args);
    if let Some(gate) = gate {
        cmd = cmd.aws_endpoint(&gate.url);
    }
    for (k, v) in env {
        cmd = match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let out = cmd.output();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let json: String = stdout
        .lines()
        .filter(|l| !l.starts_with("::"))
        .collect::<Vec<_>>()
        .join("\n");
    Run {
        code: out.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        report: schema::parse(&json),
        stdout,
    }
}
