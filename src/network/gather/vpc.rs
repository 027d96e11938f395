//! EC2, the VPC itself: subnets, each VPC with its DNS attributes and what
//! is read per VPC (route tables, NAT gateways, endpoints, network ACLs), VPC
//! endpoints and DHCP options.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_ec2::types::VpcAttributeName;

use super::network_acls::network_acls;
use super::routes::{nat_gateways, route_tables};
use super::{Ctx, vpc_filter};
use crate::network::snapshot::{NatGateway, NetworkAcl, RouteTable, Subnet, Vpc, VpcEndpoint};

/// The subnets `ids`, by id.
pub(super) async fn subnets(ctx: &Ctx, ids: &BTreeSet<String>) -> BTreeMap<String, Subnet> {
    if ids.is_empty() {
        return BTreeMap::new();
    }
    paginate!(
        ctx,
        ctx.c
            .ec2
            .describe_subnets()
            .set_subnet_ids(Some(ids.iter().cloned().collect()))
            .into_paginator()
            .send(),
        format!(
            "subnets {}",
            ids.iter().cloned().collect::<Vec<_>>().join(", ")
        ),
        "ec2:DescribeSubnets",
        |p| p.subnets().iter().map(|s| {
            let id = s.subnet_id().unwrap_or_default().to_string();
            (
                id.clone(),
                Subnet {
                    id,
                    vpc_id: s.vpc_id().unwrap_or_default().to_string(),
                    availability_zone: s.availability_zone().unwrap_or_default().to_string(),
                    cidr_block: s.cidr_block().map(str::to_string),
                    ipv6_native: s.ipv6_native(),
                    ipv6_cidr_blocks: s
                        .ipv6_cidr_block_association_set()
                        .iter()
                        .filter(|a| {
                            a.ipv6_cidr_block_state()
                                .and_then(|st| st.state())
                                .is_none_or(|st| st.as_str() == "associated")
                        })
                        .filter_map(|a| a.ipv6_cidr_block().map(str::to_string))
                        .collect(),
                    assign_ipv6_address_on_creation: s.assign_ipv6_address_on_creation(),
                    enable_dns64: s.enable_dns64(),
                },
            )
        }),
    )
    .into_iter()
    .collect()
}

/// A VPC and what is read per VPC.
pub(super) struct VpcFacts {
    pub(super) vpc: Vpc,
    pub(super) route_tables: Vec<RouteTable>,
    pub(super) nat_gateways: Vec<NatGateway>,
    pub(super) endpoints: Vec<VpcEndpoint>,
    pub(super) network_acls: Vec<NetworkAcl>,
}

/// The VPC `vpc_id`, its DNS attributes and what is read per VPC, concurrently.
pub(super) async fn vpc(ctx: &Ctx, vpc_id: &str) -> VpcFacts {
    let (v, dns_support, dns_hostnames, route_tables, nat_gateways, endpoints, network_acls) = tokio::join!(
        describe_vpc(ctx, vpc_id),
        vpc_attribute(ctx, vpc_id, VpcAttributeName::EnableDnsSupport),
        vpc_attribute(ctx, vpc_id, VpcAttributeName::EnableDnsHostnames),
        route_tables(ctx, vpc_id),
        nat_gateways(ctx, vpc_id),
        endpoints(ctx, vpc_id),
        network_acls(ctx, vpc_id),
    );
    let mut cidr_blocks: Vec<String> = v
        .as_ref()
        .map(|v| {
            v.cidr_block_association_set()
                .iter()
                .filter_map(|a| a.cidr_block().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if let Some(primary) = v.as_ref().and_then(|v| v.cidr_block())
        && !cidr_blocks.iter().any(|c| c == primary)
    {
        cidr_blocks.insert(0, primary.to_string());
    }
    VpcFacts {
        vpc: Vpc {
            id: vpc_id.to_string(),
            cidr_blocks,
            enable_dns_support: dns_support,
            enable_dns_hostnames: dns_hostnames,
            dhcp_options_id: v
                .as_ref()
                .and_then(|v| v.dhcp_options_id())
                .map(str::to_string),
            domain_name_servers: Vec::new(),
        },
        route_tables,
        nat_gateways,
        endpoints,
        network_acls,
    }
}

/// `DescribeVpcs` for one VPC.
async fn describe_vpc(ctx: &Ctx, vpc_id: &str) -> Option<aws_sdk_ec2::types::Vpc> {
    ctx.call();
    match ctx.c.ec2.describe_vpcs().vpc_ids(vpc_id).send().await {
        Ok(o) => o.vpcs().first().cloned(),
        Err(e) => {
            ctx.gap(
                format!("VPC {vpc_id}"),
                "ec2:DescribeVpcs",
                "ec2:DescribeVpcs",
                &e,
            )
            .await;
            None
        }
    }
}

/// `enableDnsSupport` or `enableDnsHostnames` of a VPC.
async fn vpc_attribute(ctx: &Ctx, vpc_id: &str, name: VpcAttributeName) -> Option<bool> {
    ctx.call();
    match ctx
        .c
        .ec2
        .describe_vpc_attribute()
        .vpc_id(vpc_id)
        .attribute(name.clone())
        .send()
        .await
    {
        Ok(o) => match name {
            VpcAttributeName::EnableDnsSupport => o.enable_dns_support().and_then(|a| a.value()),
            _ => o.enable_dns_hostnames().and_then(|a| a.value()),
        },
        Err(e) => {
            ctx.gap(
                format!("{} of VPC {vpc_id}", name.as_str()),
                "ec2:DescribeVpcAttribute",
                "ec2:DescribeVpcAttribute",
                &e,
            )
            .await;
            None
        }
    }
}

/// The VPC endpoints of a VPC.
async fn endpoints(ctx: &Ctx, vpc_id: &str) -> Vec<VpcEndpoint> {
    paginate!(
        ctx,
        ctx.c
            .ec2
            .describe_vpc_endpoints()
            .filters(vpc_filter(vpc_id))
            .into_paginator()
            .send(),
        format!("VPC endpoints of {vpc_id}"),
        "ec2:DescribeVpcEndpoints",
        |p| p.vpc_endpoints().iter().map(|e| {
            VpcEndpoint {
                id: e.vpc_endpoint_id().unwrap_or_default().to_string(),
                vpc_id: e.vpc_id().unwrap_or_default().to_string(),
                service_name: e.service_name().unwrap_or_default().to_string(),
                endpoint_type: e
                    .vpc_endpoint_type()
                    .map(|t| t.as_str().to_string())
                    .unwrap_or_default(),
                state: e
                    .state()
                    .map(|s| s.as_str().to_lowercase())
                    .unwrap_or_default(),
                private_dns_enabled: e.private_dns_enabled().unwrap_or(false),
                subnet_ids: e.subnet_ids().to_vec(),
                security_group_ids: e
                    .groups()
                    .iter()
                    .filter_map(|g| g.group_id().map(str::to_string))
                    .collect(),
                route_table_ids: e.route_table_ids().to_vec(),
                policy_document: e.policy_document().map(str::to_string),
            }
        })
    )
}

/// The domain name servers of each DHCP options set in `ids`.
pub(super) async fn dhcp_options(
    ctx: &Ctx,
    ids: &BTreeSet<String>,
) -> BTreeMap<String, Vec<String>> {
    if ids.is_empty() {
        return BTreeMap::new();
    }
    paginate!(
        ctx,
        ctx.c
            .ec2
            .describe_dhcp_options()
            .set_dhcp_options_ids(Some(ids.iter().cloned().collect()))
            .into_paginator()
            .send(),
        "DHCP options",
        "ec2:DescribeDhcpOptions",
        |p| p.dhcp_options().iter().map(|d| {
            let servers: Vec<String> = d
                .dhcp_configurations()
                .iter()
                .filter(|c| c.key() == Some("domain-name-servers"))
                .flat_map(|c| {
                    c.values()
                        .iter()
                        .filter_map(|v| v.value().map(str::to_string))
                })
                .collect();
            (d.dhcp_options_id().unwrap_or_default().to_string(), servers)
        }),
    )
    .into_iter()
    .collect()
}
