//! The build-aware push preflight end to end: the committed example read
//! offline, and the live probe against the stand-ins judging a build
//! described by a Dockerfile (a same-registry base, a public base).

mod harness;

use harness::binary::Binary;
use harness::{Gate, check, create_repository, unique_repository};
use serde_json::Value;

const REGISTRY: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

fn offline(extra: &[&str]) -> (i32, Value) {
    let mut args = vec![
        "check",
        "--offline",
        "--format",
        "json",
        "--repository",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app",
    ];
    args.extend_from_slice(extra);
    let out = Binary::new()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(&args)
        .output();
    let report = harness::schema::parse(&String::from_utf8_lossy(&out.stdout));
    (out.status.code().unwrap_or(-1), report)
}

fn rules(report: &Value) -> Vec<(String, String)> {
    report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            (
                f["rule"].as_str().unwrap_or("").to_string(),
                f["resources"][0].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn the_committed_example_is_judged_as_its_build() {
    let (code, report) = offline(&[
        "--policy",
        "examples/policies/buildx-push-policy.json",
        "--dockerfile",
        "examples/build/Dockerfile",
        "--workflow",
        "examples/build/build-push.yml:build",
    ]);
    assert_eq!(code, 1, "{report:#}");
    let found = rules(&report);
    let base = "arn:aws:ecr:us-east-1:123456789012:repository/base/python";
    assert!(
        found.contains(&("push/access-denied".into(), base.into())),
        "{found:?}"
    );
    let cache = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "build/cache-export-format")
        .expect("the cache export's form is judged");
    assert_eq!(cache["location"]["file"], "examples/build/build-push.yml");
    assert_eq!(cache["location"]["line"], 31);
    let base_read = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["resources"][0] == base && f["iam_action"] == "ecr:GetDownloadUrlForLayer")
        .unwrap();
    assert!(
        base_read["message"]
            .as_str()
            .unwrap()
            .contains("(examples/build/Dockerfile:11)"),
        "{base_read:#}"
    );
    // What was read is in the report; the SHA tag is an expression.
    assert_eq!(report["build"]["sources"][0], "examples/build/Dockerfile");
    assert_eq!(report["build"]["tags"][0], "?");
    assert!(found.iter().any(|(r, _)| r == "build/value-unknown"));
}

#[test]
fn with_the_fixed_cache_line_and_base_reads_granted_the_example_passes() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.json");
    std::fs::write(
        &policy,
        serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
                {"Effect": "Allow", "Action": [
                    "ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:CompleteLayerUpload",
                    "ecr:GetDownloadUrlForLayer", "ecr:InitiateLayerUpload", "ecr:PutImage", "ecr:UploadLayerPart",
                    "ecr:BatchDeleteImage"
                ], "Resource": [
                    "arn:aws:ecr:us-east-1:123456789012:repository/team/app",
                    "arn:aws:ecr:us-east-1:123456789012:repository/team/build-cache"
                ]},
                {"Effect": "Allow", "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                 "Resource": "arn:aws:ecr:us-east-1:123456789012:repository/base/*"}
            ]
        })
        .to_string(),
    )
    .unwrap();
    let cache = format!(
        "type=registry,ref={REGISTRY}/team/build-cache:app,mode=max,image-manifest=true,oci-mediatypes=true"
    );
    let (code, report) = offline(&[
        "--policy",
        policy.to_str().unwrap(),
        "--dockerfile",
        "examples/build/Dockerfile",
        "--workflow",
        "examples/build/build-push.yml:build",
        "--cache-to",
        &cache,
    ]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["build"]["cache_to"][0], cache.as_str());
}

#[test]
fn a_bad_build_input_is_a_usage_error() {
    let (code, _) = offline(&["--dockerfile", "examples/build/missing/Dockerfile"]);
    assert_eq!(code, 2);
    let (code, _) = offline(&["--workflow", "examples/build/build-push.yml:deploy"]);
    assert_eq!(code, 2);
    let (code, _) = offline(&["--build-arg", "no-equals"]);
    assert_eq!(code, 2);
}

fn dockerfile(dir: &std::path::Path, from: &str) -> String {
    let path = dir.join("Dockerfile");
    std::fs::write(&path, format!("ARG BASE={from}\nFROM $BASE\nRUN true\n")).unwrap();
    path.to_str().unwrap().to_string()
}

/// A base image in another repository of the same registry: the probe
/// reads it and mounts its first layer, as BuildKit does; reads denied on
/// the base only fail the build's push, and name the base and its line.
#[test]
fn a_same_registry_base_needs_reads_on_the_base_repository() {
    let gate = Gate::start(&[]);
    let base = unique_repository("build-base");
    let repo = unique_repository("build-app");
    create_repository(&base, false);
    create_repository(&repo, false);
    let seeded = check(&gate, &["--repository", &base, "--no-cleanup"], &[]);
    assert_eq!(seeded.code, 0, "{}", seeded.stdout);
    let tag = seeded.report["push"]["tag"].as_str().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let file = dockerfile(dir.path(), &format!("{REGISTRY}/{base}:{tag}"));

    let run = check(&gate, &["--repository", &repo, "--dockerfile", &file], &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let mounts: Vec<_> = run
        .trace()
        .into_iter()
        .filter(|t| t["step"] == "blob-mount")
        .collect();
    assert_eq!(mounts.len(), 1, "one mount from the base: {}", run.stdout);

    let denying = Gate::start(&["--deny", &format!("ecr:GetDownloadUrlForLayer@{base}")]);
    let run = check(
        &denying,
        &["--repository", &repo, "--dockerfile", &file],
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
    let base_arn = format!("arn:aws:ecr:us-east-1:123456789012:repository/{base}");
    let finding = run.report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["resources"][0] == base_arn.as_str())
        .unwrap_or_else(|| panic!("no finding on the base: {}", run.stdout));
    assert_eq!(finding["iam_action"], "ecr:GetDownloadUrlForLayer");
    assert_eq!(finding["severity"], "error");
    assert!(
        finding["message"].as_str().unwrap().contains("base image"),
        "{finding:#}"
    );
    // The target itself was not denied anything.
    assert!(
        !run.report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["resources"][0]
                .as_str()
                .is_some_and(|r| r.ends_with(&repo))),
        "{}",
        run.stdout
    );
}

/// Layer reads on the target: a warning for a build that does not make
/// them (a public base, no registry cache), an error with no build
/// described (today's answer).
#[test]
fn a_target_layer_read_the_build_does_not_make_is_a_warning() {
    let gate = Gate::start(&["--deny", "ecr:GetDownloadUrlForLayer"]);
    let repo = unique_repository("build-public");
    create_repository(&repo, false);
    let dir = tempfile::tempdir().unwrap();
    let file = dockerfile(dir.path(), "public.ecr.aws/docker/library/alpine:3");

    let described = check(&gate, &["--repository", &repo, "--dockerfile", &file], &[]);
    assert_eq!(described.code, 0, "{}", described.stdout);
    let warning = described.finding("build/read-not-needed");
    assert_eq!(warning["severity"], "warning");
    assert_eq!(warning["iam_action"], "ecr:GetDownloadUrlForLayer");

    let generic = check(&gate, &["--repository", &repo], &[]);
    assert_eq!(generic.code, 1, "{}", generic.stdout);
    assert_eq!(generic.finding("push/access-denied")["severity"], "error");
}

/// A fixed tag on an IMMUTABLE repository: pushed once, refused after.
#[test]
fn latest_on_an_immutable_repository_is_an_error() {
    let gate = Gate::start(&[]);
    let repo = unique_repository("build-immutable");
    create_repository(&repo, true);
    let tag = format!("{REGISTRY}/{repo}:latest");
    let run = check(&gate, &["--repository", &repo, "--tags", &tag], &[]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let finding = run.finding("build/tag-immutable");
    assert!(finding["title"].as_str().unwrap().contains("latest"));

    let mutable = unique_repository("build-mutable");
    create_repository(&mutable, false);
    let tag = format!("{REGISTRY}/{mutable}:latest");
    let run = check(&gate, &["--repository", &mutable, "--tags", &tag], &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
}
