//! Network ACLs: inline entries, `aws_network_acl_rule`, associations, and
//! each new VPC's default ACL.

use std::collections::BTreeSet;

use serde_json::Value;

use super::{Mapper, NETWORK_ACLS, SUBNETS, VPCS, join, prefix_text};
use crate::network::snapshot::{NetworkAcl, NetworkAclEntry};
use crate::policy::terraform::index::{Field, Got, Instance, Step, key, vpc_default};

impl<'a, 'p> Mapper<'a, 'p> {
    /// The plan's network ACLs, then the entries and associations that
    /// separate resources add, then each new VPC's default ACL.
    pub(super) fn network_acls(&mut self) {
        self.acls_with_inline_entries();
        self.acl_rules();
        self.acl_associations();
        self.default_network_acls();
    }

    /// `aws_network_acl` and `aws_default_network_acl` with their inline
    /// entries; an ACL whose entries are unknown is left out.
    fn acls_with_inline_entries(&mut self) {
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
    }

    /// `aws_network_acl_rule`: one entry added to an ACL. An entry unknown
    /// until apply leaves its ACL out.
    fn acl_rules(&mut self) {
        let ix = self.ix;
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
    }

    /// `aws_network_acl_association`: a subnet moved to an ACL.
    fn acl_associations(&mut self) {
        let ix = self.ix;
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
