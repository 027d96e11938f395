//! EC2 network ACLs.

use super::{Ctx, vpc_filter};
use crate::network::snapshot::{NetworkAcl, NetworkAclEntry};

/// The network ACLs of a VPC, with their subnets and entries.
pub(super) async fn network_acls(ctx: &Ctx, vpc_id: &str) -> Vec<NetworkAcl> {
    paginate!(
        ctx,
        ctx.c
            .ec2
            .describe_network_acls()
            .filters(vpc_filter(vpc_id))
            .into_paginator()
            .send(),
        format!("network ACLs of {vpc_id}"),
        "ec2:DescribeNetworkAcls",
        |p| p.network_acls().iter().map(|n| {
            NetworkAcl {
                id: n.network_acl_id().unwrap_or_default().to_string(),
                vpc_id: n.vpc_id().unwrap_or_default().to_string(),
                subnet_ids: n
                    .associations()
                    .iter()
                    .filter_map(|a| a.subnet_id().map(str::to_string))
                    .collect(),
                entries: n
                    .entries()
                    .iter()
                    .map(|e| NetworkAclEntry {
                        rule_number: e.rule_number().unwrap_or(32767),
                        egress: e.egress().unwrap_or(false),
                        protocol: e.protocol().unwrap_or("-1").to_string(),
                        allow: e.rule_action().is_some_and(|a| a.as_str() == "allow"),
                        cidr_block: e.cidr_block().map(str::to_string),
                        port_from: e.port_range().and_then(|p| p.from()),
                        port_to: e.port_range().and_then(|p| p.to()),
                    })
                    .collect(),
            }
        })
    )
}
