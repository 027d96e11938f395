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

/// A missing repository that a `CREATE_ON_PUSH` template covers: the probe
/// says the first push creates it (and needs `ecr:CreateRepository`), and
/// writes nothing, so the repository still does not exist afterwards.
#[test]
fn a_missing_repository_under_a_create_on_push_template_is_never_created_by_the_probe() {
    let gate = Gate::start(&["--creation-template", "it"]);
    let repo = unique_repository("build-create");
    let run = check(&gate, &["--repository", &repo], &[]);
    assert_eq!(run.code, 3, "{}", run.stdout);
    let finding = run.finding("push/create-on-push");
    assert_eq!(finding["iam_action"], "ecr:CreateRepository");
    assert!(
        finding["message"].as_str().unwrap().contains("prefix `it`"),
        "{finding:#}"
    );
    assert!(
        run.report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["rule"] != "push/repository-not-found")
    );
    let writes: Vec<Value> = gate
        .requests()
        .into_iter()
        .filter(|r| r["method"] == "POST" || r["method"] == "PUT")
        .filter(|r| r["path"].as_str().is_some_and(|p| p.starts_with("/v2/")))
        .collect();
    assert!(writes.is_empty(), "the probe wrote: {writes:?}");
    // Still missing (the gate would have created it on a write): without
    // a template, not found, an error.
    let plain = Gate::start(&[]);
    let run = check(&plain, &["--repository", &repo], &[]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_eq!(
        run.finding("push/repository-not-found")["severity"],
        "error"
    );
}

/// `IMMUTABLE_WITH_EXCLUSION`: a tag the filter covers moves, any other
/// tag is pushed once.
#[test]
fn exclusion_filters_decide_per_tag() {
    let repo = unique_repository("build-exclusion");
    create_repository(&repo, true);
    let gate = Gate::start(&[
        "--tag-exclusion",
        &format!("{repo}=IMMUTABLE_WITH_EXCLUSION:lat*"),
    ]);
    let latest = format!("{REGISTRY}/{repo}:latest");
    let run = check(&gate, &["--repository", &repo, "--tags", &latest], &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let v1 = format!("{REGISTRY}/{repo}:v1");
    let run = check(&gate, &["--repository", &repo, "--tags", &v1], &[]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.finding("build/tag-immutable")["message"]
            .as_str()
            .unwrap()
            .contains("`lat*`")
    );
}

/// `BLOB_MOUNTING` off: ECR answers BuildKit's mount with an upload; the
/// push works, and a notice says the base layers are uploaded again.
#[test]
fn blob_mounting_off_is_a_notice() {
    let gate = Gate::start(&["--blob-mounting", "disabled"]);
    let base = unique_repository("build-mountbase");
    let repo = unique_repository("build-mountapp");
    create_repository(&base, false);
    create_repository(&repo, false);
    let seeded = check(&gate, &["--repository", &base, "--no-cleanup"], &[]);
    let tag = seeded.report["push"]["tag"].as_str().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let file = dockerfile(dir.path(), &format!("{REGISTRY}/{base}:{tag}"));
    let run = check(&gate, &["--repository", &repo, "--dockerfile", &file], &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(
        run.finding("build/blob-mounting-disabled")["severity"],
        "notice"
    );
}

fn workflow(dir: &std::path::Path, cache_to: &str, cache_from: &str) -> String {
    let path = dir.join("build.yml");
    std::fs::write(
        &path,
        format!(
            "jobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: docker/build-push-action@v6\n        with:\n          push: true\n          cache-from: {cache_from}\n          cache-to: {cache_to}\n"
        ),
    )
    .unwrap();
    format!("{}:build", path.display())
}

/// `cache-to` to ECR: without `image-manifest=true` an error at the
/// workflow's line (with ECR's answer to the replayed index); with it, the
/// cache export is replayed in the cache repository (and read back as its
/// `cache-from` reads it), a denial there is named, and the cleanup
/// removes the probe's cache manifest.
#[test]
fn a_registry_cache_export_is_replayed_in_the_form_the_workflow_gives() {
    let repo = unique_repository("build-cached");
    let cache = unique_repository("build-cache");
    create_repository(&repo, false);
    create_repository(&cache, false);
    let dir = tempfile::tempdir().unwrap();
    let reference = format!("type=registry,ref={REGISTRY}/{cache}:app");

    let gate = Gate::start(&[]);
    let index_form = workflow(dir.path(), &format!("{reference},mode=max"), &reference);
    let run = check(
        &gate,
        &["--repository", &repo, "--workflow", &index_form],
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
    let finding = run.finding("build/cache-export-format");
    assert_eq!(finding["location"]["line"], 9, "{finding:#}");
    assert!(
        finding["message"]
            .as_str()
            .unwrap()
            .contains("Image index child manifest not supported"),
        "the registry's answer to the replayed index: {finding:#}"
    );
    assert_eq!(run.all("build/cache-export-format").len(), 1);

    let manifest_form = workflow(
        dir.path(),
        &format!("{reference},mode=max,image-manifest=true,oci-mediatypes=true"),
        &reference,
    );
    let run = check(
        &gate,
        &["--repository", &repo, "--workflow", &manifest_form],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    let exports: Vec<_> = run
        .trace()
        .into_iter()
        .filter(|t| t["step"] == "cache-export")
        .collect();
    assert_eq!(exports.len(), 1, "{}", run.stdout);
    assert_eq!(exports[0]["status"], 201);
    assert!(
        run.trace()
            .iter()
            .any(|t| t["step"] == "cache-import" && t["status"] == 200)
    );
    assert_eq!(run.report["push"]["cleaned_up"], true, "{}", run.stdout);
    let cache_tag = format!("{}-cache", run.report["push"]["tag"].as_str().unwrap());
    assert_eq!(harness::registry_manifest_status(&cache, &cache_tag), 404);

    let denying = Gate::start(&["--deny", &format!("ecr:PutImage@{cache}")]);
    let run = check(
        &denying,
        &["--repository", &repo, "--workflow", &manifest_form],
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
    let cache_arn = format!("arn:aws:ecr:us-east-1:123456789012:repository/{cache}");
    let denied = run.report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["resources"][0] == cache_arn.as_str() && f["iam_action"] == "ecr:PutImage")
        .unwrap_or_else(|| panic!("no denial on the cache repository: {}", run.stdout));
    assert!(
        denied["message"]
            .as_str()
            .unwrap()
            .contains("cache export to"),
        "{denied:#}"
    );
}

/// containerd, started for one test with its state in a temporary directory
/// (as root: it is a system daemon); stopped when dropped.
struct Containerd {
    child: std::process::Child,
    socket: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Containerd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Containerd {
    fn start() -> Containerd {
        let have = |tool: &str| {
            std::process::Command::new(tool)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        };
        assert!(
            have("containerd") && have("ctr"),
            "containerd and ctr are needed (scripts/stand-ins.sh install installs them)"
        );
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("ctrd.sock");
        let config = dir.path().join("containerd.toml");
        std::fs::write(
            &config,
            format!(
                "version = 2\nroot = \"{0}/root\"\nstate = \"{0}/state\"\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n[grpc]\n  address = \"{1}\"\n",
                dir.path().display(),
                socket.display()
            ),
        )
        .unwrap();
        let child = std::process::Command::new("containerd")
            .arg("--config")
            .arg(&config)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("containerd starts (as root)");
        let started = Containerd {
            child,
            socket,
            _dir: dir,
        };
        for _ in 0..100 {
            if started.ctr(&["version"]).status.success() {
                return started;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("containerd did not start (it needs root)");
    }

    fn ctr(&self, args: &[&str]) -> std::process::Output {
        std::process::Command::new("ctr")
            .arg("--address")
            .arg(&self.socket)
            .args(["-n", "efp"])
            .args(args)
            .env("NO_PROXY", "127.0.0.1")
            .env("no_proxy", "127.0.0.1")
            .output()
            .expect("ctr runs")
    }
}

/// Held to the real client: containerd's pusher (`ctr images push`, the
/// library BuildKit pushes with) mounts the layers of an image pulled from
/// another repository of the registry, and fails the whole push when that
/// mount is denied on the base; the probe, given a Dockerfile `FROM` that
/// base, fails the same way and names the base. Both pass when allowed.
#[test]
fn containerd_and_the_probe_agree_on_a_denied_base_mount() {
    let containerd = Containerd::start();
    let password = std::env::var("EFP_TEST_REGISTRY_PASSWORD").expect("stand-ins are running");
    let user = format!("AWS:{password}");
    let base = unique_repository("ctr-base");
    let repo = unique_repository("ctr-app");
    create_repository(&base, false);
    create_repository(&repo, false);
    let allowing = Gate::start(&[]);
    let seeded = check(&allowing, &["--repository", &base, "--no-cleanup"], &[]);
    let tag = seeded.report["push"]["tag"].as_str().unwrap().to_string();
    let host = |gate: &Gate| gate.url.trim_start_matches("http://").to_string();
    let pulled = format!("{}/{base}:{tag}", host(&allowing));
    let pull = containerd.ctr(&[
        "images",
        "pull",
        "--plain-http",
        "--user",
        &user,
        "--platform",
        "linux/amd64",
        &pulled,
    ]);
    assert!(
        pull.status.success(),
        "ctr pull: {}",
        String::from_utf8_lossy(&pull.stderr)
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dockerfile(dir.path(), &format!("{REGISTRY}/{base}:{tag}"));

    let push_with_ctr = |gate: &Gate, name: &str| {
        let target = format!("{}/{repo}:{name}", host(gate));
        let tagged = containerd.ctr(&["images", "tag", "--force", &pulled, &target]);
        assert!(
            tagged.status.success(),
            "{}",
            String::from_utf8_lossy(&tagged.stderr)
        );
        containerd.ctr(&[
            "images",
            "push",
            "--plain-http",
            "--user",
            &user,
            "--platform",
            "linux/amd64",
            &target,
        ])
    };

    let denying = Gate::start(&["--deny", &format!("ecr:GetDownloadUrlForLayer@{base}")]);
    let ctr_push = push_with_ctr(&denying, "denied");
    assert!(
        !ctr_push.status.success(),
        "ctr pushed although the mount was denied"
    );
    let mount_denied = denying.requests().iter().any(|r| {
        r["method"] == "POST"
            && r["path"]
                .as_str()
                .is_some_and(|p| p.contains("mount=") && p.contains(&format!("from={base}")))
            && r["status"] == 403
    });
    assert!(
        mount_denied,
        "ctr's mount from the base was not the denied request"
    );
    let probe = check(
        &denying,
        &["--repository", &repo, "--dockerfile", &file],
        &[],
    );
    assert_eq!(probe.code, 1, "{}", probe.stdout);
    let base_arn = format!("arn:aws:ecr:us-east-1:123456789012:repository/{base}");
    assert!(
        probe.report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["resources"][0] == base_arn.as_str()
                && f["iam_action"] == "ecr:GetDownloadUrlForLayer"),
        "{}",
        probe.stdout
    );

    let ctr_push = push_with_ctr(&allowing, "allowed");
    assert!(
        ctr_push.status.success(),
        "ctr push: {}",
        String::from_utf8_lossy(&ctr_push.stderr)
    );
    let probe = check(
        &allowing,
        &["--repository", &repo, "--dockerfile", &file],
        &[],
    );
    assert_eq!(probe.code, 0, "{}", probe.stdout);
}
