//! Maps the plan's network and ECS resources into a [`NetworkSnapshot`]: one
//! function per resource family, in the order the graph needs them (VPCs
//! before the subnets and tables that name them, security groups before the
//! rules that add to them).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::Notes;
use super::index::{Field, Got, Index, Instance, Step, key, vpc_default};
use crate::network::snapshot::{
    Container, NatGateway, NetworkAcl, NetworkAclEntry, NetworkSnapshot, PrefixList, Route,
    RouteTable, RouteTarget, SNAPSHOT_VERSION, SecurityGroup, SecurityGroupRule, Subnet,
    TaskDefinition, Vpc, VpcEndpoint, Workload, WorkloadKind,
};

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

    // ----- region and account -----

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
                    super::index::references_of(e)
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

    // ----- VPCs, DHCP options, subnets -----

    fn vpcs(&mut self) {
        for inst in self.instances(VPCS) {
            let id = self.id_of(inst);
            let ix = self.ix;
            let cidr = self.take(inst, "cidr_block", ix.string(inst, &key("cidr_block")));
            let managed = !inst.data;
            let default_vpc = inst.resource_type == "aws_default_vpc";
            let enable_dns_support = match ix.boolean(inst, &key("enable_dns_support")) {
                Got::Absent if managed => Some(true),
                got => self.take(inst, "enable_dns_support", got),
            };
            let enable_dns_hostnames = match ix.boolean(inst, &key("enable_dns_hostnames")) {
                Got::Absent if managed => Some(default_vpc),
                got => self.take(inst, "enable_dns_hostnames", got),
            };
            let dhcp_options_id = match ix.string(inst, &key("dhcp_options_id")) {
                Got::Value(v) => Some(v),
                _ => None,
            };
            self.s.vpcs.insert(
                id.clone(),
                Vpc {
                    id,
                    cidr_blocks: cidr.into_iter().collect(),
                    enable_dns_support,
                    enable_dns_hostnames,
                    dhcp_options_id,
                    domain_name_servers: Vec::new(),
                },
            );
        }
    }

    fn dhcp_options(&mut self) {
        let ix = self.ix;
        for assoc in self.instances(&["aws_vpc_dhcp_options_association"]) {
            let vpc = self.take(assoc, "vpc_id", ix.reference(assoc, &key("vpc_id"), VPCS));
            let options = self.take(
                assoc,
                "dhcp_options_id",
                ix.reference(assoc, &key("dhcp_options_id"), &["aws_vpc_dhcp_options"]),
            );
            let (Some(vpc), Some(options)) = (vpc, options) else {
                continue;
            };
            let servers = match ix.by_snapshot_id(&options) {
                Some(o) => self
                    .take(
                        o,
                        "domain_name_servers",
                        ix.strings(o, &key("domain_name_servers")),
                    )
                    .unwrap_or_default(),
                None => Vec::new(),
            };
            if let Some(v) = self.s.vpcs.get_mut(&vpc) {
                v.dhcp_options_id = Some(options);
                v.domain_name_servers = servers;
            }
        }
    }

    fn subnets(&mut self) {
        let ix = self.ix;
        for inst in self.instances(SUBNETS) {
            let id = self.id_of(inst);
            let vpc_id = self
                .take(inst, "vpc_id", ix.reference(inst, &key("vpc_id"), VPCS))
                .unwrap_or_default();
            let availability_zone = self
                .take(
                    inst,
                    "availability_zone",
                    ix.string(inst, &key("availability_zone")),
                )
                .unwrap_or_default();
            let cidr_block = self.take(inst, "cidr_block", ix.string(inst, &key("cidr_block")));
            self.s.subnets.insert(
                id.clone(),
                Subnet {
                    id,
                    vpc_id,
                    availability_zone,
                    cidr_block,
                },
            );
        }
    }

    // ----- route tables -----

    fn route_tables(&mut self) {
        let ix = self.ix;
        for inst in self.instances(&[
            "aws_route_table",
            "aws_default_route_table",
            "data.aws_route_table",
        ]) {
            let default_table = inst.resource_type == "aws_default_route_table";
            let id = if default_table {
                match self.take(
                    inst,
                    "default_route_table_id",
                    ix.reference(inst, &key("default_route_table_id"), ROUTE_TABLES),
                ) {
                    Some(id) => id,
                    None => continue,
                }
            } else if inst.data {
                ix.string(inst, &key("route_table_id"))
                    .value()
                    .unwrap_or_else(|| inst.snapshot_id())
            } else {
                inst.snapshot_id()
            };
            self.notes.id(&id, &inst.address);
            self.notes.id(&inst.address, &inst.address);
            let vpc_id = match ix.reference(inst, &key("vpc_id"), VPCS) {
                Got::Value(v) => v,
                _ if default_table => self
                    .vpc_owning(&id, "main_route_table_id")
                    .unwrap_or_default(),
                got => self.take(inst, "vpc_id", got).unwrap_or_default(),
            };
            let attribute = if inst.data { "routes" } else { "route" };
            let mut routes = self.vpc_local_route(&vpc_id);
            routes.extend(self.inline_routes(inst, attribute));
            let mut table = RouteTable {
                id: id.clone(),
                vpc_id,
                main: default_table,
                subnet_ids: Vec::new(),
                routes,
            };
            if inst.data
                && let Field::Known(Value::Array(associations)) = inst.field(&key("associations"))
            {
                for a in associations {
                    if let Some(subnet) = a
                        .get("subnet_id")
                        .and_then(Value::as_str)
                        .filter(|s| !s.is_empty())
                    {
                        table.subnet_ids.push(subnet.to_string());
                    }
                    if a.get("main").and_then(Value::as_bool) == Some(true) {
                        table.main = true;
                    }
                }
            }
            self.s.route_tables.insert(id, table);
        }
    }

    /// The VPC whose default resource `attr` is `id`.
    fn vpc_owning(&self, id: &str, attr: &str) -> Option<String> {
        self.instances(VPCS)
            .into_iter()
            .find(|v| vpc_default(v, attr) == id)
            .map(|v| v.snapshot_id())
    }

    /// The `local` route AWS puts in every route table of a VPC.
    fn vpc_local_route(&self, vpc_id: &str) -> Vec<Route> {
        self.s
            .vpcs
            .get(vpc_id)
            .into_iter()
            .flat_map(|v| v.cidr_blocks.iter())
            .map(|cidr| Route {
                destination_cidr: Some(cidr.clone()),
                destination_ipv6_cidr: None,
                destination_prefix_list: None,
                target: RouteTarget::Local,
                state: Some("active".into()),
            })
            .collect()
    }

    /// The routes of a route table's `route` blocks (or a data source's `routes`).
    fn inline_routes(&mut self, inst: &Instance, attribute: &str) -> Vec<Route> {
        let count = match inst.field(&key(attribute)) {
            Field::Known(Value::Array(items)) => items.len(),
            Field::Known(_) | Field::Absent => return Vec::new(),
            Field::Unknown => {
                if self.ix.configured(inst, &key(attribute)) {
                    self.note(
                        inst,
                        attribute,
                        "the routes are known only after apply: the route table's egress is not checked",
                    );
                }
                return Vec::new();
            }
        };
        let mut routes = Vec::new();
        for n in 0..count {
            let base = [Step::Key(attribute), Step::Index(n)];
            if let Some(route) = self.route(
                inst,
                &base,
                "cidr_block",
                "ipv6_cidr_block",
                "destination_prefix_list_id",
            ) {
                routes.push(route);
            }
        }
        routes
    }

    /// One route at `base` (a `route` element, or `[]` for an `aws_route`).
    fn route(
        &mut self,
        inst: &Instance,
        base: &[Step],
        cidr: &str,
        ipv6: &str,
        prefix_list: &str,
    ) -> Option<Route> {
        let ix = self.ix;
        let at = |name| join(base, name);
        let attribute = |name: &str| format!("{}{name}", prefix_text(base));
        let destination_cidr = ix.string(inst, &at(cidr)).value();
        let destination_ipv6_cidr = ix.string(inst, &at(ipv6)).value();
        let destination_prefix_list = match ix.reference(inst, &at(prefix_list), PREFIX_LISTS) {
            Got::Value(v) => Some(v),
            Got::Absent => None,
            Got::Unknown(why) => {
                self.note(inst, &attribute(prefix_list), why);
                return None;
            }
        };
        if destination_cidr.is_none()
            && destination_ipv6_cidr.is_none()
            && destination_prefix_list.is_none()
        {
            if matches!(inst.field(&at(cidr)), Field::Unknown) {
                self.note(
                    inst,
                    &attribute(cidr),
                    "the route's destination is known only after apply",
                );
            }
            return None;
        }
        const TARGETS: &[(&str, &[&str])] = &[
            (
                "gateway_id",
                &[
                    "aws_internet_gateway",
                    "aws_vpn_gateway",
                    "aws_vpc_endpoint",
                    "data.aws_internet_gateway",
                ],
            ),
            (
                "nat_gateway_id",
                &["aws_nat_gateway", "data.aws_nat_gateway"],
            ),
            (
                "transit_gateway_id",
                &["aws_ec2_transit_gateway", "data.aws_ec2_transit_gateway"],
            ),
            (
                "vpc_peering_connection_id",
                &[
                    "aws_vpc_peering_connection",
                    "data.aws_vpc_peering_connection",
                ],
            ),
            (
                "vpc_endpoint_id",
                &["aws_vpc_endpoint", "data.aws_vpc_endpoint"],
            ),
            (
                "network_interface_id",
                &["aws_network_interface", "data.aws_network_interface"],
            ),
            (
                "egress_only_gateway_id",
                &["aws_egress_only_internet_gateway"],
            ),
            ("carrier_gateway_id", &[]),
            ("local_gateway_id", &[]),
            ("core_network_arn", &[]),
            ("instance_id", &["aws_instance"]),
        ];
        for (name, kinds) in TARGETS {
            let path = at(name);
            let configured = ix.configured(inst, &path);
            let got = match inst.field(&path) {
                // Computed by the provider (aws_route's instance_id, network_interface_id).
                Field::Unknown if !configured => continue,
                _ => ix.reference(inst, &path, kinds),
            };
            match got {
                Got::Absent => continue,
                Got::Value(id) => {
                    return Some(Route {
                        destination_cidr,
                        destination_ipv6_cidr,
                        destination_prefix_list,
                        target: self.route_target(name, &id),
                        state: Some("active".into()),
                    });
                }
                Got::Unknown(why) => {
                    self.note(
                        inst,
                        &attribute(name),
                        format!("{why}: the route's target is not checked"),
                    );
                    return Some(Route {
                        destination_cidr,
                        destination_ipv6_cidr,
                        destination_prefix_list,
                        target: RouteTarget::Other(format!("{} (known after apply)", inst.address)),
                        state: Some("active".into()),
                    });
                }
            }
        }
        None
    }

    /// What kind of target an id (or stand-in address) is.
    fn route_target(&self, attribute: &str, id: &str) -> RouteTarget {
        let kind = self
            .ix
            .by_snapshot_id(id)
            .map(|i| i.resource_type.clone())
            .unwrap_or_default();
        let by_prefix = |p: &str| id.starts_with(p);
        if id == "local" {
            RouteTarget::Local
        } else if kind == "aws_internet_gateway" || by_prefix("igw-") {
            RouteTarget::InternetGateway(id.into())
        } else if kind == "aws_nat_gateway" || by_prefix("nat-") {
            RouteTarget::NatGateway(id.into())
        } else if kind == "aws_vpc_endpoint" || by_prefix("vpce-") {
            RouteTarget::VpcEndpoint(id.into())
        } else if kind == "aws_ec2_transit_gateway" || by_prefix("tgw-") {
            RouteTarget::TransitGateway(id.into())
        } else if kind == "aws_vpc_peering_connection" || by_prefix("pcx-") {
            RouteTarget::VpcPeering(id.into())
        } else if kind == "aws_vpn_gateway" || by_prefix("vgw-") {
            RouteTarget::VirtualPrivateGateway(id.into())
        } else if kind == "aws_network_interface" || by_prefix("eni-") {
            RouteTarget::NetworkInterface(id.into())
        } else if kind == "aws_egress_only_internet_gateway" || by_prefix("eigw-") {
            RouteTarget::EgressOnlyInternetGateway(id.into())
        } else {
            match attribute {
                "nat_gateway_id" => RouteTarget::NatGateway(id.into()),
                "transit_gateway_id" => RouteTarget::TransitGateway(id.into()),
                "vpc_peering_connection_id" => RouteTarget::VpcPeering(id.into()),
                "vpc_endpoint_id" => RouteTarget::VpcEndpoint(id.into()),
                "network_interface_id" => RouteTarget::NetworkInterface(id.into()),
                "egress_only_gateway_id" => RouteTarget::EgressOnlyInternetGateway(id.into()),
                _ => RouteTarget::Other(id.into()),
            }
        }
    }

    /// `aws_route`: one route added to a table.
    fn routes(&mut self) {
        let ix = self.ix;
        for inst in self.instances(&["aws_route"]) {
            self.id_of(inst);
            let Some(table) = self.take(
                inst,
                "route_table_id",
                ix.reference(inst, &key("route_table_id"), ROUTE_TABLES),
            ) else {
                continue;
            };
            let Some(route) = self.route(
                inst,
                &[],
                "destination_cidr_block",
                "destination_ipv6_cidr_block",
                "destination_prefix_list_id",
            ) else {
                continue;
            };
            match self.s.route_tables.get_mut(&table) {
                Some(t) => t.routes.push(route),
                None => self.unknown_table(inst, &table),
            }
        }
    }

    /// A route for a table this plan does not declare: its other routes are
    /// unknown, so the table is not added.
    fn unknown_table(&mut self, inst: &Instance, table: &str) {
        if !self.is_vpc_main_table(table) {
            self.note(
                inst,
                "route_table_id",
                format!("route table `{table}` is not declared in the plan, so its other routes are unknown: its subnets' egress is not checked"),
            );
        }
    }

    fn is_vpc_main_table(&self, table: &str) -> bool {
        self.instances(VPCS)
            .iter()
            .any(|v| vpc_default(v, "main_route_table_id") == table)
    }

    fn route_table_associations(&mut self) {
        let ix = self.ix;
        for inst in self.instances(&["aws_route_table_association"]) {
            self.id_of(inst);
            if matches!(ix.string(inst, &key("gateway_id")), Got::Value(_)) {
                continue;
            }
            let Some(subnet) = self.take(
                inst,
                "subnet_id",
                ix.reference(inst, &key("subnet_id"), SUBNETS),
            ) else {
                continue;
            };
            let Some(table) = self.take(
                inst,
                "route_table_id",
                ix.reference(inst, &key("route_table_id"), ROUTE_TABLES),
            ) else {
                self.unknown_association(inst, &subnet);
                continue;
            };
            if let Some(t) = self.s.route_tables.get_mut(&table) {
                if !t.subnet_ids.contains(&subnet) {
                    t.subnet_ids.push(subnet);
                }
            } else if !self.is_vpc_main_table(&table) {
                self.note(
                    inst,
                    "route_table_id",
                    format!("route table `{table}` is not declared in the plan: the egress of `{subnet}` is not checked"),
                );
            }
        }
    }

    /// A subnet associated with a route table that is known only after apply:
    /// not the VPC's main table, so it gets a table of its own whose default
    /// route goes somewhere unknown, and its egress is reported as unknown.
    fn unknown_association(&mut self, inst: &Instance, subnet: &str) {
        let id = format!("{}.route_table_id", inst.address);
        self.notes.id(&id, &inst.address);
        let vpc_id = self
            .s
            .subnets
            .get(subnet)
            .map(|s| s.vpc_id.clone())
            .unwrap_or_default();
        let mut routes = self.vpc_local_route(&vpc_id);
        routes.push(Route {
            destination_cidr: Some("0.0.0.0/0".into()),
            destination_ipv6_cidr: None,
            destination_prefix_list: None,
            target: RouteTarget::Other("a route table known only after apply".into()),
            state: Some("active".into()),
        });
        self.s.route_tables.insert(
            id.clone(),
            RouteTable {
                id,
                vpc_id,
                main: false,
                subnet_ids: vec![subnet.to_string()],
                routes,
            },
        );
    }

    /// The VPC's main route table: an `aws_main_route_table_association`'s
    /// table, an `aws_default_route_table`, or, for a VPC this plan creates,
    /// the table AWS creates with it (only the local route).
    fn main_route_tables(&mut self) {
        let ix = self.ix;
        let mut replaced: BTreeSet<String> = BTreeSet::new();
        for inst in self.instances(&["aws_main_route_table_association"]) {
            self.id_of(inst);
            let vpc = self.take(inst, "vpc_id", ix.reference(inst, &key("vpc_id"), VPCS));
            let table = self.take(
                inst,
                "route_table_id",
                ix.reference(inst, &key("route_table_id"), ROUTE_TABLES),
            );
            if let (Some(vpc), Some(table)) = (vpc, table) {
                if let Some(t) = self.s.route_tables.get_mut(&table) {
                    t.main = true;
                }
                replaced.insert(vpc);
            }
        }
        for vpc in self.instances(&["aws_vpc"]) {
            let vpc_id = vpc.snapshot_id();
            if !matches!(vpc.field(&key("id")), Field::Unknown) || replaced.contains(&vpc_id) {
                continue;
            }
            let id = vpc_default(vpc, "main_route_table_id");
            if self.s.route_tables.contains_key(&id) {
                continue;
            }
            self.notes.id(&id, &vpc.address);
            let routes = self.vpc_local_route(&vpc_id);
            // aws_route resources that target the main table (by its stand-in).
            let mut table = RouteTable {
                id: id.clone(),
                vpc_id,
                main: true,
                subnet_ids: Vec::new(),
                routes,
            };
            for route_inst in self.instances(&["aws_route"]) {
                if ix.reference(route_inst, &key("route_table_id"), ROUTE_TABLES)
                    == Got::Value(id.clone())
                    && let Some(route) = self.route(
                        route_inst,
                        &[],
                        "destination_cidr_block",
                        "destination_ipv6_cidr_block",
                        "destination_prefix_list_id",
                    )
                {
                    table.routes.push(route);
                }
            }
            for assoc in self.instances(&["aws_route_table_association"]) {
                if ix.reference(assoc, &key("route_table_id"), ROUTE_TABLES)
                    == Got::Value(id.clone())
                    && let Got::Value(subnet) = ix.reference(assoc, &key("subnet_id"), SUBNETS)
                {
                    table.subnet_ids.push(subnet);
                }
            }
            self.s.route_tables.insert(id, table);
        }
    }

    // ----- NAT gateways and endpoints -----

    fn nat_gateways(&mut self) {
        let ix = self.ix;
        for inst in self.instances(&["aws_nat_gateway", "data.aws_nat_gateway"]) {
            let id = self.id_of(inst);
            let subnet_id = self
                .take(
                    inst,
                    "subnet_id",
                    ix.reference(inst, &key("subnet_id"), SUBNETS),
                )
                .unwrap_or_default();
            // A NAT gateway this plan creates is `available` once applied.
            let state = ix
                .string(inst, &key("state"))
                .value()
                .unwrap_or_else(|| "available".into());
            let connectivity = match ix.string(inst, &key("connectivity_type")) {
                Got::Value(v) => Some(v),
                _ => Some("public".into()),
            };
            self.s.nat_gateways.insert(
                id.clone(),
                NatGateway {
                    id,
                    subnet_id,
                    state,
                    connectivity,
                },
            );
        }
    }

    fn vpc_endpoints(&mut self) {
        let ix = self.ix;
        for inst in self.instances(ENDPOINTS) {
            let id = self.id_of(inst);
            let vpc_id = self
                .take(inst, "vpc_id", ix.reference(inst, &key("vpc_id"), VPCS))
                .unwrap_or_default();
            let Some(service_name) =
                self.take(inst, "service_name", ix.string(inst, &key("service_name")))
            else {
                continue;
            };
            let endpoint_type = match ix.string(inst, &key("vpc_endpoint_type")) {
                Got::Value(v) => v,
                Got::Absent => "Gateway".into(),
                Got::Unknown(why) => {
                    self.note(inst, "vpc_endpoint_type", why);
                    continue;
                }
            };
            let interface = endpoint_type == "Interface";
            let state = ix
                .string(inst, &key("state"))
                .value()
                .unwrap_or_else(|| "available".into());
            let private_dns_enabled = if interface {
                let got = ix.boolean(inst, &key("private_dns_enabled"));
                self.take(inst, "private_dns_enabled", got).unwrap_or(false)
            } else {
                false
            };
            let subnet_ids = self.endpoint_list(inst, "subnet_ids", SUBNETS, interface);
            let mut security_group_ids =
                self.endpoint_list(inst, "security_group_ids", SECURITY_GROUPS, false);
            if interface
                && security_group_ids.is_empty()
                && !ix.configured(inst, &key("security_group_ids"))
            {
                // AWS attaches the VPC's default security group.
                security_group_ids.push(self.default_security_group_of(inst, &vpc_id));
            }
            let route_table_ids = self.endpoint_list(inst, "route_table_ids", ROUTE_TABLES, false);
            let policy_document = match ix.string(inst, &key("policy")) {
                Got::Value(p) => Some(p),
                Got::Absent => None,
                // Not set: AWS's default policy allows everything, which blocks nothing.
                Got::Unknown(_) if !ix.configured(inst, &key("policy")) => None,
                Got::Unknown(why) => {
                    self.note(
                        inst,
                        "policy",
                        format!("{why}: the endpoint policy is not checked"),
                    );
                    None
                }
            };
            self.s.vpc_endpoints.insert(
                id.clone(),
                VpcEndpoint {
                    id,
                    vpc_id,
                    service_name,
                    endpoint_type,
                    state,
                    private_dns_enabled,
                    subnet_ids,
                    security_group_ids,
                    route_table_ids,
                    policy_document,
                },
            );
        }
    }

    /// An endpoint's list of ids. Unknown and not configured: AWS fills it
    /// (or the associations below do). Unknown and untraceable: a stand-in no
    /// rule matches, so the rules that read it skip the endpoint.
    fn endpoint_list(
        &mut self,
        inst: &Instance,
        attribute: &'static str,
        kinds: &[&str],
        required: bool,
    ) -> Vec<String> {
        let ix = self.ix;
        match ix.references(inst, &key(attribute), kinds) {
            Got::Value(ids) => ids,
            Got::Absent => Vec::new(),
            Got::Unknown(_) if !ix.configured(inst, &key(attribute)) => {
                if required {
                    self.note(inst, attribute, "not set in the configuration");
                }
                Vec::new()
            }
            Got::Unknown(why) => {
                self.note(
                    inst,
                    attribute,
                    format!("{why}: checks that need it skip this endpoint"),
                );
                vec![format!("{}.{attribute}", inst.address)]
            }
        }
    }

    /// The default security group of a VPC (known, or the stand-in of a VPC
    /// this plan creates), for resources that do not name one.
    fn default_security_group_of(&mut self, inst: &Instance, vpc_id: &str) -> String {
        let vpc = self
            .instances(VPCS)
            .into_iter()
            .find(|v| v.snapshot_id() == vpc_id);
        match vpc {
            Some(v) => vpc_default(v, "default_security_group_id"),
            None => {
                self.note(
                    inst,
                    "security_group_ids",
                    format!("not set, so AWS uses the default security group of `{vpc_id}`, which the plan does not describe: its rules are not checked"),
                );
                format!("{vpc_id}.default_security_group_id")
            }
        }
    }

    fn endpoint_associations(&mut self) {
        let ix = self.ix;
        let kinds: [(&str, &str, &[&str]); 4] = [
            (
                "aws_vpc_endpoint_route_table_association",
                "route_table_id",
                ROUTE_TABLES,
            ),
            ("aws_vpc_endpoint_subnet_association", "subnet_id", SUBNETS),
            (
                "aws_vpc_endpoint_security_group_association",
                "security_group_id",
                SECURITY_GROUPS,
            ),
            ("aws_vpc_endpoint_policy", "policy", &[]),
        ];
        for (kind, attribute, targets) in kinds {
            for inst in self.instances(&[kind]) {
                self.id_of(inst);
                let Some(endpoint) = self.take(
                    inst,
                    "vpc_endpoint_id",
                    ix.reference(inst, &key("vpc_endpoint_id"), ENDPOINTS),
                ) else {
                    continue;
                };
                let value = if attribute == "policy" {
                    ix.string(inst, &key(attribute))
                } else {
                    ix.reference(inst, &key(attribute), targets)
                };
                let Some(value) = self.take(inst, attribute, value) else {
                    continue;
                };
                let Some(e) = self.s.vpc_endpoints.get_mut(&endpoint) else {
                    self.note(
                        inst,
                        "vpc_endpoint_id",
                        format!("endpoint `{endpoint}` is not declared in the plan"),
                    );
                    continue;
                };
                let list = match attribute {
                    "route_table_id" => &mut e.route_table_ids,
                    "subnet_id" => &mut e.subnet_ids,
                    "security_group_id" => &mut e.security_group_ids,
                    _ => {
                        e.policy_document = Some(value);
                        continue;
                    }
                };
                if !list.contains(&value) {
                    list.push(value);
                }
            }
        }
    }

    /// The prefix-list route a Gateway endpoint adds to each of its route tables.
    fn gateway_endpoint_routes(&mut self) {
        let ix = self.ix;
        for inst in self.instances(&["aws_vpc_endpoint"]) {
            let id = inst.snapshot_id();
            let Some(e) = self.s.vpc_endpoints.get(&id) else {
                continue;
            };
            if e.endpoint_type != "Gateway" {
                continue;
            }
            let Some(prefix_list) = ix.endpoint_prefix_list(inst) else {
                continue;
            };
            for table in e.route_table_ids.clone() {
                if let Some(t) = self.s.route_tables.get_mut(&table)
                    && !t
                        .routes
                        .iter()
                        .any(|r| r.target == RouteTarget::VpcEndpoint(id.clone()))
                {
                    t.routes.push(Route {
                        destination_cidr: None,
                        destination_ipv6_cidr: None,
                        destination_prefix_list: Some(prefix_list.clone()),
                        target: RouteTarget::VpcEndpoint(id.clone()),
                        state: Some("active".into()),
                    });
                }
            }
        }
    }

    // ----- prefix lists and security groups -----

    /// Managed prefix lists read by data sources, and the S3 prefix list of
    /// each S3 Gateway endpoint (its `prefix_list_id`), so a rule that names
    /// either connects to the same list.
    fn prefix_lists(&mut self) {
        let ix = self.ix;
        for inst in self.instances(&[
            "data.aws_prefix_list",
            "data.aws_ec2_managed_prefix_list",
            "aws_ec2_managed_prefix_list",
        ]) {
            let id = self.id_of(inst);
            let name = inst
                .known_str("name")
                .map(str::to_string)
                .or_else(|| {
                    inst.expressions
                        .and_then(|e| e.get("name"))
                        .and_then(|e| e.get("constant_value"))
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .unwrap_or_default();
            let entries = if inst.resource_type == "aws_prefix_list" {
                ix.strings(inst, &key("cidr_blocks"))
            } else {
                self.managed_prefix_list_entries(inst)
            };
            let entries = match entries {
                Got::Value(e) => e,
                Got::Absent => Vec::new(),
                Got::Unknown(why) => {
                    self.note(
                        inst,
                        "entries",
                        format!("{why}: rules that compare CIDRs with this prefix list skip it"),
                    );
                    Vec::new()
                }
            };
            self.s
                .prefix_lists
                .insert(id.clone(), PrefixList { id, name, entries });
        }
        for inst in self.instances(&["aws_vpc_endpoint"]) {
            let Some(service) = inst.known_str("service_name") else {
                continue;
            };
            let gateway = self
                .s
                .vpc_endpoints
                .get(&inst.snapshot_id())
                .is_some_and(|e| e.endpoint_type == "Gateway");
            if !gateway {
                continue;
            }
            let Some(id) = ix.endpoint_prefix_list(inst) else {
                continue;
            };
            if self.s.prefix_lists.contains_key(&id) {
                continue;
            }
            self.notes.id(&id, &inst.address);
            self.note(
                inst,
                "prefix_list_id",
                format!("the CIDRs of the AWS-managed prefix list `{service}` are not in the plan: rules that compare CIDRs with them skip it"),
            );
            self.s.prefix_lists.insert(
                id.clone(),
                PrefixList {
                    id,
                    name: service.to_string(),
                    entries: Vec::new(),
                },
            );
        }
    }

    fn managed_prefix_list_entries(&self, inst: &Instance) -> Got<Vec<String>> {
        match inst.field(&key("entries")) {
            Field::Known(Value::Array(entries)) => Got::Value(
                entries
                    .iter()
                    .filter_map(|e| e.get("cidr").and_then(Value::as_str))
                    .map(str::to_string)
                    .collect(),
            ),
            Field::Known(other) => {
                Got::Unknown(format!("expected a list of entries, found `{other}`"))
            }
            Field::Unknown => Got::Unknown("`entries` is known only after apply".into()),
            Field::Absent => Got::Absent,
        }
    }

    fn security_groups(&mut self) {
        let ix = self.ix;
        for inst in self.instances(&["aws_security_group", "aws_default_security_group"]) {
            let default_group = inst.resource_type == "aws_default_security_group";
            let vpc_id = match self.take(inst, "vpc_id", ix.reference(inst, &key("vpc_id"), VPCS)) {
                Some(v) => v,
                None => {
                    self.note(inst, "vpc_id", "no VPC: the group would be in the default VPC, which the plan does not describe");
                    continue;
                }
            };
            let id = if default_group {
                match inst.known_str("id") {
                    Some(id) => id.to_string(),
                    None => self
                        .instances(VPCS)
                        .into_iter()
                        .find(|v| v.snapshot_id() == vpc_id)
                        .map_or_else(
                            || inst.address.clone(),
                            |v| vpc_default(v, "default_security_group_id"),
                        ),
                }
            } else {
                inst.snapshot_id()
            };
            self.notes.id(&id, &inst.address);
            self.notes.id(&inst.address, &inst.address);
            let name = ix.string(inst, &key("name")).value().unwrap_or_else(|| {
                if default_group {
                    "default".into()
                } else {
                    inst.address.clone()
                }
            });
            let ingress = self.inline_group_rules(inst, &id, "ingress");
            let egress = self.inline_group_rules(inst, &id, "egress");
            self.s.security_groups.insert(
                id.clone(),
                SecurityGroup {
                    id,
                    vpc_id,
                    name,
                    ingress,
                    egress,
                },
            );
        }
    }

    /// The `ingress` or `egress` blocks of a security group, one rule per peer.
    /// Not configured and unknown: none (Terraform removes AWS's default
    /// allow-all egress from the groups it creates; separate rule resources
    /// add theirs below).
    fn inline_group_rules(
        &mut self,
        inst: &Instance,
        group: &str,
        direction: &'static str,
    ) -> Vec<SecurityGroupRule> {
        let ix = self.ix;
        let count = match inst.field(&key(direction)) {
            Field::Known(Value::Array(items)) => items.len(),
            Field::Unknown if ix.configured(inst, &key(direction)) => {
                self.note(inst, direction, format!("the {direction} rules are known only after apply: checks of this security group are skipped"));
                self.undetermined_groups.insert(group.to_string());
                return Vec::new();
            }
            _ => return Vec::new(),
        };
        let mut rules = Vec::new();
        for n in 0..count {
            let base = [Step::Key(direction), Step::Index(n)];
            let at = |name: &'static str| [base[0], base[1], Step::Key(name)];
            let protocol = ix
                .string(inst, &at("protocol"))
                .value()
                .unwrap_or_else(|| "-1".into());
            let from = ix.integer(inst, &at("from_port")).value();
            let to = ix.integer(inst, &at("to_port")).value();
            let template = rule_template(&protocol, from, to, None);
            let attribute = format!("{direction}[{n}]");
            let peers = self.peers(
                inst,
                &attribute,
                group,
                Peers {
                    cidr_ipv4: ix.strings(inst, &at("cidr_blocks")),
                    cidr_ipv6: ix.strings(inst, &at("ipv6_cidr_blocks")),
                    prefix_lists: ix.references(inst, &at("prefix_list_ids"), PREFIX_LISTS),
                    groups: ix.references(inst, &at("security_groups"), SECURITY_GROUPS),
                    self_peer: ix.boolean(inst, &at("self")),
                },
            );
            rules.extend(peers.into_iter().map(|p| p.apply(&template)));
        }
        rules
    }

    /// The peers of one rule; an undetermined peer makes the group undetermined.
    fn peers(&mut self, inst: &Instance, attribute: &str, group: &str, peers: Peers) -> Vec<Peer> {
        let mut out = Vec::new();
        let undetermined = |m: &mut Self, what: &str, why: String| {
            let name = if attribute.is_empty() {
                what.to_string()
            } else {
                format!("{attribute}.{what}")
            };
            m.note(
                inst,
                &name,
                format!("{why}: checks of security group `{group}` are skipped"),
            );
            m.undetermined_groups.insert(group.to_string());
        };
        match peers.cidr_ipv4 {
            Got::Value(c) => out.extend(c.into_iter().map(Peer::Ipv4)),
            Got::Unknown(why) => undetermined(self, "cidr_blocks", why),
            Got::Absent => {}
        }
        match peers.cidr_ipv6 {
            Got::Value(c) => out.extend(c.into_iter().map(Peer::Ipv6)),
            Got::Unknown(why) => undetermined(self, "ipv6_cidr_blocks", why),
            Got::Absent => {}
        }
        match peers.prefix_lists {
            Got::Value(c) => out.extend(c.into_iter().map(Peer::PrefixList)),
            Got::Unknown(why) => undetermined(self, "prefix_list_ids", why),
            Got::Absent => {}
        }
        match peers.groups {
            Got::Value(c) => out.extend(c.into_iter().map(Peer::Group)),
            Got::Unknown(why) => undetermined(self, "security_groups", why),
            Got::Absent => {}
        }
        match peers.self_peer {
            Got::Value(true) => out.push(Peer::Group(group.to_string())),
            Got::Unknown(why) => undetermined(self, "self", why),
            _ => {}
        }
        out
    }

    /// `aws_security_group_rule` and `aws_vpc_security_group_{ingress,egress}_rule`.
    fn security_group_rules(&mut self) {
        let ix = self.ix;
        for inst in self.instances(&["aws_security_group_rule"]) {
            self.id_of(inst);
            let Some(group) = self.rule_group(inst) else {
                continue;
            };
            let egress = match ix.string(inst, &key("type")).value().as_deref() {
                Some("egress") => true,
                Some("ingress") => false,
                _ => {
                    self.note(inst, "type", "expected ingress or egress");
                    continue;
                }
            };
            let protocol = ix
                .string(inst, &key("protocol"))
                .value()
                .unwrap_or_else(|| "-1".into());
            let template = rule_template(
                &protocol,
                ix.integer(inst, &key("from_port")).value(),
                ix.integer(inst, &key("to_port")).value(),
                Some(rule_id(inst)),
            );
            let source = match inst.field(&key("source_security_group_id")) {
                // Computed when not set.
                Field::Unknown if !ix.configured(inst, &key("source_security_group_id")) => {
                    Got::Absent
                }
                _ => ix
                    .reference(inst, &key("source_security_group_id"), SECURITY_GROUPS)
                    .map(|g| vec![g]),
            };
            let peers = self.peers(
                inst,
                "",
                &group,
                Peers {
                    cidr_ipv4: ix.strings(inst, &key("cidr_blocks")),
                    cidr_ipv6: ix.strings(inst, &key("ipv6_cidr_blocks")),
                    prefix_lists: ix.references(inst, &key("prefix_list_ids"), PREFIX_LISTS),
                    groups: source,
                    self_peer: ix.boolean(inst, &key("self")),
                },
            );
            self.add_rules(
                &group,
                egress,
                peers.into_iter().map(|p| p.apply(&template)).collect(),
            );
        }
        for (kind, egress) in [
            ("aws_vpc_security_group_ingress_rule", false),
            ("aws_vpc_security_group_egress_rule", true),
        ] {
            for inst in self.instances(&[kind]) {
                self.id_of(inst);
                let Some(group) = self.rule_group(inst) else {
                    continue;
                };
                let protocol = ix
                    .string(inst, &key("ip_protocol"))
                    .value()
                    .unwrap_or_else(|| "-1".into());
                let template = rule_template(
                    &protocol,
                    ix.integer(inst, &key("from_port")).value(),
                    ix.integer(inst, &key("to_port")).value(),
                    Some(rule_id(inst)),
                );
                let one = |got: Got<String>| got.map(|v| vec![v]);
                let peers = self.peers(
                    inst,
                    "",
                    &group,
                    Peers {
                        cidr_ipv4: one(ix.string(inst, &key("cidr_ipv4"))),
                        cidr_ipv6: one(ix.string(inst, &key("cidr_ipv6"))),
                        prefix_lists: one(ix.reference(inst, &key("prefix_list_id"), PREFIX_LISTS)),
                        groups: one(ix.reference(
                            inst,
                            &key("referenced_security_group_id"),
                            SECURITY_GROUPS,
                        )),
                        self_peer: Got::Absent,
                    },
                );
                self.add_rules(
                    &group,
                    egress,
                    peers.into_iter().map(|p| p.apply(&template)).collect(),
                );
            }
        }
    }

    /// The group a separate rule resource belongs to, when the plan declares it.
    fn rule_group(&mut self, inst: &Instance) -> Option<String> {
        let ix = self.ix;
        let group = self.take(
            inst,
            "security_group_id",
            ix.reference(inst, &key("security_group_id"), SECURITY_GROUPS),
        )?;
        if !self.s.security_groups.contains_key(&group) && !self.is_new_vpc_default_group(&group) {
            self.note(
                inst,
                "security_group_id",
                format!("security group `{group}` is not declared in the plan, so its other rules are unknown: its checks are skipped"),
            );
            return None;
        }
        Some(group)
    }

    fn is_new_vpc_default_group(&self, group: &str) -> bool {
        self.instances(&["aws_vpc"]).iter().any(|v| {
            matches!(v.field(&key("id")), Field::Unknown)
                && vpc_default(v, "default_security_group_id") == group
        })
    }

    fn add_rules(&mut self, group: &str, egress: bool, rules: Vec<SecurityGroupRule>) {
        if !self.s.security_groups.contains_key(group) {
            self.pending_default_rules
                .push((group.to_string(), egress, rules));
            return;
        }
        if let Some(g) = self.s.security_groups.get_mut(group) {
            let list = if egress {
                &mut g.egress
            } else {
                &mut g.ingress
            };
            for rule in rules {
                if !list.iter().any(|r| same_rule(r, &rule)) {
                    list.push(rule);
                }
            }
        }
    }

    /// The default security group of each VPC this plan creates (unless an
    /// `aws_default_security_group` manages it): AWS's rules, all inbound from
    /// the group itself and all outbound, plus separate rules added to it.
    fn default_security_groups(&mut self) {
        for vpc in self.instances(&["aws_vpc"]) {
            if !matches!(vpc.field(&key("id")), Field::Unknown) {
                continue;
            }
            let id = vpc_default(vpc, "default_security_group_id");
            if self.s.security_groups.contains_key(&id) {
                continue;
            }
            self.notes.id(&id, &vpc.address);
            let all = |peer: Peer| peer.apply(&rule_template("-1", None, None, None));
            self.s.security_groups.insert(
                id.clone(),
                SecurityGroup {
                    id: id.clone(),
                    vpc_id: vpc.snapshot_id(),
                    name: "default".into(),
                    ingress: vec![all(Peer::Group(id.clone()))],
                    egress: vec![all(Peer::Ipv4("0.0.0.0/0".into()))],
                },
            );
        }
        for (group, egress, rules) in std::mem::take(&mut self.pending_default_rules) {
            if self.s.security_groups.contains_key(&group) {
                self.add_rules(&group, egress, rules);
            }
        }
    }

    fn drop_undetermined_groups(&mut self) {
        for group in &self.undetermined_groups {
            self.s.security_groups.remove(group);
        }
    }

    /// A rule that names a prefix list the plan does not describe, while the
    /// S3 prefix list's id is only a stand-in: whether it is the S3 list is
    /// unknown, so the S3 list is left out and the S3 egress rule skips.
    fn check_prefix_list_references(&mut self) {
        let s3 = self.s.service_name("s3");
        let Some(stand_in) = self
            .s
            .prefix_lists
            .values()
            .find(|p| p.name == s3 && !p.id.starts_with("pl-"))
            .map(|p| p.id.clone())
        else {
            return;
        };
        let unknown_list = self
            .s
            .security_groups
            .values()
            .flat_map(|g| g.ingress.iter().chain(&g.egress))
            .filter_map(|r| r.prefix_list_id.clone())
            .find(|p| p.starts_with("pl-") && !self.s.prefix_lists.contains_key(p));
        if let Some(other) = unknown_list {
            self.s.prefix_lists.remove(&stand_in);
            let address = self
                .notes
                .addresses
                .get(&stand_in)
                .cloned()
                .unwrap_or(stand_in.clone());
            self.notes.undetermined(
                &address,
                "prefix_list_id",
                format!("a security group rule names prefix list `{other}`, and the id of the S3 prefix list is known only after apply: the S3 egress check is skipped"),
            );
        }
    }

    // ----- network ACLs -----

    fn network_acls(&mut self) {
        let ix = self.ix;
        for inst in self.instances(&["aws_network_acl", "aws_default_network_acl"]) {
            let default_acl = inst.resource_type == "aws_default_network_acl";
            let id = if default_acl {
                match self.take(
                    inst,
                    "default_network_acl_id",
                    ix.reference(inst, &key("default_network_acl_id"), NETWORK_ACLS),
                ) {
                    Some(id) => id,
                    None => continue,
                }
            } else {
                inst.snapshot_id()
            };
            self.notes.id(&id, &inst.address);
            self.notes.id(&inst.address, &inst.address);
            let vpc_id = match ix.reference(inst, &key("vpc_id"), VPCS) {
                Got::Value(v) => v,
                _ if default_acl => self
                    .vpc_owning(&id, "default_network_acl_id")
                    .unwrap_or_default(),
                got => self.take(inst, "vpc_id", got).unwrap_or_default(),
            };
            let subnet_ids = match ix.references(inst, &key("subnet_ids"), SUBNETS) {
                Got::Value(ids) => ids,
                Got::Unknown(_) if !ix.configured(inst, &key("subnet_ids")) => Vec::new(),
                got => self.take(inst, "subnet_ids", got).unwrap_or_default(),
            };
            let mut entries = Vec::new();
            let mut complete = true;
            for (direction, egress) in [("ingress", false), ("egress", true)] {
                match self.inline_acl_entries(inst, direction, egress) {
                    Some(e) => entries.extend(e),
                    None => complete = false,
                }
                entries.push(deny_all(egress));
            }
            if !complete {
                continue;
            }
            self.s.network_acls.insert(
                id.clone(),
                NetworkAcl {
                    id,
                    vpc_id,
                    subnet_ids,
                    entries,
                },
            );
        }
        for inst in self.instances(&["aws_network_acl_rule"]) {
            self.id_of(inst);
            let Some(acl) = self.take(
                inst,
                "network_acl_id",
                ix.reference(inst, &key("network_acl_id"), NETWORK_ACLS),
            ) else {
                continue;
            };
            let egress = ix.boolean(inst, &key("egress")).value().unwrap_or(false);
            let Some(entry) = self.acl_entry(inst, &[], egress, "rule_number", "rule_action")
            else {
                self.s.network_acls.remove(&acl);
                continue;
            };
            match self.s.network_acls.get_mut(&acl) {
                Some(a) => a.entries.push(entry),
                None => self.note(
                    inst,
                    "network_acl_id",
                    format!("network ACL `{acl}` is not declared in the plan, so its other entries are unknown"),
                ),
            }
        }
        for inst in self.instances(&["aws_network_acl_association"]) {
            self.id_of(inst);
            let acl = self.take(
                inst,
                "network_acl_id",
                ix.reference(inst, &key("network_acl_id"), NETWORK_ACLS),
            );
            let subnet = self.take(
                inst,
                "subnet_id",
                ix.reference(inst, &key("subnet_id"), SUBNETS),
            );
            let (Some(acl), Some(subnet)) = (acl, subnet) else {
                continue;
            };
            for a in self.s.network_acls.values_mut() {
                a.subnet_ids.retain(|s| s != &subnet);
            }
            if let Some(a) = self.s.network_acls.get_mut(&acl) {
                a.subnet_ids.push(subnet);
            }
        }
        self.default_network_acls();
    }

    /// The default network ACL of each VPC this plan creates (unless an
    /// `aws_default_network_acl` manages it): allow all in both directions,
    /// for the subnets no other ACL is associated with.
    fn default_network_acls(&mut self) {
        for vpc in self.instances(&["aws_vpc"]) {
            if !matches!(vpc.field(&key("id")), Field::Unknown) {
                continue;
            }
            let vpc_id = vpc.snapshot_id();
            let id = vpc_default(vpc, "default_network_acl_id");
            let taken: BTreeSet<String> = self
                .s
                .network_acls
                .values()
                .flat_map(|a| a.subnet_ids.iter().cloned())
                .collect();
            let free: Vec<String> = self
                .s
                .subnets
                .values()
                .filter(|s| s.vpc_id == vpc_id && !taken.contains(&s.id))
                .map(|s| s.id.clone())
                .collect();
            if let Some(existing) = self.s.network_acls.get_mut(&id) {
                existing.subnet_ids.extend(free);
                continue;
            }
            self.notes.id(&id, &vpc.address);
            let allow = |egress| NetworkAclEntry {
                rule_number: 100,
                egress,
                protocol: "-1".into(),
                allow: true,
                cidr_block: Some("0.0.0.0/0".into()),
                port_from: None,
                port_to: None,
            };
            self.s.network_acls.insert(
                id.clone(),
                NetworkAcl {
                    id,
                    vpc_id,
                    subnet_ids: free,
                    entries: vec![allow(true), deny_all(true), allow(false), deny_all(false)],
                },
            );
        }
    }

    /// The `ingress` or `egress` blocks of a network ACL; `None` when unknown.
    fn inline_acl_entries(
        &mut self,
        inst: &Instance,
        direction: &'static str,
        egress: bool,
    ) -> Option<Vec<NetworkAclEntry>> {
        let count = match inst.field(&key(direction)) {
            Field::Known(Value::Array(items)) => items.len(),
            Field::Unknown if self.ix.configured(inst, &key(direction)) => {
                self.note(
                    inst,
                    direction,
                    "the entries are known only after apply: the network ACL check skips this ACL",
                );
                return None;
            }
            _ => return Some(Vec::new()),
        };
        let mut out = Vec::new();
        for n in 0..count {
            let base = [Step::Key(direction), Step::Index(n)];
            out.push(self.acl_entry(inst, &base, egress, "rule_no", "action")?);
        }
        Some(out)
    }

    fn acl_entry(
        &mut self,
        inst: &Instance,
        base: &[Step],
        egress: bool,
        number: &str,
        action: &str,
    ) -> Option<NetworkAclEntry> {
        let ix = self.ix;
        let path = |name| join(base, name);
        let rule_number = ix.integer(inst, &path(number)).value();
        let allow = ix
            .string(inst, &path(action))
            .value()
            .map(|a| a.eq_ignore_ascii_case("allow"));
        let cidr_block = ix.string(inst, &path("cidr_block")).value();
        let ipv6 = ix.string(inst, &path("ipv6_cidr_block")).value();
        let (Some(rule_number), Some(allow)) = (rule_number, allow) else {
            self.note(
                inst,
                &format!("{}{number}", prefix_text(base)),
                "the entry is incomplete until apply: the network ACL check skips this ACL",
            );
            return None;
        };
        if cidr_block.is_none() && ipv6.is_none() {
            self.note(
                inst,
                &format!("{}cidr_block", prefix_text(base)),
                "the entry's CIDR is known only after apply: the network ACL check skips this ACL",
            );
            return None;
        }
        let protocol = ix
            .string(inst, &path("protocol"))
            .value()
            .unwrap_or_else(|| "-1".into())
            .to_ascii_lowercase();
        let all = protocol == "-1" || protocol == "all";
        Some(NetworkAclEntry {
            rule_number: i32::try_from(rule_number).unwrap_or(i32::MAX),
            egress,
            protocol: if all { "-1".into() } else { protocol },
            allow,
            cidr_block,
            port_from: if all {
                None
            } else {
                ix.integer(inst, &path("from_port"))
                    .value()
                    .and_then(|p| i32::try_from(p).ok())
            },
            port_to: if all {
                None
            } else {
                ix.integer(inst, &path("to_port"))
                    .value()
                    .and_then(|p| i32::try_from(p).ok())
            },
        })
    }

    // ----- ECS -----

    fn task_definitions(&mut self) {
        let ix = self.ix;
        for inst in self.instances(&["aws_ecs_task_definition"]) {
            let key_id = match inst.known_str("arn") {
                Some(arn) => arn.to_string(),
                None => inst.address.clone(),
            };
            self.notes.id(&key_id, &inst.address);
            self.notes.id(&inst.address, &inst.address);
            let family = ix.string(inst, &key("family")).value().unwrap_or_default();
            let revision = ix
                .integer(inst, &key("revision"))
                .value()
                .and_then(|r| i32::try_from(r).ok())
                .unwrap_or(0);
            let execution_role_arn = match ix.reference(
                inst,
                &key("execution_role_arn"),
                &["aws_iam_role", "data.aws_iam_role"],
            ) {
                Got::Value(v) => Some(v),
                Got::Absent => None,
                Got::Unknown(why) => {
                    self.note(inst, "execution_role_arn", why);
                    // Set, but to something unknown: not "missing".
                    Some(format!("{}.execution_role_arn", inst.address))
                }
            };
            let containers = match ix.string(inst, &key("container_definitions")) {
                Got::Value(text) => match parse_containers(&text) {
                    Ok(c) => c,
                    Err(e) => {
                        self.note(inst, "container_definitions", format!("not valid container definitions ({e}): the task definition is not checked"));
                        continue;
                    }
                },
                Got::Absent => Vec::new(),
                Got::Unknown(why) => {
                    self.note(
                        inst,
                        "container_definitions",
                        format!("{why} (it interpolates a value unknown until apply): what the containers need is unknown, so the endpoint checks skip the services that use this task definition"),
                    );
                    continue;
                }
            };
            let operating_system = ix
                .string(
                    inst,
                    &[
                        Step::Key("runtime_platform"),
                        Step::Index(0),
                        Step::Key("operating_system_family"),
                    ],
                )
                .value();
            let mut efs_file_systems = Vec::new();
            if let Field::Known(Value::Array(volumes)) = inst.field(&key("volume")) {
                for n in 0..volumes.len() {
                    let path = [
                        Step::Key("volume"),
                        Step::Index(n),
                        Step::Key("efs_volume_configuration"),
                        Step::Index(0),
                        Step::Key("file_system_id"),
                    ];
                    match ix.reference(
                        inst,
                        &path,
                        &["aws_efs_file_system", "data.aws_efs_file_system"],
                    ) {
                        Got::Value(fs) => efs_file_systems.push(fs),
                        Got::Absent => {}
                        Got::Unknown(why) => self.note(
                            inst,
                            &format!("volume[{n}].efs_volume_configuration[0].file_system_id"),
                            why,
                        ),
                    }
                }
            }
            self.s.task_definitions.insert(
                key_id.clone(),
                TaskDefinition {
                    arn: key_id,
                    family,
                    revision,
                    execution_role_arn,
                    operating_system,
                    containers,
                    efs_file_systems,
                },
            );
        }
    }

    fn workloads(&mut self) {
        let ix = self.ix;
        for inst in self.instances(&["aws_ecs_service"]) {
            let Some(name) = self.take(inst, "name", ix.string(inst, &key("name"))) else {
                continue;
            };
            let cluster = match ix.reference(
                inst,
                &key("cluster"),
                &["aws_ecs_cluster", "data.aws_ecs_cluster"],
            ) {
                Got::Value(c) => c,
                Got::Absent => "default".into(),
                got => self
                    .take(inst, "cluster", got)
                    .unwrap_or_else(|| inst.address.clone()),
            };
            let capacity_providers: Vec<String> =
                match inst.field(&key("capacity_provider_strategy")) {
                    Field::Known(Value::Array(items)) => items
                        .iter()
                        .filter_map(|i| i.get("capacity_provider").and_then(Value::as_str))
                        .map(str::to_string)
                        .collect(),
                    _ => Vec::new(),
                };
            let launch_type = match ix.string(inst, &key("launch_type")) {
                Got::Value(v) => Some(v),
                Got::Absent => None,
                Got::Unknown(_) if !capacity_providers.is_empty() => None,
                Got::Unknown(why) => {
                    self.note(
                        inst,
                        "launch_type",
                        format!("{why}: the cluster's default capacity provider strategy decides"),
                    );
                    None
                }
            };
            let fargate = launch_type.as_deref() == Some("FARGATE")
                || (launch_type.is_none()
                    && capacity_providers.iter().any(|c| c.starts_with("FARGATE")));
            let platform_version = match ix.string(inst, &key("platform_version")) {
                Got::Value(v) => Some(v),
                // ECS runs Fargate tasks on LATEST unless told otherwise.
                _ if fargate => Some("LATEST".into()),
                _ => None,
            };
            let net = |name: &'static str| {
                [
                    Step::Key("network_configuration"),
                    Step::Index(0),
                    Step::Key(name),
                ]
            };
            let subnets = match ix.references(inst, &net("subnets"), SUBNETS) {
                Got::Value(v) => v,
                Got::Absent => {
                    if fargate {
                        self.note(
                            inst,
                            "network_configuration",
                            "no network configuration: a Fargate service needs one",
                        );
                    }
                    Vec::new()
                }
                Got::Unknown(why) => {
                    self.note(
                        inst,
                        "network_configuration[0].subnets",
                        format!("{why}: the service's subnets are not checked"),
                    );
                    Vec::new()
                }
            };
            let security_groups =
                match ix.references(inst, &net("security_groups"), SECURITY_GROUPS) {
                    Got::Value(v) if !v.is_empty() => v,
                    Got::Unknown(why) if ix.configured(inst, &net("security_groups")) => {
                        self.note(
                            inst,
                            "network_configuration[0].security_groups",
                            format!("{why}: the task security group checks are skipped"),
                        );
                        Vec::new()
                    }
                    // Not set: ECS uses the VPC's default security group.
                    _ => {
                        let vpc = subnets
                            .iter()
                            .find_map(|s| self.s.subnets.get(s))
                            .map(|s| s.vpc_id.clone());
                        match vpc {
                            Some(vpc) if !subnets.is_empty() => {
                                vec![self.default_security_group_of(inst, &vpc)]
                            }
                            _ => Vec::new(),
                        }
                    }
                };
            let assign_public_ip = ix
                .boolean(inst, &net("assign_public_ip"))
                .value()
                .unwrap_or(false);
            let enable_execute_command = ix
                .boolean(inst, &key("enable_execute_command"))
                .value()
                .unwrap_or(false);
            let task_definition = match ix.reference(
                inst,
                &key("task_definition"),
                &["aws_ecs_task_definition", "data.aws_ecs_task_definition"],
            ) {
                Got::Value(t) => self.task_definition_key(inst, &t),
                got => self.take(inst, "task_definition", got).unwrap_or_default(),
            };
            let workload = Workload {
                name,
                cluster,
                kind: WorkloadKind::Service,
                launch_type,
                capacity_providers,
                platform_version,
                subnets,
                security_groups,
                assign_public_ip,
                enable_execute_command,
                task_definition,
            };
            let resource = crate::network::facts::workload_resource(&self.s, &workload);
            self.notes.id(&resource, &inst.address);
            self.notes.id(&inst.address, &inst.address);
            self.s.workloads.push(workload);
        }
    }

    /// The key of a task definition in the snapshot, from what a service names:
    /// an ARN, `family:revision`, `family`, or a stand-in address.
    fn task_definition_key(&mut self, inst: &Instance, named: &str) -> String {
        if self.s.task_definitions.contains_key(named) {
            return named.to_string();
        }
        let found = self.s.task_definitions.values().find(|t| {
            t.family == named
                || format!("{}:{}", t.family, t.revision) == named
                || named.ends_with(&format!(":task-definition/{}:{}", t.family, t.revision))
        });
        match found {
            Some(t) => t.arn.clone(),
            None => {
                if self.ix.by_snapshot_id(named).is_none() {
                    self.note(
                        inst,
                        "task_definition",
                        format!("task definition `{named}` is not in the plan: what its containers need is unknown, so the endpoint checks skip this service"),
                    );
                }
                named.to_string()
            }
        }
    }

    fn pull_through_cache(&mut self) {
        let ix = self.ix;
        for inst in self.instances(&["aws_ecr_pull_through_cache_rule"]) {
            if let Some(prefix) = self.take(
                inst,
                "ecr_repository_prefix",
                ix.string(inst, &key("ecr_repository_prefix")),
            ) {
                self.s.pull_through_cache_prefixes.push(prefix);
            }
        }
    }
}

/// What one rule allows, before its peers are known.
fn rule_template(
    protocol: &str,
    from: Option<i64>,
    to: Option<i64>,
    id: Option<String>,
) -> SecurityGroupRule {
    let protocol = protocol.to_ascii_lowercase();
    let all = protocol == "-1" || protocol == "all";
    let port = |p: Option<i64>| {
        if all {
            None
        } else {
            p.and_then(|p| i32::try_from(p).ok())
        }
    };
    SecurityGroupRule {
        id,
        protocol: if all { "-1".into() } else { protocol },
        from_port: port(from),
        to_port: port(to),
        ..SecurityGroupRule::default()
    }
}

fn rule_id(inst: &Instance) -> String {
    inst.known_str("security_group_rule_id")
        .map_or_else(|| inst.address.clone(), str::to_string)
}

fn same_rule(a: &SecurityGroupRule, b: &SecurityGroupRule) -> bool {
    a.protocol == b.protocol
        && a.from_port == b.from_port
        && a.to_port == b.to_port
        && a.cidr_ipv4 == b.cidr_ipv4
        && a.cidr_ipv6 == b.cidr_ipv6
        && a.prefix_list_id == b.prefix_list_id
        && a.referenced_group_id == b.referenced_group_id
}

fn deny_all(egress: bool) -> NetworkAclEntry {
    NetworkAclEntry {
        rule_number: 32767,
        egress,
        protocol: "-1".into(),
        allow: false,
        cidr_block: Some("0.0.0.0/0".into()),
        port_from: None,
        port_to: None,
    }
}

/// The peers of one security group rule, as read.
struct Peers {
    cidr_ipv4: Got<Vec<String>>,
    cidr_ipv6: Got<Vec<String>>,
    prefix_lists: Got<Vec<String>>,
    groups: Got<Vec<String>>,
    self_peer: Got<bool>,
}

/// One peer: DescribeSecurityGroupRules lists one rule per peer.
enum Peer {
    Ipv4(String),
    Ipv6(String),
    PrefixList(String),
    Group(String),
}

impl Peer {
    fn apply(self, template: &SecurityGroupRule) -> SecurityGroupRule {
        let mut rule = template.clone();
        match self {
            Peer::Ipv4(c) => rule.cidr_ipv4 = Some(c),
            Peer::Ipv6(c) => rule.cidr_ipv6 = Some(c),
            Peer::PrefixList(p) => rule.prefix_list_id = Some(p),
            Peer::Group(g) => rule.referenced_group_id = Some(g),
        }
        rule
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

/// The containers of a `container_definitions` JSON string.
fn parse_containers(text: &str) -> Result<Vec<Container>, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let Value::Array(items) = value else {
        return Err("expected a JSON array".into());
    };
    let str_at = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let mut out = Vec::new();
    for item in &items {
        if !item.is_object() {
            return Err("expected an array of objects".into());
        }
        let list = |k: &str, field: &str| -> Vec<String> {
            item.get(k)
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|x| str_at(x, field)).collect())
                .unwrap_or_default()
        };
        let log = item.get("logConfiguration").filter(|l| l.is_object());
        out.push(Container {
            name: str_at(item, "name").unwrap_or_default(),
            image: str_at(item, "image").unwrap_or_default(),
            secrets: list("secrets", "valueFrom"),
            repository_credentials: item
                .get("repositoryCredentials")
                .and_then(|r| str_at(r, "credentialsParameter")),
            log_driver: log.and_then(|l| str_at(l, "logDriver")),
            log_options: log
                .and_then(|l| l.get("options"))
                .and_then(Value::as_object)
                .map(|o| {
                    o.iter()
                        .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                        .collect::<BTreeMap<_, _>>()
                })
                .unwrap_or_default(),
            firelens: item
                .get("firelensConfiguration")
                .is_some_and(|f| !f.is_null()),
            environment_files: list("environmentFiles", "value"),
        });
    }
    Ok(out)
}
