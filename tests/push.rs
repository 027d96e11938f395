//! The push preflight end to end: the real binary against moto server,
//! Debian's docker-registry, the ECR behaviour gate and skopeo.

mod harness;

use harness::{
    Gate, check, create_repository, registry_manifest_status, stand_ins, unique_repository,
};
use serde_json::Value;

const ACCOUNT: &str = "123456789012";

fn arn(repository: &str) -> String {
    format!("arn:aws:ecr:us-east-1:{ACCOUNT}:repository/{repository}")
}

fn new_repository(prefix: &str) -> String {
    let name = unique_repository(prefix);
    create_repository(&name, false);
    name
}

/// Position of the first trace entry matching `step` (and `method`).
fn position(trace: &[&Value], step: &str, method: Option<&str>) -> usize {
    trace
        .iter()
        .position(|t| t["step"] == step && method.is_none_or(|m| t["method"] == m))
        .unwrap_or_else(|| panic!("no {step} in the trace"))
}

fn last_position(trace: &[&Value], step: &str) -> usize {
    trace
        .iter()
        .rposition(|t| t["step"] == step)
        .unwrap_or_else(|| panic!("no {step}"))
}

#[test]
fn everything_allowed_passes_in_buildx_order_and_cleans_up() {
    let gate = Gate::start(&[]);
    let repo = new_repository("pass");
    let run = check(&gate, &["--repository", &repo], &[]);
    run.assert_no_panic();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.report["verdict"], "pass");
    assert_eq!(run.report["schema_version"], 1);
    assert!(
        run.report["findings"].as_array().unwrap().is_empty(),
        "{}",
        run.stdout
    );
    assert_eq!(run.report["identity"]["source"], "default-chain");

    let trace = run.trace();
    assert_eq!(trace[0]["step"], "authorization-token");
    // Two platforms with provenance: 8 blobs, 4 children, 1 index.
    assert_eq!(
        trace
            .iter()
            .filter(|t| t["step"] == "blob-upload-complete")
            .count(),
        8
    );
    assert_eq!(
        trace.iter().filter(|t| t["step"] == "manifest-put").count(),
        4
    );
    // Every blob: HEAD → POST → PUT; all blobs before any manifest; children before the index.
    assert!(
        last_position(&trace, "blob-upload-complete") < position(&trace, "manifest-exists", None)
    );
    assert!(last_position(&trace, "blob-exists") < position(&trace, "blob-upload-complete", None));
    assert!(last_position(&trace, "manifest-put") < position(&trace, "index-exists", None));
    assert!(position(&trace, "index-exists", None) < position(&trace, "index-put", None));
    for t in trace.iter().filter(|t| t["step"] == "manifest-put") {
        assert!(
            t["path"].as_str().unwrap().contains("/manifests/sha256:"),
            "children go by digest"
        );
    }
    let tag = run.report["push"]["tag"].as_str().unwrap();
    let index_put = &trace[position(&trace, "index-put", None)];
    assert!(
        index_put["path"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/manifests/{tag}"))
    );
    // Reads: the layer GET is redirected and followed to the bucket.
    let read = &trace[position(&trace, "layer-read", None)];
    assert_eq!(read["status"], 307);
    assert_eq!(read["iam_action"], "ecr:GetDownloadUrlForLayer");
    assert_eq!(
        trace[position(&trace, "layer-download", None)]["status"],
        200
    );
    assert_eq!(
        trace[position(&trace, "manifest-read", Some("GET"))]["status"],
        200
    );
    // Every request carries its action; the critical path stays short.
    for t in &trace {
        if t["step"] != "layer-download" {
            assert!(t["iam_action"].as_str().unwrap().starts_with("ecr:"), "{t}");
        }
    }
    let round_trips = run.report["push"]["critical_path_round_trips"]
        .as_u64()
        .unwrap();
    assert!(round_trips <= 10, "{round_trips} sequential round trips");
    // Cleaned up: the tag is gone from the registry.
    assert_eq!(run.report["push"]["cleaned_up"], true);
    assert_eq!(registry_manifest_status(&repo, tag), 404);
    // The S3 stand-in never saw the registry's Authorization header (it would answer 400).
    assert!(
        gate.requests()
            .iter()
            .any(|r| r["listener"] == "bucket" && r["status"] == 200)
    );
}

#[test]
fn two_platforms_with_attestations_take_at_most_ten_sequential_round_trips() {
    let gate = Gate::start(&[]);
    let repo = new_repository("round-trips");
    let run = check(
        &gate,
        &[
            "--repository",
            &repo,
            "--platforms",
            "linux/amd64,linux/arm64",
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let trace = run.trace();
    // Two platforms with provenance: 8 blobs, 4 children, the index, the tag move.
    for (step, n) in [
        ("blob-upload-complete", 8),
        ("manifest-put", 4),
        ("index-put", 1),
        ("tag-move", 1),
    ] {
        assert_eq!(
            trace.iter().filter(|t| t["step"] == step).count(),
            n,
            "{step}"
        );
    }
    assert_eq!(run.report["push"]["cleaned_up"], true);
    // Measured by the probe from when each request was sent and answered,
    // token to the cleanup's read-back: never less than the causal chain
    // (each request's depth), and at most ten. (The gate's log has the same
    // timestamps, which scripts/bench/push-probe counts; on a loaded machine
    // a request can reach the gate after another one of its round was
    // already answered, so the client's clock is the one asserted.)
    let measured = run.report["push"]["sequential_round_trips"]
        .as_u64()
        .unwrap();
    let causal = trace
        .iter()
        .map(|t| t["depth"].as_u64().unwrap())
        .max()
        .unwrap();
    assert!(
        measured >= causal,
        "measured {measured}, causal depth {causal}"
    );
    assert!(
        measured <= 10,
        "{measured} sequential round trips: {trace:#?}"
    );
}

#[test]
fn skopeo_pulls_back_every_platform_of_the_probe_image() {
    let gate = Gate::start(&[]);
    let repo = new_repository("skopeo");
    let run = check(&gate, &["--repository", &repo, "--no-cleanup"], &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.report["push"]["cleaned_up"], false);
    let tag = run.report["push"]["tag"].as_str().unwrap();
    // The digest the tag points to at the end (after the tag-move probe).
    let index_digest = run.report["push"]["index_digest"].as_str().unwrap();
    let s = stand_ins();
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout");
    let src = format!(
        "docker://{}/{repo}:{tag}",
        s.registry.trim_start_matches("http://")
    );
    let out = std::process::Command::new("skopeo")
        .args(["copy", "--all", "--src-tls-verify=false", "--src-creds"])
        .arg(format!("AWS:{}", s.password))
        .arg(&src)
        .arg(format!("oci:{}:{tag}", layout.display()))
        .output()
        .expect("skopeo runs");
    assert!(
        out.status.success(),
        "skopeo copy --all failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // skopeo verified every digest; the index it stored is byte-identical to ours.
    let index: Value =
        serde_json::from_str(&std::fs::read_to_string(layout.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["manifests"][0]["digest"], index_digest);
    let raw = std::process::Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false", "--creds"])
        .arg(format!("AWS:{}", s.password))
        .arg(&src)
        .output()
        .unwrap();
    let index: Value = serde_json::from_slice(&raw.stdout).unwrap();
    let platforms: Vec<String> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            format!(
                "{}/{}",
                m["platform"]["os"].as_str().unwrap(),
                m["platform"]["architecture"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        platforms,
        [
            "linux/amd64",
            "linux/arm64",
            "unknown/unknown",
            "unknown/unknown"
        ]
    );
    // And skopeo can pick the arm64 image out of it.
    let arm = std::process::Command::new("skopeo")
        .args([
            "inspect",
            "--tls-verify=false",
            "--override-arch",
            "arm64",
            "--creds",
        ])
        .arg(format!("AWS:{}", s.password))
        .arg(&src)
        .output()
        .unwrap();
    let arm: Value = serde_json::from_slice(&arm.stdout).unwrap();
    assert_eq!(arm["Architecture"], "arm64");
}

/// Denies exactly `action` and checks that exactly it is named, with its fix.
fn denied(action: &str) -> harness::Run {
    let gate = Gate::start(&["--deny", action]);
    let repo = new_repository("deny");
    let run = check(&gate, &["--repository", &repo], &[]);
    run.assert_no_panic();
    let expected_resource = if action == "ecr:GetAuthorizationToken" {
        "*".to_string()
    } else {
        arn(&repo)
    };
    let finding = run.report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["iam_action"] == action)
        .unwrap_or_else(|| panic!("{action} not named: {}", run.stdout))
        .clone();
    assert_eq!(finding["resources"][0], expected_resource.as_str());
    assert_eq!(finding["fix"]["policy_statement"]["Action"][0], action);
    assert_eq!(finding["fix"]["policy_statement"]["Effect"], "Allow");
    assert_eq!(
        finding["fix"]["policy_statement"]["Resource"],
        expected_resource.as_str()
    );
    // ECR answers a denied HEAD without a body: for the HEAD-only action the reason cannot be read.
    let reason = if action == "ecr:BatchCheckLayerAvailability" {
        "HEAD without a body"
    } else {
        "no identity-based policy allows it"
    };
    assert!(
        finding["message"].as_str().unwrap().contains(reason),
        "{finding}"
    );
    run
}

macro_rules! denial_tests {
    ($($name:ident => $action:literal),* $(,)?) => {$(
        #[test]
        fn $name() {
            let run = denied($action);
            assert_eq!(run.denied_actions(), [$action], "exactly that action: {}", run.stdout);
            assert_eq!(run.finding("push/access-denied")["iam_action"], $action);
            assert_eq!(run.code, 1);
            assert_eq!(run.report["verdict"], "fail");
        }
    )*};
}

denial_tests! {
    denied_get_authorization_token_is_named => "ecr:GetAuthorizationToken",
    denied_batch_check_layer_availability_is_named => "ecr:BatchCheckLayerAvailability",
    denied_initiate_layer_upload_is_named => "ecr:InitiateLayerUpload",
    denied_upload_layer_part_is_named => "ecr:UploadLayerPart",
    denied_complete_layer_upload_is_named => "ecr:CompleteLayerUpload",
    denied_put_image_is_named => "ecr:PutImage",
    denied_batch_get_image_is_named => "ecr:BatchGetImage",
    denied_get_download_url_for_layer_is_named => "ecr:GetDownloadUrlForLayer",
}

#[test]
fn denied_cleanup_is_a_warning_naming_batch_delete_image() {
    let run = denied("ecr:BatchDeleteImage");
    assert_eq!(
        run.code, 0,
        "cleanup must not fail the push verdict: {}",
        run.stdout
    );
    assert_eq!(run.report["verdict"], "pass");
    let f = run.finding("push/cleanup-denied");
    assert_eq!(f["severity"], "warning");
    assert_eq!(f["iam_action"], "ecr:BatchDeleteImage");
    assert_eq!(run.report["push"]["cleaned_up"], false);
}

#[test]
fn bodiless_head_denial_is_read_with_one_get_as_containerd_does() {
    let run = denied("ecr:BatchCheckLayerAvailability");
    let trace = run.trace();
    let head = trace.iter().find(|t| t["step"] == "blob-exists").unwrap();
    assert_eq!(head["status"], 403);
    // Every denied HEAD is followed by one GET of the same URL.
    let heads = trace
        .iter()
        .filter(|t| t["step"] == "blob-exists" && t["status"] == 403)
        .count();
    let gets = trace
        .iter()
        .filter(|t| t["method"] == "GET" && t["path"].as_str().unwrap().contains("/blobs/sha256:"))
        .filter(|t| {
            trace
                .iter()
                .any(|h| h["step"] == "blob-exists" && h["path"] == t["path"])
        })
        .count();
    assert!(gets >= heads, "{heads} HEADs, {gets} GETs");
}

#[test]
fn aws_documented_six_action_policy_misses_layer_reads() {
    let gate = Gate::start(&[
        "--allow-only",
        "ecr:GetAuthorizationToken,ecr:BatchCheckLayerAvailability,ecr:BatchGetImage,ecr:CompleteLayerUpload,ecr:InitiateLayerUpload,ecr:PutImage,ecr:UploadLayerPart",
    ]);
    let repo = new_repository("six");
    let run = check(&gate, &["--repository", &repo], &[]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.denied_actions(),
        ["ecr:GetDownloadUrlForLayer"],
        "{}",
        run.stdout
    );
    let f = run.finding("push/access-denied");
    assert!(
        f["message"].as_str().unwrap().contains("layer reads"),
        "{f}"
    );
    // The push itself went through: index stored, then deleted? No: cleanup is denied too.
    assert!(run.report["push"]["index_digest"].is_string());
    assert_eq!(
        run.finding("push/cleanup-denied")["iam_action"],
        "ecr:BatchDeleteImage"
    );
}

#[test]
fn missing_repository_is_named() {
    let gate = Gate::start(&[]);
    let repo = unique_repository("missing");
    let run = check(&gate, &["--repository", &repo], &[]);
    run.assert_no_panic();
    assert_eq!(run.code, 1);
    let f = run.finding("push/repository-not-found");
    assert_eq!(f["resources"][0], arn(&repo).as_str());
    assert!(
        f["fix"]["aws_cli"]
            .as_str()
            .unwrap()
            .contains("create-repository")
    );
    // Nothing else piles up as unexplained errors.
    assert_eq!(run.findings("error").len(), 1, "{}", run.stdout);
}

#[test]
fn immutable_repository_warns_that_tags_cannot_move() {
    let gate = Gate::start(&[]);
    let repo = unique_repository("immutable");
    create_repository(&repo, true);
    let run = check(&gate, &["--repository", &repo], &[]);
    assert_eq!(run.code, 0, "a unique tag still pushes: {}", run.stdout);
    let f = run.finding("push/tag-immutable");
    assert_eq!(f["severity"], "warning");
    assert!(f["message"].as_str().unwrap().contains("immutable"));
    let strict = check(&gate, &["--repository", &repo, "--fail-on", "warning"], &[]);
    assert_eq!(strict.code, 1);
}

#[test]
fn oidc_token_is_exchanged_with_assume_role_with_web_identity_and_masked() {
    let request_token = "request-token-for-tests";
    let gate = Gate::start(&["--oidc-request-token", request_token]);
    let repo = new_repository("oidc");
    let url = format!("{}/_github/oidc/token?api-version=2.0", gate.url);
    let run = check(
        &gate,
        &[
            "--repository",
            &repo,
            "--role-to-assume",
            &format!("arn:aws:iam::{ACCOUNT}:role/pusher"),
        ],
        &[
            ("GITHUB_ACTIONS", Some("true")),
            ("ACTIONS_ID_TOKEN_REQUEST_URL", Some(&url)),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", Some(request_token)),
            // No credentials at all: AssumeRoleWithWebIdentity must not need any.
            ("AWS_ACCESS_KEY_ID", None),
            ("AWS_SECRET_ACCESS_KEY", None),
        ],
    );
    run.assert_no_panic();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.report["identity"]["source"], "web-identity");
    assert!(
        run.report["identity"]["arn"]
            .as_str()
            .unwrap()
            .contains("assumed-role/pusher/GitHubActions")
    );
    let oidc: Vec<_> = gate
        .requests()
        .into_iter()
        .filter(|r| r["listener"] == "oidc")
        .collect();
    assert_eq!(oidc.len(), 1);
    assert_eq!(oidc[0]["audience"], "sts.amazonaws.com");

    // Secrets are masked before anything else is printed, and appear nowhere else.
    let masks: Vec<&str> = run
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("::add-mask::"))
        .collect();
    let first_other = run
        .stdout
        .lines()
        .position(|l| !l.starts_with("::add-mask::"))
        .unwrap();
    assert!(
        run.stdout
            .lines()
            .skip(first_other)
            .all(|l| !l.starts_with("::add-mask::")),
        "masks come first"
    );
    let password = stand_ins().password;
    for secret in [request_token, password.as_str()] {
        assert!(masks.contains(&secret), "{secret} is not masked");
    }
    assert!(
        masks.iter().any(|m| m.split('.').count() == 3),
        "the JWT is masked"
    );
    for secret in &masks {
        let shown = run
            .stdout
            .lines()
            .filter(|l| !l.starts_with("::add-mask::") && l.contains(secret))
            .count();
        assert_eq!(shown, 0, "a masked secret is printed");
        assert!(!run.stderr.contains(secret), "a secret is on stderr");
    }
}

#[test]
fn existing_credentials_assume_the_role_with_assume_role() {
    let gate = Gate::start(&[]);
    let repo = new_repository("assume");
    let run = check(
        &gate,
        &[
            "--repository",
            &repo,
            "--role-to-assume",
            &format!("arn:aws:iam::{ACCOUNT}:role/pusher"),
            "--role-session-name",
            "ci-42",
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.report["identity"]["source"], "assume-role");
    assert!(
        run.report["identity"]["arn"]
            .as_str()
            .unwrap()
            .ends_with("assumed-role/pusher/ci-42")
    );
}

#[test]
fn no_credentials_is_exit_3_with_a_report() {
    let gate = Gate::start(&[]);
    let run = check(
        &gate,
        &["--repository", "team/app"],
        &[("AWS_ACCESS_KEY_ID", None), ("AWS_SECRET_ACCESS_KEY", None)],
    );
    run.assert_no_panic();
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    let f = run.finding("credentials/unavailable");
    assert_eq!(f["severity"], "error");
    // Nothing was checked: not a pass, and not "the policy is wrong" either.
    assert_eq!(run.report["verdict"], "not-verified");
    // A role but neither an OIDC token nor credentials: say what is missing.
    let role = check(
        &gate,
        &[
            "--repository",
            "team/app",
            "--role-to-assume",
            &format!("arn:aws:iam::{ACCOUNT}:role/pusher"),
        ],
        &[("AWS_ACCESS_KEY_ID", None), ("AWS_SECRET_ACCESS_KEY", None)],
    );
    assert_eq!(role.code, 3);
    let f = role.finding("credentials/unavailable");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("no GitHub OIDC token"),
        "{f}"
    );
    assert!(
        f["fix"]["description"]
            .as_str()
            .unwrap()
            .contains("id-token: write"),
        "{f}"
    );
}

#[test]
fn unreachable_registry_is_a_finding_not_a_panic() {
    let gate = Gate::start(&[]);
    let repo = new_repository("unreachable");
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let run = check(
        &gate,
        &[
            "--repository",
            &repo,
            "--registry-endpoint",
            &format!("http://127.0.0.1:{port}"),
        ],
        &[],
    );
    run.assert_no_panic();
    // "We could not look" (3), not "the policy is wrong" (1).
    assert_eq!(run.code, 3, "{}", run.stdout);
    assert_eq!(run.report["verdict"], "not-verified");
    let f = run.finding("push/registry-unreachable");
    assert!(f["title"].as_str().unwrap().contains("connection"), "{f}");
    assert_eq!(run.findings("error").len(), 1, "{}", run.stdout);
    // TLS to a plain-HTTP port: a TLS failure, named as such.
    let tls = check(
        &gate,
        &[
            "--repository",
            &repo,
            "--registry-endpoint",
            &gate.url.replace("http://", "https://"),
        ],
        &[],
    );
    tls.assert_no_panic();
    assert_eq!(tls.code, 3, "{}", tls.stdout);
    assert_eq!(tls.report["verdict"], "not-verified");
    assert!(
        tls.finding("push/registry-unreachable")["title"]
            .as_str()
            .unwrap()
            .contains("TLS"),
        "{}",
        tls.stdout
    );
}

#[test]
fn bad_usage_is_exit_2_with_a_message() {
    let gate = Gate::start(&[]);
    for (args, expect) in [
        (vec!["--repository", "team/app:latest"], "includes a tag"),
        (
            vec!["--repository", "Team/App"],
            "not a valid ECR repository name",
        ),
        (
            vec!["--repository", "team/app", "--platforms", "linux"],
            "not a platform",
        ),
        (
            vec!["--repository", "team/app", "--role-to-assume", "pusher"],
            "not a role ARN",
        ),
        (
            vec!["--repository", "team/app", "--registry-endpoint", "ftp://x"],
            "not an http(s) URL",
        ),
        (
            vec!["--repository", "team/app", "--read-tag", "v1"],
            "--dry-run",
        ),
    ] {
        let run = check(&gate, &args, &[]);
        run.assert_no_panic();
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(expect), "{args:?}: {}", run.stderr);
    }
}

#[test]
fn throttling_after_retries_is_named() {
    let gate = Gate::start(&["--throttle", "ecr:PutImage"]);
    let repo = new_repository("throttle");
    let run = check(&gate, &["--repository", &repo], &[]);
    assert_eq!(run.code, 1);
    let f = run.finding("push/throttled");
    assert!(f["message"].as_str().unwrap().contains("429"));
    let attempts = run
        .trace()
        .iter()
        .filter(|t| t["status"] == 429 && t["step"] == "index-put")
        .count();
    assert_eq!(attempts, 4, "first attempt and three retries");
}

#[test]
fn image_quota_is_named() {
    let gate = Gate::start(&["--image-quota-exceeded"]);
    let repo = new_repository("quota");
    let run = check(&gate, &["--repository", &repo], &[]);
    assert_eq!(run.code, 1);
    run.finding("push/image-quota-exceeded");
    assert!(
        run.denied_actions().is_empty(),
        "a quota is not a missing permission: {}",
        run.stdout
    );
}

#[test]
fn oci_artifact_attestations_rejected_with_405_are_named() {
    let gate = Gate::start(&["--reject-subject"]);
    let repo = new_repository("artifact");
    let run = check(
        &gate,
        &["--repository", &repo, "--attestations", "oci-artifact"],
        &[],
    );
    assert_eq!(run.code, 1);
    assert!(
        run.finding("push/oci-artifact-rejected")["fix"]["description"]
            .as_str()
            .unwrap()
            .contains("BUILDX_NO_DEFAULT_OCI_ARTIFACT")
    );
    // Only what was stored is deleted again: the rejected manifests are not "left behind".
    assert_eq!(run.report["push"]["cleaned_up"], true, "{}", run.stdout);
    assert!(run.findings("warning").is_empty(), "{}", run.stdout);
    // buildx's default attestation manifests are accepted by the same registry.
    let classic = check(&gate, &["--repository", &repo], &[]);
    assert_eq!(classic.code, 0, "{}", classic.stdout);
}

#[test]
fn mount_from_another_repository_needs_layer_reads_on_the_source() {
    let gate = Gate::start(&[]);
    let repo = new_repository("mount");
    let source = new_repository("base");
    let run = check(
        &gate,
        &["--repository", &repo, "--mount-from", &source],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(run.trace().iter().any(|t| t["step"] == "blob-mount"));

    let denying = Gate::start(&["--deny", "ecr:GetDownloadUrlForLayer"]);
    let run = check(
        &denying,
        &["--repository", &repo, "--mount-from", &source],
        &[],
    );
    assert_eq!(run.code, 1);
    let on_source = run.report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["resources"][0] == arn(&source).as_str())
        .unwrap_or_else(|| panic!("no finding on the mount source: {}", run.stdout));
    assert_eq!(on_source["iam_action"], "ecr:GetDownloadUrlForLayer");
    assert_eq!(
        on_source["fix"]["policy_statement"]["Resource"],
        arn(&source).as_str()
    );
}

#[test]
fn dry_run_reads_an_existing_tag_and_writes_nothing() {
    let gate = Gate::start(&[]);
    let repo = new_repository("dry");
    let pushed = check(&gate, &["--repository", &repo, "--no-cleanup"], &[]);
    let tag = pushed.report["push"]["tag"].as_str().unwrap().to_string();
    let run = check(
        &gate,
        &["--repository", &repo, "--dry-run", "--read-tag", &tag],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.report["push"]["mode"], "dry-run");
    let trace = run.trace();
    assert!(
        trace
            .iter()
            .all(|t| t["method"] != "PUT" && t["method"] != "POST" && t["step"] != "cleanup")
    );
    assert!(
        trace
            .iter()
            .any(|t| t["step"] == "layer-download" && t["status"] == 200),
        "{}",
        run.stdout
    );
    // Without --read-tag: only the token, and a notice saying so.
    let bare = check(&gate, &["--repository", &repo, "--dry-run"], &[]);
    assert_eq!(bare.code, 0);
    assert_eq!(bare.finding("push/reads-skipped")["severity"], "notice");
    assert_eq!(bare.trace().len(), 1);
    // A tag that does not exist is a warning.
    let missing = check(
        &gate,
        &["--repository", &repo, "--dry-run", "--read-tag", "nope"],
        &[],
    );
    assert_eq!(
        missing.finding("push/read-tag-not-found")["severity"],
        "warning"
    );
    // Nothing was read, so the layer reads are not verified: exit 3.
    assert_eq!(missing.code, 3, "{}", missing.stdout);
    assert_eq!(missing.report["verdict"], "not-verified");
}

#[test]
fn organization_policy_denials_say_an_allow_is_not_enough() {
    let gate = Gate::start(&["--deny", "ecr:PutImage", "--deny-reason", "scp"]);
    let repo = new_repository("scp");
    let run = check(&gate, &["--repository", &repo], &[]);
    let f = run.finding("push/access-denied");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("service control policy"),
        "{f}"
    );
    assert!(
        f["fix"]["description"]
            .as_str()
            .unwrap()
            .contains("organization"),
        "{f}"
    );
}

#[test]
fn cross_account_denial_fixes_the_repository_policy() {
    let gate = Gate::start(&["--deny", "ecr:PutImage", "--deny-reason", "resource"]);
    let repo = new_repository("xacct");
    let run = check(
        &gate,
        &[
            "--repository",
            &repo,
            "--role-to-assume",
            &format!("arn:aws:iam::{ACCOUNT}:role/pusher"),
        ],
        &[],
    );
    let f = run.finding("push/access-denied");
    let terraform = f["fix"]["terraform"].as_str().unwrap();
    assert!(
        terraform.contains("aws_ecr_repository_policy"),
        "{terraform}"
    );
    assert!(
        terraform.contains(&format!("arn:aws:iam::{ACCOUNT}:role/pusher")),
        "{terraform}"
    );
}

#[test]
fn markdown_and_output_file() {
    let gate = Gate::start(&["--deny", "ecr:BatchGetImage"]);
    let repo = new_repository("md");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.md");
    let out = harness::Binary::new()
        .args([
            "check",
            "--repository",
            &repo,
            "--registry-endpoint",
            &gate.url,
            "--format",
            "markdown",
            "--output",
        ])
        .arg(&file)
        .test_credentials()
        .aws_endpoint(&gate.url)
        .output();
    assert_eq!(out.status.code(), Some(1));
    let md = std::fs::read_to_string(&file).unwrap();
    assert!(md.starts_with("## ECR Fargate preflight: ❌ fail"), "{md}");
    assert!(md.contains("ecr:BatchGetImage"));
    assert!(md.contains("```json"));
    // The text report still goes to stdout.
    assert!(String::from_utf8_lossy(&out.stdout).contains("error[push/access-denied]"));
}

#[test]
fn live_denial_is_explained_by_the_roles_own_policies() {
    let role = format!("six-{}", std::process::id());
    harness::create_role(
        &role,
        &serde_json::json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "AwsDocumentedPush", "Effect": "Allow", "Action": [
                "ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload",
                "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:PutImage", "ecr:BatchGetImage",
                "ecr:BatchDeleteImage"], "Resource": "*"}]}),
    );
    // The gate denies what the policy lacks, and IAM's simulation (faked by the gate) agrees.
    let gate = Gate::start(&[
        "--deny",
        "ecr:GetDownloadUrlForLayer",
        "--simulate-deny",
        "ecr:GetDownloadUrlForLayer",
    ]);
    let repo = new_repository("explained");
    let run = check(
        &gate,
        &[
            "--repository",
            &repo,
            "--role-to-assume",
            &format!("arn:aws:iam::{ACCOUNT}:role/{role}"),
        ],
        &[],
    );
    assert_eq!(run.code, 1);
    let f = run.finding("push/access-denied");
    let message = f["message"].as_str().unwrap();
    assert!(message.contains(&format!("role `{role}`")), "{message}");
    assert!(message.contains("do not allow it"), "{message}");
    assert!(
        run.all("policy/simulation-disagrees").is_empty(),
        "{}",
        run.stdout
    );

    // Denied live while the role's policies (and the simulation) allow it: look elsewhere.
    let role2 = format!("all-{}", std::process::id());
    harness::create_role(
        &role2,
        &serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ecr:*", "Resource": "*"}]}),
    );
    let gate = Gate::start(&["--deny", "ecr:PutImage", "--deny-reason", "resource"]);
    let run = check(
        &gate,
        &[
            "--repository",
            &repo,
            "--role-to-assume",
            &format!("arn:aws:iam::{ACCOUNT}:role/{role2}"),
        ],
        &[],
    );
    let f = run.finding("push/access-denied");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("something outside them denies it"),
        "{f}"
    );
    let d = run.finding("policy/simulation-disagrees");
    assert_eq!(d["iam_action"], "ecr:PutImage");
}
