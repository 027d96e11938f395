//! Fargate readiness end to end: scenarios seeded into moto server, checked
//! by the real binary (discovery through the gate, which adds what moto lacks:
//! SimulatePrincipalPolicy and describe denials), and snapshots re-checked offline.

mod harness;

use harness::{Gate, check, seed};
use serde_json::Value;

fn network(gate: &Gate, scenario: &Value, extra: &[&str]) -> harness::Run {
    let cluster = scenario["cluster"].as_str().unwrap();
    let mut args = vec!["--cluster", cluster];
    args.extend_from_slice(extra);
    let run = check(gate, &args, &[]);
    run.assert_no_panic();
    run
}

fn endpoint_missing(run: &harness::Run) -> Vec<String> {
    let mut v: Vec<String> = run
        .all("network/endpoint-missing")
        .iter()
        .map(|f| f["endpoint_service"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

#[test]
fn fargate_1_4_upgrade_before_state_misses_ecr_api() {
    let gate = Gate::start(&[]);
    let s = seed("upgrade", &["--endpoints", "ecr.dkr,s3", "--logs", "none"]);
    let run = network(&gate, &s, &[]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_eq!(
        endpoint_missing(&run),
        ["com.amazonaws.us-east-1.ecr.api"],
        "{}",
        run.stdout
    );
    let f = run.finding("network/endpoint-missing");
    assert_eq!(f["severity"], "error");
    assert!(
        f["resources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == &s["vpc"]),
        "{f}"
    );
    assert!(
        f["fix"]["terraform"]
            .as_str()
            .unwrap()
            .contains("aws_vpc_endpoint")
    );
    assert!(
        f["fix"]["aws_cli"]
            .as_str()
            .unwrap()
            .contains("create-vpc-endpoint")
    );
    assert_eq!(
        run.report["network"]["workloads"][0]["subnets"][0]["egress"],
        "isolated"
    );
}

#[test]
fn all_endpoints_present_passes() {
    let gate = Gate::start(&[]);
    let s = seed("complete", &[]);
    let run = network(&gate, &s, &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.report["verdict"], "pass");
    assert!(run.findings("warning").is_empty(), "{}", run.stdout);
    assert_eq!(run.report["network"]["source"], "live");
    assert!(run.report["network"]["api_calls"].as_u64().unwrap() > 10);
}

#[test]
fn task_egress_without_the_s3_prefix_list_is_an_error() {
    let gate = Gate::start(&[]);
    let s = seed("noprefix", &["--task-egress-s3", "none"]);
    let run = network(&gate, &s, &[]);
    assert_eq!(
        run.rules("error"),
        ["network/task-egress-s3-prefix-list"],
        "{}",
        run.stdout
    );
    let f = run.finding("network/task-egress-s3-prefix-list");
    assert!(
        f["resources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == &s["task_security_group"]),
        "{f}"
    );
    assert!(
        f["fix"]["aws_cli"]
            .as_str()
            .unwrap()
            .contains(s["s3_prefix_list"].as_str().unwrap()),
        "{f}"
    );
    // 0.0.0.0/0 on 443 covers S3 too.
    let open = seed("open", &["--task-egress-s3", "anywhere"]);
    assert!(network(&gate, &open, &[]).findings("error").is_empty());
}

#[test]
fn s3_gateway_missing_on_one_task_route_table() {
    let gate = Gate::start(&[]);
    let s = seed("oneroute", &["--s3-route-tables", "first"]);
    let run = network(&gate, &s, &[]);
    assert_eq!(
        run.rules("error"),
        ["network/s3-gateway-route-missing"],
        "{}",
        run.stdout
    );
    let f = run.finding("network/s3-gateway-route-missing");
    let resources = f["resources"].as_array().unwrap();
    assert!(resources.iter().any(|r| r == &s["route_tables"][1]), "{f}");
    assert!(!resources.iter().any(|r| r == &s["route_tables"][0]), "{f}");
}

#[test]
fn an_s3_interface_endpoint_does_not_serve_ecr_layers() {
    let gate = Gate::start(&[]);
    let s = seed("s3iface", &["--s3-interface"]);
    let run = network(&gate, &s, &[]);
    assert!(
        run.rules("error")
            .contains(&"network/endpoint-wrong-type".to_string()),
        "{}",
        run.stdout
    );
}

#[test]
fn private_dns_off_is_an_error() {
    let gate = Gate::start(&[]);
    let s = seed("nodns", &["--private-dns", "off"]);
    let run = network(&gate, &s, &[]);
    assert_eq!(
        run.rules("error"),
        ["network/endpoint-private-dns-disabled"],
        "{}",
        run.stdout
    );
}

#[test]
fn nat_route_needs_no_endpoints() {
    let gate = Gate::start(&[]);
    let s = seed("nat", &["--egress", "nat", "--endpoints", ""]);
    let run = network(&gate, &s, &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(endpoint_missing(&run).is_empty());
    assert!(
        run.report["network"]["workloads"][0]["subnets"][0]["egress"]
            .as_str()
            .unwrap()
            .starts_with("nat")
    );
}

#[test]
fn public_ip_with_internet_gateway_needs_no_endpoints() {
    let gate = Gate::start(&[]);
    let s = seed("public", &["--egress", "public", "--endpoints", ""]);
    let run = network(&gate, &s, &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(
        run.report["network"]["workloads"][0]["subnets"][0]["egress"],
        "public-ip+internet-gateway"
    );
}

#[test]
fn awslogs_requires_the_logs_endpoint() {
    let gate = Gate::start(&[]);
    let s = seed("nologs", &["--endpoints", "ecr.api,ecr.dkr,s3"]);
    let run = network(&gate, &s, &[]);
    assert_eq!(
        endpoint_missing(&run),
        ["com.amazonaws.us-east-1.logs"],
        "{}",
        run.stdout
    );
}

#[test]
fn secrets_require_ssm_and_secretsmanager() {
    let gate = Gate::start(&[]);
    let s = seed("secrets", &["--secrets", "ssm,secretsmanager"]);
    let run = network(&gate, &s, &[]);
    assert_eq!(
        endpoint_missing(&run),
        [
            "com.amazonaws.us-east-1.secretsmanager",
            "com.amazonaws.us-east-1.ssm"
        ],
        "{}",
        run.stdout
    );
}

#[test]
fn endpoint_security_group_without_443_ingress_is_an_error() {
    let gate = Gate::start(&[]);
    let s = seed("noingress", &["--endpoint-ingress", "off"]);
    let run = network(&gate, &s, &[]);
    assert_eq!(
        run.rules("error"),
        ["network/endpoint-ingress-443"],
        "{}",
        run.stdout
    );
    let f = run.finding("network/endpoint-ingress-443");
    assert!(
        f["resources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == &s["endpoint_security_group"]),
        "{f}"
    );
}

#[test]
fn restrictive_s3_endpoint_policy_blocks_layers() {
    let gate = Gate::start(&[]);
    let s = seed("s3policy", &["--s3-policy", "restrictive"]);
    let run = network(&gate, &s, &[]);
    assert_eq!(
        run.rules("error"),
        ["network/s3-endpoint-policy-blocks-layers"],
        "{}",
        run.stdout
    );
    let f = run.finding("network/s3-endpoint-policy-blocks-layers");
    assert_eq!(f["endpoint_service"], "com.amazonaws.us-east-1.s3");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("prod-us-east-1-starport-layer-bucket"),
        "{f}"
    );
}

#[test]
fn snapshot_round_trip_gives_identical_findings() {
    let gate = Gate::start(&[]);
    let s = seed(
        "roundtrip",
        &[
            "--endpoints",
            "ecr.dkr,s3",
            "--task-egress-s3",
            "none",
            "--services",
            "3",
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("snapshot.json");
    let live = network(&gate, &s, &["--save-snapshot", file.to_str().unwrap()]);
    assert_eq!(live.code, 1);
    let snapshot: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(snapshot["version"], 1);
    assert_eq!(snapshot["workloads"].as_array().unwrap().len(), 3);
    // Offline: no credentials, no endpoints, nothing but the file.
    let offline = check(
        &gate,
        &["--snapshot", file.to_str().unwrap()],
        &[
            ("AWS_ACCESS_KEY_ID", None),
            ("AWS_SECRET_ACCESS_KEY", None),
            ("AWS_ENDPOINT_URL", Some("http://127.0.0.1:9")),
        ],
    );
    assert_eq!(offline.code, 1, "{}", offline.stderr);
    assert_eq!(offline.report["findings"], live.report["findings"]);
    assert_eq!(offline.report["network"]["source"], "snapshot");
}

#[test]
fn a_denied_describe_call_is_reported_and_the_rest_still_checked() {
    let gate = Gate::start(&["--deny", "ec2:DescribeNetworkAcls"]);
    let s = seed("denied", &["--endpoints", "ecr.dkr,s3,logs"]);
    let run = network(&gate, &s, &[]);
    let gap = run.finding("network/not-checked");
    assert!(
        gap["message"]
            .as_str()
            .unwrap()
            .contains("ec2:DescribeNetworkAcls"),
        "{gap}"
    );
    // The other checks still ran.
    assert_eq!(
        endpoint_missing(&run),
        ["com.amazonaws.us-east-1.ecr.api"],
        "{}",
        run.stdout
    );
}

#[test]
fn execution_role_is_simulated_when_allowed() {
    let denying = Gate::start(&["--simulate-deny", "ecr:GetDownloadUrlForLayer"]);
    let s = seed("execrole", &[]);
    let run = network(&denying, &s, &[]);
    let f = run.finding("network/execution-role-denied");
    assert_eq!(f["iam_action"], "ecr:GetDownloadUrlForLayer");
    assert_eq!(f["severity"], "error");

    let forbidden = Gate::start(&["--simulate-forbidden"]);
    let run = network(&forbidden, &s, &[]);
    assert_eq!(
        run.code, 0,
        "not being allowed to simulate is not an error: {}",
        run.stdout
    );
    let f = run.finding("network/execution-role-not-simulated");
    assert_eq!(f["severity"], "notice");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("iam:SimulatePrincipalPolicy"),
        "{f}"
    );
}

#[test]
fn a_planned_task_is_checked_before_its_service_exists() {
    let gate = Gate::start(&[]);
    let s = seed("planned", &["--endpoints", "ecr.dkr,s3,logs"]);
    let subnets = format!(
        "{},{}",
        s["subnets"][0].as_str().unwrap(),
        s["subnets"][1].as_str().unwrap()
    );
    let run = check(
        &gate,
        &[
            "--task-definition",
            s["family"].as_str().unwrap(),
            "--subnets",
            &subnets,
            "--security-groups",
            s["task_security_group"].as_str().unwrap(),
        ],
        &[],
    );
    run.assert_no_panic();
    assert_eq!(
        endpoint_missing(&run),
        ["com.amazonaws.us-east-1.ecr.api"],
        "{}",
        run.stdout
    );
}

#[test]
fn push_and_network_in_one_report() {
    let gate = Gate::start(&[]);
    let s = seed("both", &["--endpoints", "ecr.dkr,s3,logs"]);
    let repo = harness::unique_repository("both");
    harness::create_repository(&repo, false);
    let run = network(&gate, &s, &["--repository", &repo]);
    assert_eq!(run.code, 1);
    assert!(
        run.report["push"]["index_digest"].is_string(),
        "{}",
        run.stdout
    );
    assert_eq!(endpoint_missing(&run), ["com.amazonaws.us-east-1.ecr.api"]);
    assert_eq!(run.trace()[0]["step"], "authorization-token");
}

#[test]
fn the_committed_example_snapshot_checks_offline() {
    let gate = Gate::start(&[]);
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/snapshots/fargate-1.4-upgrade-before.json"
    );
    let run = check(
        &gate,
        &["--snapshot", example],
        &[("AWS_ACCESS_KEY_ID", None)],
    );
    run.assert_no_panic();
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        endpoint_missing(&run),
        ["com.amazonaws.us-east-1.ecr.api"],
        "{}",
        run.stdout
    );
}

#[test]
fn a_bad_snapshot_is_exit_2_with_its_location() {
    let gate = Gate::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"version\": 1, \"region\": 5}").unwrap();
    let run = check(&gate, &["--snapshot", bad.to_str().unwrap()], &[]);
    run.assert_no_panic();
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("line 1"), "{}", run.stderr);
    let missing = check(&gate, &["--snapshot", "/nonexistent/snapshot.json"], &[]);
    assert_eq!(missing.code, 2);
    let future = dir.path().join("future.json");
    std::fs::write(
        &future,
        "{\"version\": 99, \"region\": \"us-east-1\", \"workloads\": []}",
    )
    .unwrap();
    let run = check(&gate, &["--snapshot", future.to_str().unwrap()], &[]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("version 99"), "{}", run.stderr);
}

#[test]
fn images_behind_a_pull_through_cache_warn_from_isolated_subnets() {
    let gate = Gate::start(&["--pull-through-cache", "docker-hub=registry-1.docker.io"]);
    let s = seed(
        "ptc",
        &[
            "--image",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/docker-hub/library/nginx:1.27",
        ],
    );
    let run = network(&gate, &s, &[]);
    assert_eq!(run.code, 0, "a warning, not an error: {}", run.stdout);
    let f = run.finding("network/pull-through-cache");
    assert!(f["message"].as_str().unwrap().contains("docker-hub"), "{f}");
    // Docker Hub itself, from an isolated subnet: unreachable.
    let hub = seed("hub", &["--image", "nginx:1.27"]);
    let run = network(&gate, &hub, &[]);
    assert!(
        run.rules("error")
            .contains(&"network/image-unreachable".to_string()),
        "{}",
        run.stdout
    );
}

#[test]
fn awslogs_in_another_region_is_an_error_from_isolated_subnets() {
    let gate = Gate::start(&[]);
    let s = seed("logsregion", &["--logs-region", "eu-west-1"]);
    let run = network(&gate, &s, &[]);
    let found = run.all("network/log-destination-other-region");
    assert_eq!(found.len(), 1, "{}", run.stdout);
    assert_eq!(found[0]["severity"], "error");
    assert!(
        found[0]["message"]
            .as_str()
            .unwrap()
            .contains("`eu-west-1`"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_dual_stack_image_name_without_an_ipv6_route_is_an_error() {
    let gate = Gate::start(&[]);
    let s = seed(
        "dualstack",
        &["--image", "123456789012.dkr-ecr.us-east-1.on.aws/app:1"],
    );
    let run = network(&gate, &s, &[]);
    let found = run.all("network/dual-stack-image-no-ipv6-path");
    assert_eq!(found.len(), 1, "{}", run.stdout);
    assert!(
        found[0]["message"]
            .as_str()
            .unwrap()
            .contains("no `::/0` route"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_nacl_entry_denying_part_of_the_s3_ranges_is_found() {
    let gate = Gate::start(&[]);
    let s = seed("naclpartial", &["--nacl-deny-egress", "52.216.0.0/16"]);
    let run = network(&gate, &s, &[]);
    let found = run.all("network/nacl-blocks-443");
    assert_eq!(found.len(), 1, "{}", run.stdout);
    assert!(
        found[0]["message"]
            .as_str()
            .unwrap()
            .contains("for addresses 52.216.0.0–52.216.255.255 denied by entry 50"),
        "{}",
        run.stdout
    );
    // The diagram marks the link to S3 broken by it.
    let paths = &run.report["network"]["paths"];
    assert!(
        paths.to_string().contains("network/nacl-blocks-443"),
        "{paths}"
    );
}
