//! EC2 routing: route tables (and where each route goes) and NAT gateways.

use super::{Ctx, vpc_filter};
use crate::network::snapshot::{NatGateway, Route, RouteTable, RouteTarget};

/// Where an EC2 route sends its traffic.
fn target_of(r: &aws_sdk_ec2::types::Route) -> RouteTarget {
    let id = |s: Option<&str>| s.map(str::to_string);
    if let Some(g) = id(r.gateway_id()) {
        return match g.as_str() {
            "local" => RouteTarget::Local,
            g if g.starts_with("igw-") => RouteTarget::InternetGateway(g.to_string()),
            g if g.starts_with("vpce-") => RouteTarget::VpcEndpoint(g.to_string()),
            g if g.starts_with("vgw-") => RouteTarget::VirtualPrivateGateway(g.to_string()),
            g => RouteTarget::Other(g.to_string()),
        };
    }
    if let Some(n) = id(r.nat_gateway_id()) {
        return RouteTarget::NatGateway(n);
    }
    if let Some(t) = id(r.transit_gateway_id()) {
        return RouteTarget::TransitGateway(t);
    }
    if let Some(p) = id(r.vpc_peering_connection_id()) {
        return RouteTarget::VpcPeering(p);
    }
    if let Some(e) = id(r.egress_only_internet_gateway_id()) {
        return RouteTarget::EgressOnlyInternetGateway(e);
    }
    if let Some(e) = id(r.network_interface_id()) {
        return RouteTarget::NetworkInterface(e);
    }
    RouteTarget::Other(
        id(r.instance_id())
            .or(id(r.local_gateway_id()))
            .or(id(r.carrier_gateway_id()))
            .unwrap_or_else(|| "unknown".into()),
    )
}

/// The route tables of a VPC, with their associations and routes.
pub(super) async fn route_tables(ctx: &Ctx, vpc_id: &str) -> Vec<RouteTable> {
    paginate!(
        ctx,
        ctx.c
            .ec2
            .describe_route_tables()
            .filters(vpc_filter(vpc_id))
            .into_paginator()
            .send(),
        format!("route tables of {vpc_id}"),
        "ec2:DescribeRouteTables",
        |p| p.route_tables().iter().map(|t| {
            RouteTable {
                id: t.route_table_id().unwrap_or_default().to_string(),
                vpc_id: t.vpc_id().unwrap_or_default().to_string(),
                main: t.associations().iter().any(|a| a.main() == Some(true)),
                subnet_ids: t
                    .associations()
                    .iter()
                    .filter_map(|a| a.subnet_id().map(str::to_string))
                    .collect(),
                routes: t
                    .routes()
                    .iter()
                    .map(|r| Route {
                        destination_cidr: r.destination_cidr_block().map(str::to_string),
                        destination_ipv6_cidr: r.destination_ipv6_cidr_block().map(str::to_string),
                        destination_prefix_list: r.destination_prefix_list_id().map(str::to_string),
                        target: target_of(r),
                        state: r.state().map(|s| s.as_str().to_string()),
                    })
                    .collect(),
            }
        })
    )
}

/// The NAT gateways of a VPC.
pub(super) async fn nat_gateways(ctx: &Ctx, vpc_id: &str) -> Vec<NatGateway> {
    paginate!(
        ctx,
        ctx.c
            .ec2
            .describe_nat_gateways()
            .filter(vpc_filter(vpc_id))
            .into_paginator()
            .send(),
        format!("NAT gateways of {vpc_id}"),
        "ec2:DescribeNatGateways",
        |p| p.nat_gateways().iter().map(|n| {
            NatGateway {
                id: n.nat_gateway_id().unwrap_or_default().to_string(),
                subnet_id: n.subnet_id().unwrap_or_default().to_string(),
                state: n
                    .state()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                connectivity: n.connectivity_type().map(|c| c.as_str().to_string()),
            }
        })
    )
}
