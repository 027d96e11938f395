//! The report stays proportional to the problems, not the inventory: a large
//! generated snapshot (thousands of services with the same two problems)
//! gives a handful of findings and a report of bounded size. Counts only, no
//! timing. No stand-ins needed.

use std::process::Command;

use serde_json::{Value, json};

const SERVICES: usize = 3000;

/// The example snapshot (isolated subnets without an `ecr.api` endpoint),
/// its first service copied `SERVICES` times, each with a public IP that no
/// internet gateway serves: one problem shared by every service, one of each.
fn big_snapshot(dir: &std::path::Path) -> std::path::PathBuf {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let text =
        std::fs::read_to_string(root.join("examples/snapshots/fargate-1.4-upgrade-before.json"))
            .unwrap();
    let mut snapshot: Value = serde_json::from_str(&text).unwrap();
    let first = snapshot["workloads"][0].clone();
    let workloads: Vec<Value> = (0..SERVICES)
        .map(|i| {
            let mut w = first.clone();
            w["name"] = json!(format!("svc-{i:05}"));
            w["assign_public_ip"] = json!(true);
            w
        })
        .collect();
    snapshot["workloads"] = json!(workloads);
    let path = dir.join("big.json");
    std::fs::write(&path, snapshot.to_string()).unwrap();
    path
}

#[test]
fn a_fleet_with_two_problems_gets_a_few_findings_and_a_small_report() {
    let dir = tempfile::tempdir().unwrap();
    let path = big_snapshot(dir.path());
    let out = Command::new(env!("CARGO_BIN_EXE_ecr-fargate-preflight"))
        .args([
            "check",
            "--snapshot",
            path.to_str().unwrap(),
            "--format",
            "json",
        ])
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_ACTIONS")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_str(&stdout).unwrap();
    if let Err(e) = ecr_fargate_preflight::report::schema::validate(&report) {
        panic!("the report does not fit schemas/report.schema.json: {e}");
    }
    let findings = report["findings"].as_array().unwrap();
    let rules: Vec<&str> = findings
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    // One finding per problem, however many services share it.
    assert_eq!(
        rules
            .iter()
            .filter(|r| **r == "network/endpoint-missing")
            .count(),
        1,
        "{rules:?}"
    );
    assert_eq!(
        rules
            .iter()
            .filter(|r| **r == "network/public-ip-without-internet-gateway")
            .count(),
        1,
        "{rules:?}"
    );
    for f in findings {
        let listed = f["resources"].as_array().unwrap().len();
        assert!(listed <= 100, "{} lists {listed}", f["rule"]);
        assert!(
            f["message"].as_str().unwrap().len() < 4000,
            "{}",
            f["message"]
        );
    }
    // Nothing is lost: what is not listed is counted.
    let public_ip = findings
        .iter()
        .find(|f| f["rule"] == "network/public-ip-without-internet-gateway")
        .unwrap();
    assert!(
        public_ip["title"]
            .as_str()
            .unwrap()
            .contains(&format!("{} more", SERVICES - 1)),
        "{}",
        public_ip["title"]
    );
    assert!(
        public_ip["message"]
            .as_str()
            .unwrap()
            .contains(&format!("and {} more", SERVICES - 10)),
        "{}",
        public_ip["message"]
    );
    let services_listed = public_ip["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r.as_str().unwrap().contains(":service/"))
        .count();
    assert_eq!(
        services_listed + public_ip["omitted_resources"].as_u64().unwrap() as usize,
        SERVICES
    );
    assert_eq!(
        report["network"]["workloads"].as_array().unwrap().len(),
        1000
    );
    assert_eq!(report["network"]["omitted_workloads"], SERVICES - 1000);
    // The report: a few hundred bytes a workload listed, not a finding each.
    assert!(stdout.len() < 1_000_000, "report is {} bytes", stdout.len());
}
