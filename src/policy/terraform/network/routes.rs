//! Route tables (inline routes, `aws_route`, associations, each VPC's main
//! table) and NAT gateways.

use std::collections::BTreeSet;

use serde_json::Value;

use super::{Mapper, PREFIX_LISTS, ROUTE_TABLES, SUBNETS, VPCS, join, prefix_text};
use crate::network::snapshot::{NatGateway, Route, RouteTable, RouteTarget};
use crate::policy::terraform::index::{Field, Got, Instance, Step, key, vpc_default};

/// The attributes that name a route's target, in the order they are tried,
/// each with the resource types it may refer to.
const ROUTE_TARGETS: &[(&str, &[&str])] = &[
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

impl<'a, 'p> Mapper<'a, 'p> {
    pub(super) fn route_tables(&mut self) {
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
        for (name, kinds) in ROUTE_TARGETS {
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
    pub(super) fn routes(&mut self) {
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

    pub(super) fn route_table_associations(&mut self) {
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
    pub(super) fn main_route_tables(&mut self) {
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

    pub(super) fn nat_gateways(&mut self) {
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
}
