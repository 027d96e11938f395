//! Prefix lists, security groups (inline rules, separate rule resources, each
//! new VPC's default group) and the peers of their rules.

use serde_json::Value;

use super::{Mapper, PREFIX_LISTS, SECURITY_GROUPS, VPCS};
use crate::network::snapshot::{PrefixList, SecurityGroup, SecurityGroupRule};
use crate::policy::terraform::index::{Field, Got, Instance, Step, key, vpc_default};

impl<'a, 'p> Mapper<'a, 'p> {
    /// Managed prefix lists read by data sources, and the S3 prefix list of
    /// each S3 Gateway endpoint (its `prefix_list_id`), so a rule that names
    /// either connects to the same list.
    pub(super) fn prefix_lists(&mut self) {
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

    pub(super) fn security_groups(&mut self) {
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

    /// The default security group of a VPC (known, or the stand-in of a VPC
    /// this plan creates), for resources that do not name one.
    pub(super) fn default_security_group_of(&mut self, inst: &Instance, vpc_id: &str) -> String {
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
    pub(super) fn security_group_rules(&mut self) {
        self.classic_group_rules();
        self.vpc_group_rules();
    }

    /// `aws_security_group_rule`: one rule, any number of peers.
    fn classic_group_rules(&mut self) {
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
    }

    /// `aws_vpc_security_group_ingress_rule` and `…_egress_rule`: one rule, one peer.
    fn vpc_group_rules(&mut self) {
        let ix = self.ix;
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
    pub(super) fn default_security_groups(&mut self) {
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

    pub(super) fn drop_undetermined_groups(&mut self) {
        for group in &self.undetermined_groups {
            self.s.security_groups.remove(group);
        }
    }

    /// A rule that names a prefix list the plan does not describe, while the
    /// S3 prefix list's id is only a stand-in: whether it is the S3 list is
    /// unknown, so the S3 list is left out and the S3 egress rule skips.
    pub(super) fn check_prefix_list_references(&mut self) {
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
