//! Everything the network checks know about the world, in one serializable,
//! versioned document. Discovery fills it (`gather.rs`, or a Terraform plan
//! later); the rules read only it, so `check --snapshot FILE` re-checks
//! offline with identical findings.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// Version of the snapshot format. Bumped on any incompatible change.
/// Version 2 added the subnets' IPv6 facts ([`Subnet::ipv6_native`] and the rest).
pub const SNAPSHOT_VERSION: u32 = 2;

/// The oldest version [`NetworkSnapshot::upgrade`] reads.
pub const OLDEST_SNAPSHOT_VERSION: u32 = 1;

/// The network facts of one region.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NetworkSnapshot {
    /// [`SNAPSHOT_VERSION`] when written.
    pub version: u32,
    /// The region everything was read in.
    pub region: String,
    /// The account, when known.
    #[serde(default)]
    pub account: Option<String>,
    /// The services (or planned tasks) to check.
    pub workloads: Vec<Workload>,
    /// Task definitions, by ARN.
    #[serde(default)]
    pub task_definitions: BTreeMap<String, TaskDefinition>,
    /// VPCs, by id.
    #[serde(default)]
    pub vpcs: BTreeMap<String, Vpc>,
    /// Subnets, by id.
    #[serde(default)]
    pub subnets: BTreeMap<String, Subnet>,
    /// Route tables, by id.
    #[serde(default)]
    pub route_tables: BTreeMap<String, RouteTable>,
    /// NAT gateways, by id.
    #[serde(default)]
    pub nat_gateways: BTreeMap<String, NatGateway>,
    /// VPC endpoints of the task VPCs, by id.
    #[serde(default)]
    pub vpc_endpoints: BTreeMap<String, VpcEndpoint>,
    /// Security groups of the tasks and the endpoints, by id.
    #[serde(default)]
    pub security_groups: BTreeMap<String, SecurityGroup>,
    /// Managed prefix lists referenced by rules and routes, by id (the S3 one always).
    #[serde(default)]
    pub prefix_lists: BTreeMap<String, PrefixList>,
    /// Network ACLs of the task and endpoint subnets, by id.
    #[serde(default)]
    pub network_acls: BTreeMap<String, NetworkAcl>,
    /// Execution-role simulations (`iam:SimulatePrincipalPolicy`), by role ARN.
    #[serde(default)]
    pub execution_roles: BTreeMap<String, RoleSimulation>,
    /// `ecrRepositoryPrefix` of the registry's pull-through cache rules.
    #[serde(default)]
    pub pull_through_cache_prefixes: Vec<String>,
    /// What could not be read, and why.
    #[serde(default)]
    pub gaps: Vec<Gap>,
}

/// How a workload is launched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WorkloadKind {
    /// An existing ECS service.
    Service,
    /// A task that does not run yet: `--task-definition` with `--subnets`.
    Planned,
}

/// An ECS service, or a planned task, with its network configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Workload {
    /// Service name, or `family:revision` for a planned task.
    pub name: String,
    /// Cluster name or ARN.
    pub cluster: String,
    /// Service or planned task.
    pub kind: WorkloadKind,
    /// `FARGATE`, `EC2`, `EXTERNAL`, or absent with a capacity provider strategy.
    pub launch_type: Option<String>,
    /// Capacity providers, when used instead of a launch type.
    #[serde(default)]
    pub capacity_providers: Vec<String>,
    /// `LATEST`, `1.4.0`, `1.3.0`, …
    pub platform_version: Option<String>,
    /// `awsvpcConfiguration.subnets`.
    pub subnets: Vec<String>,
    /// `awsvpcConfiguration.securityGroups`.
    pub security_groups: Vec<String>,
    /// `awsvpcConfiguration.assignPublicIp == ENABLED`.
    pub assign_public_ip: bool,
    /// `enableExecuteCommand`.
    #[serde(default)]
    pub enable_execute_command: bool,
    /// Task definition ARN (key of [`NetworkSnapshot::task_definitions`]).
    pub task_definition: String,
}

impl Workload {
    /// Whether the tasks run on Fargate (launch type or a FARGATE* capacity provider).
    pub fn is_fargate(&self) -> bool {
        self.launch_type.as_deref() == Some("FARGATE")
            || (self.launch_type.is_none()
                && self
                    .capacity_providers
                    .iter()
                    .any(|c| c.starts_with("FARGATE")))
    }

    /// Platform version 1.3.0 or older, where auth and secrets use a Fargate-owned interface.
    pub fn is_legacy_platform(&self) -> bool {
        matches!(self.platform_version.as_deref(), Some(v) if v.starts_with("1.0") || v.starts_with("1.1") || v.starts_with("1.2") || v.starts_with("1.3"))
    }
}

/// What the network checks need from a task definition.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskDefinition {
    /// ARN.
    pub arn: String,
    /// Family.
    pub family: String,
    /// Revision.
    pub revision: i32,
    /// `executionRoleArn`.
    pub execution_role_arn: Option<String>,
    /// `runtimePlatform.operatingSystemFamily` (`LINUX`, `WINDOWS_SERVER_2022_CORE`, …).
    pub operating_system: Option<String>,
    /// Containers.
    pub containers: Vec<Container>,
    /// EFS file system ids of `efsVolumeConfiguration` volumes.
    #[serde(default)]
    pub efs_file_systems: Vec<String>,
}

/// One container definition.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Container {
    /// Name.
    pub name: String,
    /// Image reference.
    pub image: String,
    /// `secrets[].valueFrom`.
    #[serde(default)]
    pub secrets: Vec<String>,
    /// `repositoryCredentials.credentialsParameter`.
    #[serde(default)]
    pub repository_credentials: Option<String>,
    /// `logConfiguration.logDriver`.
    #[serde(default)]
    pub log_driver: Option<String>,
    /// `logConfiguration.options`.
    #[serde(default)]
    pub log_options: BTreeMap<String, String>,
    /// Whether this is the FireLens log router (`firelensConfiguration`).
    #[serde(default)]
    pub firelens: bool,
    /// `environmentFiles[].value` (S3 ARNs).
    #[serde(default)]
    pub environment_files: Vec<String>,
}

/// A VPC and its DNS settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Vpc {
    /// Id.
    pub id: String,
    /// IPv4 CIDR blocks.
    pub cidr_blocks: Vec<String>,
    /// `enableDnsSupport`, when read.
    pub enable_dns_support: Option<bool>,
    /// `enableDnsHostnames`, when read.
    pub enable_dns_hostnames: Option<bool>,
    /// DHCP options set id.
    pub dhcp_options_id: Option<String>,
    /// `domain-name-servers` of the DHCP options (empty when unknown).
    #[serde(default)]
    pub domain_name_servers: Vec<String>,
}

/// A subnet.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Subnet {
    /// Id.
    pub id: String,
    /// VPC id.
    pub vpc_id: String,
    /// Availability Zone name.
    pub availability_zone: String,
    /// IPv4 CIDR.
    pub cidr_block: Option<String>,
    /// `Ipv6Native`: an IPv6-only subnet (no IPv4 addresses). `None` when not
    /// read (a version 1 snapshot).
    #[serde(default)]
    pub ipv6_native: Option<bool>,
    /// Associated IPv6 CIDR blocks.
    #[serde(default)]
    pub ipv6_cidr_blocks: Vec<String>,
    /// `AssignIpv6AddressOnCreation`.
    #[serde(default)]
    pub assign_ipv6_address_on_creation: Option<bool>,
    /// `EnableDns64`: the Route 53 Resolver answers IPv4-only names with
    /// `64:ff9b::/96` addresses (for NAT64).
    #[serde(default)]
    pub enable_dns64: Option<bool>,
}

impl Subnet {
    /// Whether the subnet is known to be IPv6-only.
    pub fn is_ipv6_only(&self) -> bool {
        self.ipv6_native == Some(true)
    }
}

/// Where a route sends traffic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "id", rename_all = "kebab-case")]
pub enum RouteTarget {
    /// Within the VPC.
    Local,
    /// `igw-…`.
    InternetGateway(String),
    /// `nat-…`.
    NatGateway(String),
    /// `vpce-…` (a Gateway endpoint's prefix-list route).
    VpcEndpoint(String),
    /// `tgw-…`.
    TransitGateway(String),
    /// `pcx-…`.
    VpcPeering(String),
    /// `vgw-…`.
    VirtualPrivateGateway(String),
    /// `eni-…` (an appliance or instance).
    NetworkInterface(String),
    /// `eigw-…` (IPv6 only).
    EgressOnlyInternetGateway(String),
    /// Anything else (carrier, local gateway, core network, instance).
    Other(String),
}

/// One route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// IPv4 destination.
    pub destination_cidr: Option<String>,
    /// IPv6 destination.
    #[serde(default)]
    pub destination_ipv6_cidr: Option<String>,
    /// Prefix-list destination (Gateway endpoints).
    #[serde(default)]
    pub destination_prefix_list: Option<String>,
    /// Where it goes.
    pub target: RouteTarget,
    /// `active` or `blackhole`.
    #[serde(default)]
    pub state: Option<String>,
}

/// A route table and what it is associated with.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RouteTable {
    /// Id.
    pub id: String,
    /// VPC id.
    pub vpc_id: String,
    /// The VPC's main route table (used by subnets without an explicit association).
    pub main: bool,
    /// Explicitly associated subnets.
    pub subnet_ids: Vec<String>,
    /// Routes.
    pub routes: Vec<Route>,
}

/// A NAT gateway.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NatGateway {
    /// Id.
    pub id: String,
    /// The subnet it lives in.
    pub subnet_id: String,
    /// `available`, `pending`, `failed`, `deleting`, `deleted`.
    pub state: String,
    /// `public` or `private`.
    pub connectivity: Option<String>,
}

/// A VPC endpoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VpcEndpoint {
    /// Id.
    pub id: String,
    /// VPC id.
    pub vpc_id: String,
    /// `com.amazonaws.<region>.<service>`.
    pub service_name: String,
    /// `Interface`, `Gateway` or `GatewayLoadBalancer`.
    pub endpoint_type: String,
    /// `available`, `pending`, `rejected`, …
    pub state: String,
    /// Private DNS (Interface endpoints).
    pub private_dns_enabled: bool,
    /// Subnets (Interface endpoints).
    #[serde(default)]
    pub subnet_ids: Vec<String>,
    /// Security groups (Interface endpoints).
    #[serde(default)]
    pub security_group_ids: Vec<String>,
    /// Route tables (Gateway endpoints).
    #[serde(default)]
    pub route_table_ids: Vec<String>,
    /// The endpoint policy document, as JSON text.
    #[serde(default)]
    pub policy_document: Option<String>,
}

/// One security group rule (from `DescribeSecurityGroupRules`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityGroupRule {
    /// `sgr-…`, when known.
    #[serde(default)]
    pub id: Option<String>,
    /// `-1` (all), `tcp`, `udp`, `icmp`, or a protocol number.
    pub protocol: String,
    /// First port (`-1` or absent for all).
    pub from_port: Option<i32>,
    /// Last port.
    pub to_port: Option<i32>,
    /// IPv4 CIDR peer.
    #[serde(default)]
    pub cidr_ipv4: Option<String>,
    /// IPv6 CIDR peer.
    #[serde(default)]
    pub cidr_ipv6: Option<String>,
    /// Prefix-list peer.
    #[serde(default)]
    pub prefix_list_id: Option<String>,
    /// Security-group peer.
    #[serde(default)]
    pub referenced_group_id: Option<String>,
}

impl SecurityGroupRule {
    /// Whether the rule covers TCP `port`.
    pub fn covers_tcp(&self, port: i32) -> bool {
        let proto = self.protocol.as_str();
        if proto == "-1" || proto == "all" {
            return true;
        }
        if proto != "tcp" && proto != "6" {
            return false;
        }
        match (self.from_port, self.to_port) {
            (Some(from), Some(to)) if from >= 0 && to >= 0 => from <= port && port <= to,
            _ => true,
        }
    }
}

/// A security group with its rules.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SecurityGroup {
    /// Id.
    pub id: String,
    /// VPC id.
    pub vpc_id: String,
    /// Name.
    pub name: String,
    /// Inbound rules.
    pub ingress: Vec<SecurityGroupRule>,
    /// Outbound rules.
    pub egress: Vec<SecurityGroupRule>,
}

/// A managed prefix list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PrefixList {
    /// `pl-…`.
    pub id: String,
    /// Name, such as `com.amazonaws.us-east-1.s3`.
    pub name: String,
    /// CIDRs.
    pub entries: Vec<String>,
}

/// One network ACL entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkAclEntry {
    /// Evaluated lowest first; 32767 is the default deny.
    pub rule_number: i32,
    /// Outbound (true) or inbound.
    pub egress: bool,
    /// `-1`, `6` (tcp), `17` (udp), …
    pub protocol: String,
    /// Allow (true) or deny.
    pub allow: bool,
    /// IPv4 CIDR.
    pub cidr_block: Option<String>,
    /// First port, for tcp/udp.
    pub port_from: Option<i32>,
    /// Last port.
    pub port_to: Option<i32>,
}

/// A network ACL.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NetworkAcl {
    /// Id.
    pub id: String,
    /// VPC id.
    pub vpc_id: String,
    /// Associated subnets.
    pub subnet_ids: Vec<String>,
    /// Entries.
    pub entries: Vec<NetworkAclEntry>,
}

/// `iam:SimulatePrincipalPolicy` for an execution role.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RoleSimulation {
    /// Action → `allowed`, `explicitDeny` or `implicitDeny`; empty when not simulated.
    pub decisions: BTreeMap<String, String>,
    /// Why it was not simulated, when it was not.
    pub skipped: Option<String>,
}

/// Something discovery could not read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gap {
    /// What could not be read, such as `security group rules of sg-123`.
    pub what: String,
    /// The API call.
    pub call: String,
    /// The IAM action that would allow it.
    pub permission: String,
    /// The error.
    pub error: String,
    /// Not an error: the listing was cut short (its next token repeated, or
    /// it went past the page limit); what it read is kept.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

impl NetworkSnapshot {
    /// Brings a snapshot of an older supported version up to
    /// [`SNAPSHOT_VERSION`]. Version 1 has no IPv6 subnet facts: they stay
    /// unknown (`None`, empty), which the rules read as "not IPv6-only", so a
    /// version 1 snapshot gives the findings it gave before. Returns the
    /// version read, or it when this build cannot read it.
    pub fn upgrade(&mut self) -> Result<u32, u32> {
        let read = self.version;
        match read {
            SNAPSHOT_VERSION => Ok(read),
            1 => {
                self.version = SNAPSHOT_VERSION;
                Ok(read)
            }
            other => Err(other),
        }
    }

    /// The route table a subnet uses: its explicit association, else its VPC's main table.
    pub fn route_table_of(&self, subnet_id: &str) -> Option<&RouteTable> {
        self.route_tables
            .values()
            .find(|rt| rt.subnet_ids.iter().any(|s| s == subnet_id))
            .or_else(|| {
                let vpc = &self.subnets.get(subnet_id)?.vpc_id;
                self.route_tables
                    .values()
                    .find(|rt| rt.main && &rt.vpc_id == vpc)
            })
    }

    /// The network ACL of a subnet.
    pub fn network_acl_of(&self, subnet_id: &str) -> Option<&NetworkAcl> {
        self.network_acls
            .values()
            .find(|n| n.subnet_ids.iter().any(|s| s == subnet_id))
    }

    /// The VPC of a workload (from its first known subnet).
    pub fn vpc_of(&self, workload: &Workload) -> Option<&Vpc> {
        workload
            .subnets
            .iter()
            .find_map(|s| self.subnets.get(s))
            .and_then(|s| self.vpcs.get(&s.vpc_id))
    }

    /// `com.amazonaws.<region>.<short>`.
    pub fn service_name(&self, short: &str) -> String {
        format!("com.amazonaws.{}.{}", self.region, short)
    }

    /// Endpoints of a VPC for a service short name (`ecr.api`, `s3`, …).
    pub fn endpoints_for<'a>(
        &'a self,
        vpc_id: &'a str,
        short: &str,
    ) -> impl Iterator<Item = &'a VpcEndpoint> + 'a {
        let name = self.service_name(short);
        self.vpc_endpoints
            .values()
            .filter(move |e| e.vpc_id == vpc_id && e.service_name == name)
    }

    /// The S3 prefix list of the region (`com.amazonaws.<region>.s3`).
    pub fn s3_prefix_list(&self) -> Option<&PrefixList> {
        let name = self.service_name("s3");
        self.prefix_lists.values().find(|p| p.name == name)
    }

    /// The task definition of a workload.
    pub fn task_definition_of(&self, workload: &Workload) -> Option<&TaskDefinition> {
        self.task_definitions.get(&workload.task_definition)
    }
}

/// Whether `cidr` contains every address of `inner` (both IPv4 or both IPv6).
pub fn cidr_contains(cidr: &str, inner: &str) -> bool {
    match (cidr.parse::<IpNet>(), inner.parse::<IpNet>()) {
        (Ok(outer), Ok(inner)) => outer.contains(&inner),
        _ => match (cidr.parse::<IpNet>(), inner.parse::<IpAddr>()) {
            (Ok(outer), Ok(ip)) => outer.contains(&ip),
            _ => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_1_is_upgraded_and_unknown_versions_are_refused() {
        let v1 = r#"{"version": 1, "region": "us-east-1", "workloads": [],
            "subnets": {"subnet-a": {"id": "subnet-a", "vpc_id": "vpc-1",
            "availability_zone": "us-east-1a", "cidr_block": "10.0.1.0/24"}}}"#;
        let mut s: NetworkSnapshot = serde_json::from_str(v1).unwrap();
        assert_eq!(s.upgrade(), Ok(1));
        assert_eq!(s.version, SNAPSHOT_VERSION);
        let subnet = &s.subnets["subnet-a"];
        assert_eq!(subnet.ipv6_native, None);
        assert!(!subnet.is_ipv6_only());
        assert!(subnet.ipv6_cidr_blocks.is_empty());
        s.version = 99;
        assert_eq!(s.upgrade(), Err(99));
        s.version = 0;
        assert_eq!(s.upgrade(), Err(0));
    }

    #[test]
    fn cidr_containment() {
        assert!(cidr_contains("0.0.0.0/0", "52.216.0.0/15"));
        assert!(cidr_contains("10.0.0.0/16", "10.0.1.0/24"));
        assert!(!cidr_contains("10.0.1.0/24", "10.0.0.0/16"));
        assert!(cidr_contains("10.0.0.0/16", "10.0.3.7"));
        assert!(!cidr_contains("garbage", "10.0.0.0/16"));
    }

    #[test]
    fn port_coverage() {
        let rule = |protocol: &str, from, to| SecurityGroupRule {
            protocol: protocol.into(),
            from_port: from,
            to_port: to,
            ..SecurityGroupRule::default()
        };
        assert!(rule("-1", None, None).covers_tcp(443));
        assert!(rule("tcp", Some(443), Some(443)).covers_tcp(443));
        assert!(rule("tcp", Some(0), Some(65535)).covers_tcp(443));
        assert!(!rule("tcp", Some(80), Some(80)).covers_tcp(443));
        assert!(!rule("udp", Some(443), Some(443)).covers_tcp(443));
    }

    #[test]
    fn main_route_table_when_no_explicit_association() {
        let mut s = NetworkSnapshot::default();
        s.subnets.insert(
            "subnet-a".into(),
            Subnet {
                id: "subnet-a".into(),
                vpc_id: "vpc-1".into(),
                ..Subnet::default()
            },
        );
        s.route_tables.insert(
            "rtb-main".into(),
            RouteTable {
                id: "rtb-main".into(),
                vpc_id: "vpc-1".into(),
                main: true,
                ..RouteTable::default()
            },
        );
        assert_eq!(s.route_table_of("subnet-a").unwrap().id, "rtb-main");
        s.route_tables.insert(
            "rtb-x".into(),
            RouteTable {
                id: "rtb-x".into(),
                vpc_id: "vpc-1".into(),
                subnet_ids: vec!["subnet-a".into()],
                ..RouteTable::default()
            },
        );
        assert_eq!(s.route_table_of("subnet-a").unwrap().id, "rtb-x");
    }
}
