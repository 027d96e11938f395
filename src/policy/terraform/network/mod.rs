//! Maps the plan's network and ECS resources into a [`NetworkSnapshot`]: one
//! function per resource family, in the order the graph needs them (VPCs
//! before the subnets and tables that name them, security groups before the
//! rules that add to them).
//!
//! This file holds the order ([`build`]), the [`Mapper`] they share, and the
//! region and account; each resource family has its own file: `vpcs`
//! (VPCs, DHCP options, subnets), `routes` (route tables, NAT gateways),
//! `endpoints` (VPC endpoints), `security_groups` (prefix lists, security
//! groups), `network_acls` and `ecs` (task definitions, services).

mod ecs;
mod endpoints;
mod network_acls;
mod routes;
mod security_groups;
mod vpcs;

use std::collections::BTreeSet;

use serde_json::Value;

use super::Notes;
use super::index::{Got, Index, Instance, Step};
use crate::network::snapshot::{NetworkSnapshot, SNAPSHOT_VERSION, SecurityGroupRule};

const VPCS: &[&str] = &["aws_vpc", "aws_default_vpc", "data.aws_vpc"];
const SUBNETS: &[&str] = &["aws_subnet", "aws_default_subnet", "data.aws_subnet"];
const ROUTE_TABLES: &[&str] = &[
    "aws_route_table",
    "aws_default_route_table",
    "data.aws_route_table",
    "aws_vpc",
    "aws_default_vpc",
    "data.aws_vpc",
];
const SECURITY_GROUPS: &[&str] = &[
    "aws_security_group",
    "aws_default_security_group",
    "data.aws_security_group",
    "aws_vpc",
    "aws_default_vpc",
    "data.aws_vpc",
];
const PREFIX_LISTS: &[&str] = &[
    "data.aws_prefix_list",
    "data.aws_ec2_managed_prefix_list",
    "aws_ec2_managed_prefix_list",
    "aws_vpc_endpoint",
];
const NETWORK_ACLS: &[&str] = &[
    "aws_network_acl",
    "aws_default_network_acl",
    "aws_vpc",
    "aws_default_vpc",
];
const ENDPOINTS: &[&str] = &["aws_vpc_endpoint", "data.aws_vpc_endpoint"];

/// The snapshot of everything network- and ECS-related in the plan.
pub(crate) fn build(ix: &Index, notes: &mut Notes) -> NetworkSnapshot {
    let mut m = Mapper {
        ix,
        notes,
        s: NetworkSnapshot {
            version: SNAPSHOT_VERSION,
            ..NetworkSnapshot::default()
        },
        undetermined_groups: BTreeSet::new(),
        pending_default_rules: Vec::new(),
    };
    m.region();
    m.account();
    m.vpcs();
    m.dhcp_options();
    m.subnets();
    m.route_tables();
    m.routes();
    m.route_table_associations();
    m.main_route_tables();
    m.nat_gateways();
    m.vpc_endpoints();
    m.endpoint_associations();
    m.gateway_endpoint_routes();
    m.prefix_lists();
    m.security_groups();
    m.security_group_rules();
    m.default_security_groups();
    m.drop_undetermined_groups();
    m.check_prefix_list_references();
    m.network_acls();
    m.task_definitions();
    m.workloads();
    m.pull_through_cache();
    m.s
}

/// What the resource families share while they fill the snapshot: the plan's
/// index, the notes (ids, locations, what is undetermined) and the snapshot.
struct Mapper<'a, 'p> {
    ix: &'a Index<'p>,
    notes: &'a mut Notes,
    s: NetworkSnapshot,
    /// Security groups with a rule that cannot be determined: left out, so the
    /// rules skip them instead of judging an incomplete rule set.
    undetermined_groups: BTreeSet<String>,
    /// Rules for the default security group of a VPC this plan creates, added
    /// once that group exists.
    pending_default_rules: Vec<(String, bool, Vec<SecurityGroupRule>)>,
}

impl<'a, 'p> Mapper<'a, 'p> {
    /// The value, or `None` after noting why it is undetermined.
    fn take<T>(&mut self, inst: &Instance, attribute: &str, got: Got<T>) -> Option<T> {
        match got {
            Got::Value(v) => Some(v),
            Got::Absent => None,
            Got::Unknown(why) => {
                self.notes.undetermined(&inst.address, attribute, why);
                None
            }
        }
    }

    fn note(&mut self, inst: &Instance, attribute: &str, why: impl Into<String>) {
        self.notes.undetermined(&inst.address, attribute, why);
    }

    fn instances(&self, kinds: &[&str]) -> Vec<&'a Instance<'p>> {
        let ix = self.ix;
        ix.instances
            .iter()
            .filter(|i| kinds.contains(&i.kind().as_str()))
            .collect()
    }

    /// The id an instance has in the snapshot, recorded for locations.
    fn id_of(&mut self, inst: &Instance) -> String {
        let id = inst.snapshot_id();
        self.notes.id(&id, &inst.address);
        self.notes.id(&inst.address, &inst.address);
        id
    }

    fn region(&mut self) {
        let ix = self.ix;
        let configured = ix
            .plan
            .configuration
            .as_ref()
            .and_then(|c| c.provider_config.get("aws"))
            .and_then(|p| p.expressions.get("region"));
        let from_config = configured.and_then(|e| {
            e.get("constant_value")
                .and_then(Value::as_str)
                .map(str::to_string)
                .or_else(|| {
                    super::references::references_of(e)
                        .iter()
                        .find_map(|r| r.strip_prefix("var."))
                        .and_then(|v| ix.variable(v))
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
        });
        let derived = || {
            ix.instances.iter().find_map(|i| {
                if let Some(rest) = i
                    .known_str("service_name")
                    .and_then(|s| s.strip_prefix("com.amazonaws."))
                {
                    return rest.split('.').next().map(str::to_string);
                }
                if let Some(arn) = i.known_str("arn") {
                    let region = arn.split(':').nth(3).unwrap_or_default();
                    if !region.is_empty() {
                        return Some(region.to_string());
                    }
                }
                i.known_str("availability_zone")
                    .map(|az| {
                        az.trim_end_matches(|c: char| c.is_ascii_lowercase())
                            .to_string()
                    })
                    .filter(|r| !r.is_empty())
            })
        };
        match from_config.or_else(derived) {
            Some(region) => self.s.region = region,
            None => self.notes.undetermined(
                "provider.aws",
                "region",
                "neither the provider configuration nor any ARN, endpoint service name or Availability Zone in the plan names the region",
            ),
        }
    }

    fn account(&mut self) {
        let ix = self.ix;
        let from_identity = ix
            .instances
            .iter()
            .filter(|i| i.kind() == "data.aws_caller_identity")
            .find_map(|i| i.known_str("account_id").map(str::to_string));
        let from_arns = || {
            ix.instances.iter().find_map(|i| {
                ["arn", "owner_id", "execution_role_arn"]
                    .iter()
                    .filter_map(|a| i.known_str(a))
                    .find_map(|v| {
                        let candidate = if v.starts_with("arn:") {
                            v.split(':').nth(4).unwrap_or_default()
                        } else {
                            v
                        };
                        (candidate.len() == 12 && candidate.bytes().all(|b| b.is_ascii_digit()))
                            .then(|| candidate.to_string())
                    })
            })
        };
        self.s.account = from_identity.or_else(from_arns);
    }
}

impl<T> Got<T> {
    /// The value, if there is one.
    pub(crate) fn value(self) -> Option<T> {
        match self {
            Got::Value(v) => Some(v),
            _ => None,
        }
    }

    /// The value mapped.
    pub(crate) fn map<U>(self, f: impl FnOnce(T) -> U) -> Got<U> {
        match self {
            Got::Value(v) => Got::Value(f(v)),
            Got::Absent => Got::Absent,
            Got::Unknown(why) => Got::Unknown(why),
        }
    }
}

/// `route[0].` for an attribute path under `base`.
fn prefix_text(base: &[Step]) -> String {
    let mut out = String::new();
    for step in base {
        match step {
            Step::Key(k) => out.push_str(k),
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    if !out.is_empty() {
        out.push('.');
    }
    out
}

/// `base` followed by the attribute `name`.
fn join<'s>(base: &[Step<'s>], name: &'s str) -> Vec<Step<'s>> {
    let mut path = base.to_vec();
    path.push(Step::Key(name));
    path
}
