//! The plan reader on real `terraform show -json` output: the fixtures in
//! tests/fixtures/plans are plans of the scenarios tests/network.rs seeds
//! into moto (see generate.sh), and must give the same findings.

use std::collections::BTreeSet;
use std::path::PathBuf;

use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::network::facts::{EgressClass, classify};
use crate::network::rules::check_all;
use crate::report::{Finding, Severity};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/plans")
}

fn text(name: &str) -> String {
    std::fs::read_to_string(fixtures().join(format!("{name}.json"))).unwrap()
}

fn plan(name: &str) -> Plan {
    read_plan(&text(name), Some(&fixtures().join("workspace"))).unwrap()
}

/// A fixture changed by `edit`, read without a workspace.
fn edited(name: &str, edit: impl FnOnce(&mut Value)) -> Plan {
    let mut value: Value = serde_json::from_str(&text(name)).unwrap();
    edit(&mut value);
    read_plan(&value.to_string(), None).unwrap()
}

fn findings(plan: &Plan) -> Vec<Finding> {
    check_all(&plan.snapshot)
}

fn rules(findings: &[Finding], severity: Severity) -> Vec<String> {
    let set: BTreeSet<String> = findings
        .iter()
        .filter(|f| f.severity == severity)
        .map(|f| f.rule.clone())
        .collect();
    set.into_iter().collect()
}

fn endpoint_missing(findings: &[Finding]) -> Vec<String> {
    let mut v: Vec<String> = findings
        .iter()
        .filter(|f| f.rule == "network/endpoint-missing")
        .filter_map(|f| f.endpoint_service.clone())
        .collect();
    v.sort();
    v
}

fn finding<'a>(findings: &'a [Finding], rule: &str) -> &'a Finding {
    findings
        .iter()
        .find(|f| f.rule == rule)
        .unwrap_or_else(|| panic!("no {rule} in {findings:#?}"))
}

fn undetermined<'a>(plan: &'a Plan, address: &str, attribute: &str) -> &'a Undetermined {
    plan.undetermined
        .iter()
        .find(|u| u.address == address && u.attribute == attribute)
        .unwrap_or_else(|| {
            panic!(
                "no undetermined {address} {attribute} in {:#?}",
                plan.undetermined
            )
        })
}

/// The values of `address` in `planned_values` and in its resource change.
fn values_of<'a>(plan: &'a mut Value, address: &str) -> Vec<&'a mut Value> {
    let Value::Object(top) = plan else {
        panic!("not an object")
    };
    let mut out = Vec::new();
    for (section, list) in top.iter_mut() {
        let list = match section.as_str() {
            "planned_values" => &mut list["root_module"]["resources"],
            "resource_changes" => list,
            _ => continue,
        };
        for r in list.as_array_mut().unwrap() {
            if r["address"] == address {
                out.push(if section == "planned_values" {
                    &mut r["values"]
                } else {
                    &mut r["change"]["after"]
                });
            }
        }
    }
    out
}

/// Make `attribute` of `address` unknown until apply.
fn make_unknown(plan: &mut Value, address: &str, attribute: &str) {
    for values in values_of(plan, address) {
        values.as_object_mut().unwrap().remove(attribute);
    }
    let change = plan["resource_changes"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|r| r["address"] == address)
        .unwrap();
    change["change"]["after_unknown"][attribute] = json!(true);
}

/// Set the planned value of `attribute` of `address`.
fn set_value(plan: &mut Value, address: &str, attribute: &str, value: Value) {
    for values in values_of(plan, address) {
        values[attribute] = value.clone();
    }
}

fn config<'a>(plan: &'a mut Value, address: &str) -> &'a mut Value {
    plan["configuration"]["root_module"]["resources"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|r| r["address"] == address)
        .map(|r| &mut r["expressions"])
        .unwrap()
}

// ----- the live scenarios of tests/network.rs -----

/// Each fixture gives the error rules (and the missing endpoints) that the
/// live scenario of the same name reports.
#[test]
fn fixtures_give_the_findings_of_the_live_scenarios() {
    let cases: &[(&str, &[&str], &[&str])] = &[
        (
            "fargate-1.4-upgrade-before",
            &["network/endpoint-missing"],
            &["com.amazonaws.us-east-1.ecr.api"],
        ),
        ("all-endpoints", &[], &[]),
        (
            "sg-without-s3-prefix-list",
            &["network/task-egress-s3-prefix-list"],
            &[],
        ),
        (
            "s3-gateway-one-route-table",
            &["network/s3-gateway-route-missing"],
            &[],
        ),
        (
            "private-dns-off",
            &["network/endpoint-private-dns-disabled"],
            &[],
        ),
        ("nat", &[], &[]),
        ("endpoint-sg-no-443", &["network/endpoint-ingress-443"], &[]),
        (
            "restrictive-s3-policy",
            &["network/s3-endpoint-policy-blocks-layers"],
            &[],
        ),
    ];
    for (name, errors, missing) in cases {
        let p = plan(name);
        let f = findings(&p);
        assert_eq!(rules(&f, Severity::Error), *errors, "{name}: {f:#?}");
        assert_eq!(endpoint_missing(&f), *missing, "{name}: {f:#?}");
    }
    // Like the live scenario: no warnings either.
    let complete = findings(&plan("all-endpoints"));
    assert!(
        rules(&complete, Severity::Warning).is_empty(),
        "{complete:#?}"
    );
}

#[test]
fn upgrade_before_state_misses_ecr_api_in_its_known_vpc() {
    let p = plan("fargate-1.4-upgrade-before");
    let f = findings(&p);
    let missing = finding(&f, "network/endpoint-missing");
    let vpc = p.snapshot.vpcs.keys().next().unwrap();
    assert!(
        vpc.starts_with("vpc-"),
        "applied, so the id is known: {vpc}"
    );
    assert!(missing.resources.contains(vpc), "{missing:#?}");
    let fix = missing.fix.as_ref().unwrap();
    assert!(fix.terraform.as_ref().unwrap().contains("aws_vpc_endpoint"));
    assert!(
        fix.aws_cli
            .as_ref()
            .unwrap()
            .contains("create-vpc-endpoint")
    );
    let w = &p.snapshot.workloads[0];
    assert_eq!(w.platform_version.as_deref(), Some("1.4.0"));
    assert_eq!(
        classify(&p.snapshot, w, &w.subnets[0]),
        EgressClass::Isolated
    );
    assert_eq!(p.snapshot.account.as_deref(), Some("123456789012"));
}

#[test]
fn security_group_without_the_s3_prefix_list() {
    let p = plan("sg-without-s3-prefix-list");
    let f = findings(&p);
    let e = finding(&f, "network/task-egress-s3-prefix-list");
    assert!(
        e.resources.contains(&"aws_security_group.task".to_string()),
        "{e:#?}"
    );
    let pl = p.snapshot.s3_prefix_list().unwrap().id.clone();
    assert!(
        pl.starts_with("pl-"),
        "read by data.aws_prefix_list while planning: {pl}"
    );
    assert!(
        e.fix
            .as_ref()
            .unwrap()
            .aws_cli
            .as_ref()
            .unwrap()
            .contains(&pl),
        "{e:#?}"
    );
}

#[test]
fn s3_gateway_on_one_route_table() {
    let f = findings(&plan("s3-gateway-one-route-table"));
    let e = finding(&f, "network/s3-gateway-route-missing");
    assert!(
        e.resources
            .contains(&"aws_route_table.private_b".to_string()),
        "{e:#?}"
    );
    assert!(
        !e.resources
            .contains(&"aws_route_table.private_a".to_string()),
        "{e:#?}"
    );
}

#[test]
fn endpoint_security_group_without_443() {
    let f = findings(&plan("endpoint-sg-no-443"));
    let e = finding(&f, "network/endpoint-ingress-443");
    assert!(
        e.resources
            .contains(&"aws_security_group.endpoints".to_string()),
        "{e:#?}"
    );
}

#[test]
fn restrictive_s3_endpoint_policy() {
    let f = findings(&plan("restrictive-s3-policy"));
    let e = finding(&f, "network/s3-endpoint-policy-blocks-layers");
    assert_eq!(
        e.endpoint_service.as_deref(),
        Some("com.amazonaws.us-east-1.s3")
    );
    assert!(
        e.message.contains("prod-us-east-1-starport-layer-bucket"),
        "{e:#?}"
    );
}

#[test]
fn nat_route_needs_no_endpoints() {
    let p = plan("nat");
    let w = &p.snapshot.workloads[0];
    for subnet in &w.subnets {
        assert_eq!(
            classify(&p.snapshot, w, subnet),
            EgressClass::Nat("aws_nat_gateway.main[0]".into()),
            "{subnet}"
        );
    }
    let nat = &p.snapshot.nat_gateways["aws_nat_gateway.main[0]"];
    assert_eq!(nat.subnet_id, "aws_subnet.public[0]");
    assert_eq!(nat.state, "available");
}

// ----- ids unknown until apply -----

/// In a plan that creates everything, addresses stand in for the ids, and
/// references connect them as the ids will connect after apply.
#[test]
fn addresses_stand_in_for_ids_unknown_until_apply() {
    let p = plan("all-endpoints");
    let s = &p.snapshot;
    let subnets: Vec<&str> = s.subnets.keys().map(String::as_str).collect();
    assert_eq!(subnets, ["aws_subnet.private_a", "aws_subnet.private_b"]);
    assert_eq!(s.subnets["aws_subnet.private_a"].vpc_id, "aws_vpc.main");
    assert_eq!(
        s.subnets["aws_subnet.private_a"].availability_zone,
        "us-east-1a"
    );
    let w = &s.workloads[0];
    assert_eq!(w.name, "svc-0");
    assert_eq!(
        w.cluster, "preflight",
        "the cluster's name stands in for its ARN"
    );
    assert_eq!(w.subnets, ["aws_subnet.private_a", "aws_subnet.private_b"]);
    assert_eq!(w.security_groups, ["aws_security_group.task"]);
    assert_eq!(w.task_definition, "aws_ecs_task_definition.app");
    let task = &s.task_definitions["aws_ecs_task_definition.app"];
    assert_eq!(
        task.execution_role_arn.as_deref(),
        Some("aws_iam_role.execution")
    );
    assert_eq!(task.containers[0].log_driver.as_deref(), Some("awslogs"));
    assert_eq!(
        s.route_table_of("aws_subnet.private_b").unwrap().id,
        "aws_route_table.private_b"
    );
    // Through the module's variables and its output.
    let api = &s.vpc_endpoints["module.endpoints.aws_vpc_endpoint.interface[\"ecr.api\"]"];
    assert_eq!(
        api.subnet_ids,
        ["aws_subnet.private_a", "aws_subnet.private_b"]
    );
    assert_eq!(api.security_group_ids, ["aws_security_group.endpoints"]);
    assert_eq!(api.vpc_id, "aws_vpc.main");
    assert!(api.private_dns_enabled);
    let s3 = &s.vpc_endpoints["module.endpoints.aws_vpc_endpoint.s3[0]"];
    assert_eq!(s3.endpoint_type, "Gateway", "the default type");
    assert_eq!(
        s3.route_table_ids,
        ["aws_route_table.private_a", "aws_route_table.private_b"]
    );
    assert_eq!(
        s3.policy_document, None,
        "not set: AWS's full-access default"
    );
    // Security group rules from separate resources, peers by address.
    let task_group = &s.security_groups["aws_security_group.task"];
    let pl = s.s3_prefix_list().unwrap().id.clone();
    assert!(
        task_group
            .egress
            .iter()
            .any(|r| r.referenced_group_id.as_deref() == Some("aws_security_group.endpoints"))
    );
    assert!(
        task_group
            .egress
            .iter()
            .any(|r| r.prefix_list_id.as_deref() == Some(pl.as_str()))
    );
    assert_eq!(
        task_group.egress.len(),
        2,
        "no default allow-all: {:#?}",
        task_group.egress
    );
    let endpoint_group = &s.security_groups["aws_security_group.endpoints"];
    assert_eq!(
        endpoint_group.ingress[0].referenced_group_id.as_deref(),
        Some("aws_security_group.task")
    );
    // The VPC's default network ACL, which AWS creates with it, covers both subnets.
    let acl = s.network_acl_of("aws_subnet.private_a").unwrap();
    assert_eq!(acl.id, "aws_vpc.main.default_network_acl_id");
    assert_eq!(s.region, "us-east-1");
}

#[test]
fn a_gateway_endpoints_prefix_list_id_is_the_s3_prefix_list() {
    // The task group allows the S3 Gateway endpoint's prefix_list_id (unknown
    // until apply) instead of the data source's id.
    let p = edited("all-endpoints", |v| {
        let expr = config(v, "aws_vpc_security_group_egress_rule.task_to_s3");
        expr["prefix_list_id"] =
            json!({"references": ["module.endpoints.s3_prefix_list_id", "module.endpoints"]});
        v["configuration"]["root_module"]["module_calls"]["endpoints"]["module"]["outputs"]["s3_prefix_list_id"] = json!({"expression": {"references": ["aws_vpc_endpoint.s3[0].prefix_list_id", "aws_vpc_endpoint.s3[0]", "aws_vpc_endpoint.s3"]}});
        make_unknown(
            v,
            "aws_vpc_security_group_egress_rule.task_to_s3[0]",
            "prefix_list_id",
        );
    });
    let f = findings(&p);
    assert!(rules(&f, Severity::Error).is_empty(), "{f:#?}");
}

#[test]
fn known_ids_come_from_the_plan_and_its_prior_state() {
    let p = plan("fargate-1.4-upgrade-before");
    let s = &p.snapshot;
    assert!(
        s.subnets.keys().all(|id| id.starts_with("subnet-")),
        "{:?}",
        s.subnets.keys()
    );
    assert!(
        s.security_groups.keys().all(|id| id.starts_with("sg-")),
        "{:?}",
        s.security_groups.keys()
    );
    assert!(s.workloads[0].task_definition.starts_with("arn:aws:ecs:"));
    // The data source read while planning is only in the prior state.
    assert!(s.prefix_lists.keys().all(|id| id.starts_with("pl-")));
    assert!(
        p.undetermined.iter().all(|u| u.attribute == "policy_arn"),
        "{:#?}",
        p.undetermined
    );
}

// ----- undetermined, not guessed -----

#[test]
fn an_aws_managed_policy_is_undetermined() {
    let p = plan("fargate-1.4-upgrade-before");
    let u = undetermined(&p, "aws_iam_role_policy_attachment.execution", "policy_arn");
    assert!(u.why.contains("AmazonECSTaskExecutionRolePolicy"), "{u:?}");
    assert!(u.why.contains("AWS-managed"), "{u:?}");
}

#[test]
fn subnets_from_a_local_value_are_undetermined() {
    let p = edited("fargate-1.4-upgrade-before", |_| {});
    assert_eq!(p.snapshot.workloads[0].subnets.len(), 2);
    let p = edited("all-endpoints", |v| {
        let expr = config(v, "aws_ecs_service.app");
        expr["network_configuration"][0]["subnets"] =
            json!({"references": ["local.private_subnet_ids"]});
    });
    let u = undetermined(
        &p,
        "aws_ecs_service.app",
        "network_configuration[0].subnets",
    );
    assert!(u.why.contains("local.private_subnet_ids"), "{u:?}");
    assert!(p.snapshot.workloads[0].subnets.is_empty(), "not guessed");
    assert!(rules(&findings(&p), Severity::Error).is_empty());
}

#[test]
fn a_conditional_choice_of_resources_is_undetermined() {
    let p = edited("s3-gateway-one-route-table", |v| {
        // route_table_id = var.first_only ? aws_route_table.private_a.id : aws_route_table.private_b.id
        let expr = config(v, "aws_route_table_association.private_b");
        expr["route_table_id"] = json!({"references": [
            "var.first_only", "aws_route_table.private_a.id", "aws_route_table.private_a",
            "aws_route_table.private_b.id", "aws_route_table.private_b"
        ]});
    });
    let u = undetermined(
        &p,
        "aws_route_table_association.private_b",
        "route_table_id",
    );
    assert!(u.why.contains("var.first_only"), "{u:?}");
    // Neither table is assumed, nor the VPC's main table: its egress is unknown.
    let table = p.snapshot.route_table_of("aws_subnet.private_b").unwrap();
    assert_eq!(
        table.id,
        "aws_route_table_association.private_b.route_table_id"
    );
    let w = &p.snapshot.workloads[0];
    assert!(matches!(
        classify(&p.snapshot, w, "aws_subnet.private_b"),
        EgressClass::Unknown(_)
    ));
    let f = findings(&p);
    assert!(
        !rules(&f, Severity::Error).contains(&"network/s3-gateway-route-missing".to_string()),
        "{f:#?}"
    );
}

#[test]
fn container_definitions_unknown_until_apply_skip_the_service() {
    let p = edited("fargate-1.4-upgrade-before", |v| {
        make_unknown(v, "aws_ecs_task_definition.app", "container_definitions");
    });
    let u = undetermined(&p, "aws_ecs_task_definition.app", "container_definitions");
    assert!(u.why.contains("known only after apply"), "{u:?}");
    assert!(p.snapshot.task_definitions.is_empty());
    assert!(
        endpoint_missing(&findings(&p)).is_empty(),
        "what the task needs is unknown"
    );
}

#[test]
fn unknown_inline_rules_leave_the_security_group_out() {
    let p = edited("sg-without-s3-prefix-list", |v| {
        let expr = config(v, "aws_security_group.task");
        expr["egress"] = json!({"references": ["aws_security_group.endpoints.id", "aws_security_group.endpoints"]});
    });
    let u = undetermined(&p, "aws_security_group.task", "egress");
    assert!(u.why.contains("known only after apply"), "{u:?}");
    assert!(
        !p.snapshot
            .security_groups
            .contains_key("aws_security_group.task")
    );
    assert!(
        rules(&findings(&p), Severity::Error).is_empty(),
        "its egress is not judged"
    );
}

#[test]
fn an_interface_endpoint_without_security_groups_gets_the_vpc_default() {
    let p = edited("all-endpoints", |v| {
        let module = &mut v["configuration"]["root_module"]["module_calls"]["endpoints"]["module"]
            ["resources"][0]["expressions"];
        module.as_object_mut().unwrap().remove("security_group_ids");
    });
    let api = &p.snapshot.vpc_endpoints["module.endpoints.aws_vpc_endpoint.interface[\"ecr.api\"]"];
    assert_eq!(
        api.security_group_ids,
        ["aws_vpc.main.default_security_group_id"]
    );
    let f = findings(&p);
    // AWS's default group allows inbound only from itself: the tasks cannot reach the endpoints.
    assert_eq!(
        rules(&f, Severity::Error),
        ["network/endpoint-ingress-443", "network/task-egress-443"],
        "{f:#?}"
    );
}

// ----- locations -----

#[test]
fn locations_name_the_file_and_line_of_each_resource() {
    let p = plan("all-endpoints");
    let at = |id: &str| {
        let l = p
            .locations
            .get(id)
            .unwrap_or_else(|| panic!("no location for {id}"));
        (
            l.address.as_str(),
            l.file.as_deref().unwrap_or("-"),
            l.line.unwrap_or(0),
        )
    };
    assert_eq!(
        at("aws_subnet.private_a"),
        ("aws_subnet.private_a", "network.tf", 11)
    );
    assert_eq!(
        at("aws_security_group.task"),
        ("aws_security_group.task", "network.tf", 105)
    );
    assert_eq!(
        at("module.endpoints.aws_vpc_endpoint.interface[\"ecr.api\"]"),
        (
            "module.endpoints.aws_vpc_endpoint.interface[\"ecr.api\"]",
            "modules/endpoints/main.tf",
            29
        )
    );
    assert_eq!(
        at("aws_vpc_security_group_egress_rule.task_to_s3[0]").2,
        130
    );
    assert_eq!(
        at("service/preflight/svc-0"),
        ("aws_ecs_service.app", "ecs.tf", 46)
    );
    let pl = p.snapshot.s3_prefix_list().unwrap().id.clone();
    assert_eq!(at(&pl), ("data.aws_prefix_list.s3", "main.tf", 20));
    // Stand-ins for what AWS creates with the VPC point at the VPC.
    assert_eq!(
        at("aws_vpc.main.default_network_acl_id"),
        ("aws_vpc.main", "network.tf", 1)
    );
}

#[test]
fn every_resource_a_finding_names_has_a_location() {
    for name in [
        "fargate-1.4-upgrade-before",
        "sg-without-s3-prefix-list",
        "s3-gateway-one-route-table",
        "endpoint-sg-no-443",
        "private-dns-off",
    ] {
        let p = plan(name);
        for f in findings(&p) {
            for r in &f.resources {
                let l = p
                    .locations
                    .get(r)
                    .unwrap_or_else(|| panic!("{name}: no location for {r}"));
                assert!(l.file.is_some() && l.line.is_some(), "{name}: {l:?}");
            }
        }
    }
}

#[test]
fn known_ids_are_located_too() {
    let p = plan("fargate-1.4-upgrade-before");
    let subnet = &p.snapshot.workloads[0].subnets[0];
    let l = &p.locations[subnet];
    assert!(l.address.starts_with("aws_subnet.private_"), "{l:?}");
    assert_eq!(l.file.as_deref(), Some("network.tf"));
    let service = "arn:aws:ecs:us-east-1:123456789012:service/upgrade/svc-0";
    assert_eq!(p.locations[service].line, Some(46));
}

#[test]
fn without_a_workspace_locations_have_addresses_only() {
    let p = read_plan(&text("all-endpoints"), None).unwrap();
    let l = &p.locations["aws_subnet.private_a"];
    assert_eq!((l.file.as_deref(), l.line), (None, None));
    assert_eq!(l.address, "aws_subnet.private_a");
}

// ----- policies -----

fn actions(policy: &PlanPolicy) -> Vec<String> {
    let doc: Value = serde_json::from_str(&policy.json).unwrap();
    let mut out: Vec<String> = doc["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| match &s["Action"] {
            Value::String(a) => vec![a.clone()],
            Value::Array(a) => a.iter().map(|x| x.as_str().unwrap().to_string()).collect(),
            _ => vec![],
        })
        .collect();
    out.sort();
    out
}

#[test]
fn the_six_action_push_policy_is_read_for_its_role() {
    let p = plan("buildx-push-six-actions");
    assert_eq!(p.policies.len(), 1, "{:#?}", p.policies);
    let policy = &p.policies[0];
    assert_eq!(
        policy.kind,
        PlanPolicyKind::Identity {
            role: "gha-push".into()
        },
        "the role's id is traced to its name"
    );
    assert_eq!(policy.address, "aws_iam_role_policy.push");
    assert_eq!(
        actions(policy),
        [
            "ecr:BatchCheckLayerAvailability",
            "ecr:BatchGetImage",
            "ecr:CompleteLayerUpload",
            "ecr:GetAuthorizationToken",
            "ecr:InitiateLayerUpload",
            "ecr:PutImage",
            "ecr:UploadLayerPart"
        ]
    );
    assert!(
        policy
            .json
            .contains("arn:aws:ecr:us-east-1:123456789012:repository/team/app")
    );
    let location = policy.location.as_ref().unwrap();
    assert_eq!(
        (location.file.as_deref(), location.line),
        (Some("push/main.tf"), Some(68))
    );
    assert!(p.undetermined.is_empty(), "{:#?}", p.undetermined);
}

#[test]
fn the_complete_push_policy_with_attachment_and_repository_policy() {
    let p = plan("buildx-push-complete");
    let kinds: Vec<(&PlanPolicyKind, &str)> = p
        .policies
        .iter()
        .map(|x| (&x.kind, x.address.as_str()))
        .collect();
    let role = PlanPolicyKind::Identity {
        role: "gha-push".into(),
    };
    let repository = PlanPolicyKind::Repository {
        repository: "team/app".into(),
    };
    assert_eq!(
        kinds,
        [
            (&role, "aws_iam_policy.cleanup[0]"),
            (&role, "aws_iam_role_policy.push"),
            (&repository, "aws_ecr_repository_policy.app[0]")
        ]
    );
    let push = p
        .policies
        .iter()
        .find(|x| x.address == "aws_iam_role_policy.push")
        .unwrap();
    assert!(actions(push).contains(&"ecr:GetDownloadUrlForLayer".to_string()));
    assert_eq!(actions(&p.policies[0]), ["ecr:BatchDeleteImage"]);
    assert_eq!(p.policies[0].location.as_ref().unwrap().line, Some(90));
}

#[test]
fn a_policy_unknown_until_apply_is_undetermined() {
    let p = edited("buildx-push-six-actions", |v| {
        make_unknown(v, "aws_iam_role_policy.push", "policy");
    });
    assert!(p.policies.is_empty());
    let u = undetermined(&p, "aws_iam_role_policy.push", "policy");
    assert!(u.why.contains("unknown until apply"), "{u:?}");
}

// ----- bad input -----

#[test]
fn bad_input_is_an_error_with_its_location() {
    let truncated: String = text("nat").chars().take(5000).collect();
    let truncated_line = truncated.matches('\n').count() + 1;
    let cases: &[(&str, usize, &str)] = &[
        ("", 1, "EOF"),
        ("   \n  ", 2, "EOF"),
        ("[]", 1, "expected a Terraform plan"),
        ("5", 1, "expected a Terraform plan"),
        ("{\"planned_values\": 5}", 1, "invalid type: integer `5`"),
        (
            "{\n  \"resource_changes\": [{\"address\": 1}]\n}",
            2,
            "invalid type: integer `1`",
        ),
        (&truncated, truncated_line, "EOF"),
        (
            "{\"format_version\": \"2.0\", \"planned_values\": {}}",
            1,
            "format_version 2.0 is not supported",
        ),
        ("{}", 1, "not a Terraform plan"),
        (
            "{\"format_version\": \"1.0\", \"values\": {}}",
            1,
            "looks like a state",
        ),
        (
            "{\"planned_values\": {\"root_module\": {\"resources\": [{}]}}}",
            1,
            "missing field `address`",
        ),
        ("\u{feff}{}", 1, "not a Terraform plan"),
    ];
    for (input, line, message) in cases {
        let e = read_plan(input, None).unwrap_err();
        assert_eq!(e.line, *line, "{input:.60}: {e}");
        assert!(e.column >= 1, "{e}");
        assert!(e.message.contains(message), "{input:.60}: {e}");
        assert!(
            e.to_string()
                .starts_with(&format!("plan.json:{}:{}: ", e.line, e.column)),
            "{e}"
        );
    }
    let e = read_plan("{", None).unwrap_err().in_file("infra/plan.json");
    assert_eq!(
        e.to_string(),
        "infra/plan.json:1:1: not a readable Terraform plan: EOF while parsing an object"
    );
}

#[test]
fn values_of_the_wrong_shape_are_undetermined_not_errors() {
    let p = edited("all-endpoints", |v| {
        set_value(v, "aws_subnet.private_a", "availability_zone", json!(5));
        set_value(
            v,
            "aws_ecs_task_definition.app",
            "container_definitions",
            json!("{not json"),
        );
    });
    undetermined(&p, "aws_subnet.private_a", "availability_zone");
    undetermined(&p, "aws_ecs_task_definition.app", "container_definitions");
}

/// Every node of a plan replaced by values of other shapes: never a panic.
#[test]
fn any_shape_anywhere_never_panics() {
    fn paths(value: &Value, here: Vec<Value>, out: &mut Vec<Vec<Value>>) {
        out.push(here.clone());
        match value {
            Value::Object(m) => {
                for (k, v) in m {
                    let mut p = here.clone();
                    p.push(json!(k));
                    paths(v, p, out);
                }
            }
            Value::Array(a) => {
                for (i, v) in a.iter().enumerate() {
                    let mut p = here.clone();
                    p.push(json!(i));
                    paths(v, p, out);
                }
            }
            _ => {}
        }
    }
    fn at<'a>(value: &'a mut Value, path: &[Value]) -> &'a mut Value {
        path.iter().fold(value, |v, step| match step {
            Value::String(k) => &mut v[k.as_str()],
            Value::Number(i) => &mut v[i.as_u64().unwrap() as usize],
            _ => v,
        })
    }
    let shapes = [
        json!(null),
        json!(5),
        json!("x"),
        json!(true),
        json!([]),
        json!({}),
        json!([null, 1]),
        json!({"references": [1, "var."]}),
    ];
    for name in ["buildx-push-complete", "nat"] {
        let original: Value = serde_json::from_str(&text(name)).unwrap();
        let mut all = Vec::new();
        paths(&original, Vec::new(), &mut all);
        let step = if name == "nat" { 5 } else { 1 };
        for (n, path) in all.iter().enumerate().step_by(step) {
            let mut changed = original.clone();
            *at(&mut changed, path) = shapes[n % shapes.len()].clone();
            let _ = read_plan(&changed.to_string(), Some(&fixtures().join("workspace")));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_text_never_panics(input in ".{0,400}") {
        if let Err(e) = read_plan(&input, None) {
            prop_assert!(e.line >= 1 && e.column >= 1);
        }
    }

    #[test]
    fn a_damaged_plan_never_panics(cut in 0usize..12_000, at in 0usize..12_000, byte in any::<u8>()) {
        let original = text("buildx-push-six-actions");
        let mut bytes = original.into_bytes();
        bytes.truncate(cut.max(1));
        if at < bytes.len() {
            bytes[at] = byte;
        }
        let damaged = String::from_utf8_lossy(&bytes);
        if let Err(e) = read_plan(&damaged, None) {
            prop_assert!(e.line >= 1 && e.column >= 1);
            prop_assert!(!e.message.is_empty());
        }
    }
}

#[test]
fn a_roles_trust_policy_is_read_apart_from_its_permissions() {
    let p = plan("buildx-push-complete");
    assert_eq!(p.trust_policies.len(), 1, "{:#?}", p.trust_policies);
    let trust = &p.trust_policies[0];
    assert_eq!(
        trust.kind,
        PlanPolicyKind::Trust {
            role: "gha-push".into()
        }
    );
    assert_eq!(trust.address, "aws_iam_role.push");
    assert!(trust.json.contains("sts:AssumeRoleWithWebIdentity"));
    assert!(trust.location.as_ref().and_then(|l| l.line).is_some());
    assert!(
        p.oidc_providers.is_empty(),
        "this plan declares no provider"
    );
}

#[test]
fn oidc_providers_are_read_with_their_client_ids() {
    let p = edited("buildx-push-complete", |v| {
        v["planned_values"]["root_module"]["resources"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({
                "address": "aws_iam_openid_connect_provider.github",
                "mode": "managed",
                "type": "aws_iam_openid_connect_provider",
                "name": "github",
                "values": {
                    "url": "https://token.actions.githubusercontent.com",
                    "client_id_list": ["sts.amazonaws.com"],
                    "thumbprint_list": []
                }
            }));
    });
    assert_eq!(p.oidc_providers.len(), 1);
    let provider = &p.oidc_providers[0];
    assert_eq!(provider.address, "aws_iam_openid_connect_provider.github");
    assert_eq!(
        provider.url.as_deref(),
        Some("https://token.actions.githubusercontent.com")
    );
    assert_eq!(provider.client_ids, vec!["sts.amazonaws.com"]);
    assert_eq!(provider.arn, None, "unknown until apply");
}

#[test]
fn a_roles_max_session_duration_is_read() {
    let p = plan("buildx-push-complete");
    assert_eq!(p.max_session_durations.get("gha-push"), Some(&3600));
}

#[test]
fn a_plan_read_as_it_is_parsed_is_the_plan_read_from_its_text() {
    let workspace = fixtures().join("workspace");
    for entry in std::fs::read_dir(fixtures()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let from_text = read_plan(&text, Some(&workspace)).unwrap();
        let streamed = read_plan_from(text.as_bytes(), Some(&workspace)).unwrap();
        assert_eq!(streamed, from_text, "{}", path.display());
        // With the byte-order mark PowerShell's `>` writes.
        let marked = format!("\u{feff}{text}");
        let streamed = read_plan_from(marked.as_bytes(), Some(&workspace)).unwrap();
        assert_eq!(streamed, from_text, "{}", path.display());
    }
    // Malformed JSON is placed where reading the text places it.
    for malformed in [
        "{\n  \"planned_values\": x}",
        "{\n  \"planned_values\": [\n",
        "\u{feff}{,",
    ] {
        let streamed = read_plan_from(malformed.as_bytes(), None).unwrap_err();
        assert_eq!(
            streamed,
            read_plan(malformed, None).unwrap_err(),
            "{malformed:?}"
        );
    }
    let e = read_plan_from(r#"{"format_version": "2.0"}"#.as_bytes(), None).unwrap_err();
    assert!(e.message.contains("format_version 2.0"), "{e}");
}
