//! EC2 security groups (with their rules), a VPC's default group, and the
//! managed prefix lists that rules and routes refer to.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_ec2::types::{Filter, ManagedPrefixList};
use futures_util::future::join_all;

use super::{Ctx, vpc_filter};
use crate::network::snapshot::{PrefixList, SecurityGroup, SecurityGroupRule};

/// The security groups `ids`, with their ingress and egress rules.
pub(super) async fn security_groups(
    ctx: &Ctx,
    ids: &BTreeSet<String>,
) -> BTreeMap<String, SecurityGroup> {
    let mut out: BTreeMap<String, SecurityGroup> = BTreeMap::new();
    if ids.is_empty() {
        return out;
    }
    let list: Vec<String> = ids.iter().cloned().collect();
    let groups = async {
        paginate!(
            ctx,
            ctx.c
                .ec2
                .describe_security_groups()
                .set_group_ids(Some(list.clone()))
                .into_paginator()
                .send(),
            format!("security groups {}", list.join(", ")),
            "ec2:DescribeSecurityGroups",
            |p| p.security_groups().iter().map(|g| SecurityGroup {
                id: g.group_id().unwrap_or_default().to_string(),
                vpc_id: g.vpc_id().unwrap_or_default().to_string(),
                name: g.group_name().unwrap_or_default().to_string(),
                ingress: Vec::new(),
                egress: Vec::new(),
            })
        )
    };
    let rules = async {
        paginate!(
            ctx,
            ctx.c
                .ec2
                .describe_security_group_rules()
                .filters(
                    Filter::builder()
                        .name("group-id")
                        .set_values(Some(list.clone()))
                        .build(),
                )
                .into_paginator()
                .send(),
            format!("rules of security groups {}", list.join(", ")),
            "ec2:DescribeSecurityGroupRules",
            |p| p.security_group_rules().iter().cloned()
        )
    };
    let (groups, rules) = tokio::join!(groups, rules);
    for g in groups {
        out.insert(g.id.clone(), g);
    }
    for r in rules {
        let Some(group) = r.group_id().and_then(|g| out.get_mut(g)) else {
            continue;
        };
        let rule = SecurityGroupRule {
            id: r.security_group_rule_id().map(str::to_string),
            protocol: r.ip_protocol().unwrap_or("-1").to_string(),
            from_port: r.from_port(),
            to_port: r.to_port(),
            cidr_ipv4: r.cidr_ipv4().map(str::to_string),
            cidr_ipv6: r.cidr_ipv6().map(str::to_string),
            prefix_list_id: r.prefix_list_id().map(str::to_string),
            referenced_group_id: r
                .referenced_group_info()
                .and_then(|g| g.group_id())
                .map(str::to_string),
        };
        if r.is_egress() == Some(true) {
            group.egress.push(rule);
        } else {
            group.ingress.push(rule);
        }
    }
    out
}

/// The id of a VPC's `default` security group.
pub(super) async fn default_security_group(ctx: &Ctx, vpc_id: &str) -> Option<(String, String)> {
    ctx.call();
    let result = ctx
        .c
        .ec2
        .describe_security_groups()
        .filters(vpc_filter(vpc_id))
        .filters(
            Filter::builder()
                .name("group-name")
                .values("default")
                .build(),
        )
        .send()
        .await;
    match result {
        Ok(o) => o
            .security_groups()
            .first()
            .and_then(|g| g.group_id())
            .map(|g| (vpc_id.to_string(), g.to_string())),
        Err(e) => {
            ctx.gap(
                format!("the default security group of {vpc_id}"),
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSecurityGroups",
                &e,
            )
            .await;
            None
        }
    }
}

/// The S3 prefix list (`s3_name`) and the prefix lists `ids`, with their entries.
pub(super) async fn prefix_lists(
    ctx: &Ctx,
    s3_name: &str,
    ids: &BTreeSet<String>,
) -> BTreeMap<String, PrefixList> {
    let lists = prefix_list_names(ctx, s3_name, ids).await;
    let entries = join_all(lists.iter().map(|(id, _)| async move {
        paginate!(
            ctx,
            ctx.c
                .ec2
                .get_managed_prefix_list_entries()
                .prefix_list_id(id)
                .into_paginator()
                .send(),
            format!("entries of prefix list {id}"),
            "ec2:GetManagedPrefixListEntries",
            |p| p
                .entries()
                .iter()
                .filter_map(|e| e.cidr().map(str::to_string)),
        )
    }))
    .await;
    lists
        .into_iter()
        .zip(entries)
        .map(|((id, name), entries)| (id.clone(), PrefixList { id, name, entries }))
        .collect()
}

/// The id and name of the S3 prefix list (found by name), then of the lists
/// `ids` that are not it.
async fn prefix_list_names(
    ctx: &Ctx,
    s3_name: &str,
    ids: &BTreeSet<String>,
) -> Vec<(String, String)> {
    let mut lists: Vec<(String, String)> = Vec::new();
    ctx.call();
    let by_name = ctx
        .c
        .ec2
        .describe_managed_prefix_lists()
        .filters(
            Filter::builder()
                .name("prefix-list-name")
                .values(s3_name)
                .build(),
        )
        .send()
        .await;
    match by_name {
        Ok(o) => lists.extend(o.prefix_lists().iter().map(id_and_name)),
        Err(e) => {
            ctx.gap(
                format!("the S3 prefix list {s3_name}"),
                "ec2:DescribeManagedPrefixLists",
                "ec2:DescribeManagedPrefixLists",
                &e,
            )
            .await
        }
    }
    let others: Vec<String> = ids
        .iter()
        .filter(|i| !lists.iter().any(|(id, _)| id == *i))
        .cloned()
        .collect();
    if !others.is_empty() {
        ctx.call();
        match ctx
            .c
            .ec2
            .describe_managed_prefix_lists()
            .set_prefix_list_ids(Some(others.clone()))
            .send()
            .await
        {
            Ok(o) => lists.extend(o.prefix_lists().iter().map(id_and_name)),
            Err(e) => {
                let what = format!("prefix lists {}", others.join(", "));
                ctx.gap(
                    what,
                    "ec2:DescribeManagedPrefixLists",
                    "ec2:DescribeManagedPrefixLists",
                    &e,
                )
                .await
            }
        }
    }
    lists
}

/// A prefix list's id and name.
fn id_and_name(p: &ManagedPrefixList) -> (String, String) {
    (
        p.prefix_list_id().unwrap_or_default().to_string(),
        p.prefix_list_name().unwrap_or_default().to_string(),
    )
}
