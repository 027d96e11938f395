//! A realistic, healthy isolated-subnet setup for the rule tests. Each test
//! breaks it in one way and looks for the one finding that explains it.
//!
//! VPC `vpc-1` (10.0.0.0/16, DNS on, Amazon-provided DNS) with private subnets
//! `subnet-a` (us-east-1a) and `subnet-b` (us-east-1b) on route table
//! `rtb-private` (local route and the S3 Gateway endpoint's prefix-list route
//! only), a public subnet `subnet-public` with a NAT gateway for other tests,
//! the task security group `sg-task` (egress 443 to `sg-endpoint` and to the
//! S3 prefix list), the endpoint security group `sg-endpoint` (ingress 443
//! from `sg-task`), the endpoints `ecr.api`, `ecr.dkr`, `logs` (Interface, in
//! both subnets) and `s3` (Gateway, on `rtb-private`), the default network ACL,
//! and service `web` on Fargate 1.4.0 whose container `app` pulls from ECR in
//! us-east-1 and logs with awslogs.

use std::collections::BTreeMap;

use crate::network::snapshot::{
    Container, Gap, NatGateway, NetworkAcl, NetworkAclEntry, NetworkSnapshot, PrefixList,
    RoleSimulation, Route, RouteTable, RouteTarget, SecurityGroup, SecurityGroupRule, Subnet,
    TaskDefinition, Vpc, VpcEndpoint, Workload, WorkloadKind,
};
use crate::report::Finding;

pub const REGION: &str = "us-east-1";
pub const ACCOUNT: &str = "123456789012";
pub const TASK_DEFINITION: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:7";
pub const EXECUTION_ROLE: &str = "arn:aws:iam::123456789012:role/web-execution";
pub const IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:1.2.3";
pub const S3_PREFIX_LIST: &str = "pl-63a5400a";

/// The healthy snapshot: `check_all` finds nothing in it.
pub fn snapshot() -> NetworkSnapshot {
    let mut s = NetworkSnapshot {
        version: crate::network::snapshot::SNAPSHOT_VERSION,
        region: REGION.into(),
        account: Some(ACCOUNT.into()),
        ..NetworkSnapshot::default()
    };
    s.workloads.push(workload("web"));
    s.task_definitions
        .insert(TASK_DEFINITION.into(), task_definition());
    s.vpcs.insert(
        "vpc-1".into(),
        Vpc {
            id: "vpc-1".into(),
            cidr_blocks: vec!["10.0.0.0/16".into()],
            enable_dns_support: Some(true),
            enable_dns_hostnames: Some(true),
            dhcp_options_id: Some("dopt-1".into()),
            domain_name_servers: vec!["AmazonProvidedDNS".into()],
        },
    );
    for (id, zone, cidr) in [
        ("subnet-a", "us-east-1a", "10.0.1.0/24"),
        ("subnet-b", "us-east-1b", "10.0.2.0/24"),
        ("subnet-public", "us-east-1a", "10.0.100.0/24"),
    ] {
        s.subnets.insert(
            id.into(),
            Subnet {
                id: id.into(),
                vpc_id: "vpc-1".into(),
                availability_zone: zone.into(),
                cidr_block: Some(cidr.into()),
                ..Default::default()
            },
        );
    }
    s.route_tables.insert(
        "rtb-main".into(),
        RouteTable {
            id: "rtb-main".into(),
            vpc_id: "vpc-1".into(),
            main: true,
            subnet_ids: vec![],
            routes: vec![local_route()],
        },
    );
    s.route_tables.insert(
        "rtb-private".into(),
        RouteTable {
            id: "rtb-private".into(),
            vpc_id: "vpc-1".into(),
            main: false,
            subnet_ids: vec!["subnet-a".into(), "subnet-b".into()],
            routes: vec![
                local_route(),
                Route {
                    destination_cidr: None,
                    destination_ipv6_cidr: None,
                    destination_prefix_list: Some(S3_PREFIX_LIST.into()),
                    target: RouteTarget::VpcEndpoint("vpce-s3".into()),
                    state: Some("active".into()),
                },
            ],
        },
    );
    s.route_tables.insert(
        "rtb-public".into(),
        RouteTable {
            id: "rtb-public".into(),
            vpc_id: "vpc-1".into(),
            main: false,
            subnet_ids: vec!["subnet-public".into()],
            routes: vec![
                local_route(),
                default_route(RouteTarget::InternetGateway("igw-1".into())),
            ],
        },
    );
    s.nat_gateways.insert(
        "nat-1".into(),
        NatGateway {
            id: "nat-1".into(),
            subnet_id: "subnet-public".into(),
            state: "available".into(),
            connectivity: Some("public".into()),
        },
    );
    for short in ["ecr.api", "ecr.dkr", "logs"] {
        let e = interface_endpoint(short);
        s.vpc_endpoints.insert(e.id.clone(), e);
    }
    s.vpc_endpoints.insert(
        "vpce-s3".into(),
        VpcEndpoint {
            id: "vpce-s3".into(),
            vpc_id: "vpc-1".into(),
            service_name: format!("com.amazonaws.{REGION}.s3"),
            endpoint_type: "Gateway".into(),
            state: "available".into(),
            private_dns_enabled: false,
            route_table_ids: vec!["rtb-private".into()],
            ..VpcEndpoint::default()
        },
    );
    s.security_groups.insert(
        "sg-task".into(),
        SecurityGroup {
            id: "sg-task".into(),
            vpc_id: "vpc-1".into(),
            name: "web-task".into(),
            ingress: vec![],
            egress: vec![
                SecurityGroupRule {
                    referenced_group_id: Some("sg-endpoint".into()),
                    ..tcp_443()
                },
                SecurityGroupRule {
                    prefix_list_id: Some(S3_PREFIX_LIST.into()),
                    ..tcp_443()
                },
            ],
        },
    );
    s.security_groups.insert(
        "sg-endpoint".into(),
        SecurityGroup {
            id: "sg-endpoint".into(),
            vpc_id: "vpc-1".into(),
            name: "vpc-endpoints".into(),
            ingress: vec![SecurityGroupRule {
                referenced_group_id: Some("sg-task".into()),
                ..tcp_443()
            }],
            egress: vec![],
        },
    );
    s.prefix_lists.insert(
        S3_PREFIX_LIST.into(),
        PrefixList {
            id: S3_PREFIX_LIST.into(),
            name: format!("com.amazonaws.{REGION}.s3"),
            entries: vec![
                "3.5.0.0/19".into(),
                "16.182.0.0/16".into(),
                "52.216.0.0/15".into(),
                "54.231.0.0/16".into(),
            ],
        },
    );
    s.network_acls.insert(
        "acl-default".into(),
        NetworkAcl {
            id: "acl-default".into(),
            vpc_id: "vpc-1".into(),
            subnet_ids: vec!["subnet-a".into(), "subnet-b".into(), "subnet-public".into()],
            entries: vec![
                acl_entry(100, false, "-1", true, "0.0.0.0/0", None),
                acl_entry(32767, false, "-1", false, "0.0.0.0/0", None),
                acl_entry(100, true, "-1", true, "0.0.0.0/0", None),
                acl_entry(32767, true, "-1", false, "0.0.0.0/0", None),
            ],
        },
    );
    let decisions: BTreeMap<String, String> = [
        "ecr:GetAuthorizationToken",
        "ecr:BatchCheckLayerAvailability",
        "ecr:GetDownloadUrlForLayer",
        "ecr:BatchGetImage",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    ]
    .into_iter()
    .map(|a| (a.to_string(), "allowed".to_string()))
    .collect();
    s.execution_roles.insert(
        EXECUTION_ROLE.into(),
        RoleSimulation {
            decisions,
            skipped: None,
        },
    );
    s
}

/// Service `name` in cluster `prod`, on the fixture's subnets and task definition.
pub fn workload(name: &str) -> Workload {
    Workload {
        name: name.into(),
        cluster: "arn:aws:ecs:us-east-1:123456789012:cluster/prod".into(),
        kind: WorkloadKind::Service,
        launch_type: Some("FARGATE".into()),
        capacity_providers: vec![],
        platform_version: Some("1.4.0".into()),
        subnets: vec!["subnet-a".into(), "subnet-b".into()],
        security_groups: vec!["sg-task".into()],
        assign_public_ip: false,
        enable_execute_command: false,
        task_definition: TASK_DEFINITION.into(),
    }
}

/// `web:7`: container `app` from ECR in us-east-1, logging with awslogs.
pub fn task_definition() -> TaskDefinition {
    TaskDefinition {
        arn: TASK_DEFINITION.into(),
        family: "web".into(),
        revision: 7,
        execution_role_arn: Some(EXECUTION_ROLE.into()),
        operating_system: Some("LINUX".into()),
        containers: vec![Container {
            name: "app".into(),
            image: IMAGE.into(),
            log_driver: Some("awslogs".into()),
            log_options: [
                ("awslogs-group".to_string(), "/ecs/web".to_string()),
                ("awslogs-region".to_string(), REGION.to_string()),
                ("awslogs-stream-prefix".to_string(), "web".to_string()),
            ]
            .into_iter()
            .collect(),
            ..Container::default()
        }],
        efs_file_systems: vec![],
    }
}

/// A healthy Interface endpoint `vpce-<short>` in both private subnets.
pub fn interface_endpoint(short: &str) -> VpcEndpoint {
    VpcEndpoint {
        id: format!("vpce-{}", short.replace('.', "-")),
        vpc_id: "vpc-1".into(),
        service_name: format!("com.amazonaws.{REGION}.{short}"),
        endpoint_type: "Interface".into(),
        state: "available".into(),
        private_dns_enabled: true,
        subnet_ids: vec!["subnet-a".into(), "subnet-b".into()],
        security_group_ids: vec!["sg-endpoint".into()],
        route_table_ids: vec![],
        policy_document: None,
    }
}

/// Adds a healthy Interface endpoint.
pub fn add_interface_endpoint(s: &mut NetworkSnapshot, short: &str) {
    let e = interface_endpoint(short);
    s.vpc_endpoints.insert(e.id.clone(), e);
}

/// The fixture's task definition, for changes.
pub fn task(s: &mut NetworkSnapshot) -> &mut TaskDefinition {
    s.task_definitions
        .get_mut(TASK_DEFINITION)
        .expect("fixture task definition")
}

/// An endpoint of the fixture, for changes (`vpce-ecr-api`, `vpce-s3`, …).
pub fn endpoint<'a>(s: &'a mut NetworkSnapshot, id: &str) -> &'a mut VpcEndpoint {
    s.vpc_endpoints.get_mut(id).expect("fixture endpoint")
}

/// A security group of the fixture, for changes.
pub fn group<'a>(s: &'a mut NetworkSnapshot, id: &str) -> &'a mut SecurityGroup {
    s.security_groups
        .get_mut(id)
        .expect("fixture security group")
}

/// A route table of the fixture, for changes.
pub fn route_table<'a>(s: &'a mut NetworkSnapshot, id: &str) -> &'a mut RouteTable {
    s.route_tables.get_mut(id).expect("fixture route table")
}

/// The `local` route of 10.0.0.0/16.
pub fn local_route() -> Route {
    Route {
        destination_cidr: Some("10.0.0.0/16".into()),
        destination_ipv6_cidr: None,
        destination_prefix_list: None,
        target: RouteTarget::Local,
        state: Some("active".into()),
    }
}

/// An active 0.0.0.0/0 route.
pub fn default_route(target: RouteTarget) -> Route {
    Route {
        destination_cidr: Some("0.0.0.0/0".into()),
        destination_ipv6_cidr: None,
        destination_prefix_list: None,
        target,
        state: Some("active".into()),
    }
}

/// A TCP 443 rule without a peer; add one with struct update syntax.
pub fn tcp_443() -> SecurityGroupRule {
    SecurityGroupRule {
        protocol: "tcp".into(),
        from_port: Some(443),
        to_port: Some(443),
        ..SecurityGroupRule::default()
    }
}

/// A network ACL entry.
pub fn acl_entry(
    rule_number: i32,
    egress: bool,
    protocol: &str,
    allow: bool,
    cidr: &str,
    ports: Option<(i32, i32)>,
) -> NetworkAclEntry {
    NetworkAclEntry {
        rule_number,
        egress,
        protocol: protocol.into(),
        allow,
        cidr_block: Some(cidr.into()),
        port_from: ports.map(|p| p.0),
        port_to: ports.map(|p| p.1),
    }
}

/// A gap, as discovery records it.
pub fn gap(what: &str, call: &str, permission: &str) -> Gap {
    Gap {
        what: what.into(),
        call: call.into(),
        permission: permission.into(),
        error: format!("AccessDenied: not authorized to perform: {permission}"),
        truncated: false,
    }
}

/// The findings of one rule.
pub fn of<'a>(findings: &'a [Finding], rule: &crate::rules::Rule) -> Vec<&'a Finding> {
    findings.iter().filter(|f| f.rule == rule.id).collect()
}

/// Asserts that every finding names its resources, explains itself and carries a fix.
pub fn assert_well_formed(findings: &[Finding]) {
    for f in findings {
        assert!(!f.title.is_empty(), "{f:#?}");
        assert!(f.message.len() > 40, "message too short: {f:#?}");
        assert!(f.docs.starts_with("https://"), "{f:#?}");
        assert!(
            crate::catalog::by_id(&f.rule).is_some(),
            "{} is not in catalog::all()",
            f.rule
        );
        let fix = f.fix.as_ref().unwrap_or_else(|| panic!("no fix: {f:#?}"));
        assert!(!fix.description.is_empty(), "{f:#?}");
    }
}
