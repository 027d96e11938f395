//! Network ACLs of the task subnets and the endpoint subnets must pass HTTPS
//! and its return traffic (reference rule R10).
//!
//! A network ACL is evaluated per direction, lowest rule number first; the
//! first entry whose protocol, ports and CIDR match decides, per packet. An
//! entry whose CIDR covers only part of a peer's CIDR decides for that part:
//! the peer is split where the entries' CIDRs begin and end.

use std::collections::{BTreeMap, BTreeSet};

use super::util::{self, labels};
use crate::network::facts::{self, isolated_workloads};
use crate::network::snapshot::{NetworkAcl, NetworkSnapshot, cidr_contains};
use crate::report::{Finding, Fix, Severity};
use crate::rules::{Meaning, Rule};

/// A network ACL blocks HTTPS between the tasks and the endpoints or S3.
///
/// ## What it does
/// Evaluates the network ACLs of the isolated task subnets and of the Interface
/// endpoints' subnets, rule by rule as AWS does:
/// - task subnets: outbound TCP 443 and inbound TCP 1024–65535 (the return
///   traffic), to and from each endpoint subnet and each CIDR of the S3 prefix list;
/// - endpoint subnets: inbound TCP 443 and outbound TCP 1024–65535, from and to
///   each task subnet.
///
/// ## Why is this bad?
/// Network ACLs are stateless: the reply to the task's HTTPS request needs its
/// own inbound rule for the ephemeral ports. A missing rule in either direction
/// drops the traffic and the task times out. Network ACLs cannot reference
/// prefix lists, so S3's CIDRs must be allowed one by one (and AWS may add
/// new ones), or `0.0.0.0/0` for these ports.
///
/// When only ports below 32768 are blocked on the return path, the finding is a
/// warning: Linux tasks use ephemeral ports 32768–60999.
///
/// ## How to fix
/// Add allow entries, numbered below the entry that denies the traffic.
pub const RULE: Rule = Rule {
    id: "network/nacl-blocks-443",
    severity: Severity::Error,
    meaning: Meaning::Defect,
    what: "A network ACL of a task subnet or an endpoint subnet blocks TCP 443 or its return traffic on ephemeral ports 1024–65535 (to the endpoints or the S3 CIDRs).",
    why: "Network ACLs are stateless; a missing rule in either direction drops the traffic and the task times out. They cannot reference the S3 prefix list.",
    fix: "Add allow entries for TCP 443 and the ephemeral ports, numbered below the entry that denies them.",
    docs: "https://docs.aws.amazon.com/vpc/latest/userguide/nacl-rules.html",
};

const EPHEMERAL: (i32, i32) = (1024, 65535);
/// Linux's ephemeral port range starts here; blocking only below it is a warning.
const LINUX_EPHEMERAL_FROM: i32 = 32768;

/// A range of addresses, both ends included (IPv4 addresses widened to `u128`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Addresses {
    /// First address.
    pub first: u128,
    /// Last address.
    pub last: u128,
    /// IPv4 (true) or IPv6.
    pub v4: bool,
}

impl Addresses {
    /// The addresses of a CIDR, `None` when it does not parse.
    fn of(cidr: &str) -> Option<Addresses> {
        match cidr.parse::<ipnet::IpNet>().ok()? {
            ipnet::IpNet::V4(n) => Some(Addresses {
                first: u32::from(n.network()).into(),
                last: u32::from(n.broadcast()).into(),
                v4: true,
            }),
            ipnet::IpNet::V6(n) => Some(Addresses {
                first: u128::from(n.network()),
                last: u128::from(n.broadcast()),
                v4: false,
            }),
        }
    }

    fn contains(&self, other: &Addresses) -> bool {
        self.v4 == other.v4 && self.first <= other.first && other.last <= self.last
    }

    fn overlaps(&self, other: &Addresses) -> bool {
        self.v4 == other.v4 && self.first <= other.last && other.first <= self.last
    }

    fn address(&self, a: u128) -> String {
        if self.v4 {
            std::net::Ipv4Addr::from(u32::try_from(a).unwrap_or(u32::MAX)).to_string()
        } else {
            std::net::Ipv6Addr::from(a).to_string()
        }
    }
}

impl std::fmt::Display for Addresses {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}–{}",
            self.address(self.first),
            self.address(self.last)
        )
    }
}

/// A port range of one direction that is not allowed, and the entry that decided it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Blocked {
    /// First port.
    pub from: i32,
    /// Last port.
    pub to: i32,
    /// The deny entry's rule number, `None` when no entry matched (implicit deny).
    pub rule: Option<i32>,
    /// The part of the peer it applies to, when an entry covers only part of
    /// the peer's CIDR; `None` when it applies to all of it.
    pub part: Option<Addresses>,
}

/// The ports of `from..=to` that `acl` does not allow for TCP to or from `peer`
/// in one direction. AWS decides per packet, so an entry whose CIDR covers
/// only part of the peer decides for that part: the peer is split where the
/// entries' CIDRs begin and end, each part evaluated on its own.
pub(crate) fn evaluate(
    acl: &NetworkAcl,
    egress: bool,
    peer: &str,
    from: i32,
    to: i32,
) -> Vec<Blocked> {
    let mut entries: Vec<(&crate::network::snapshot::NetworkAclEntry, Addresses)> = acl
        .entries
        .iter()
        .filter(|e| e.egress == egress)
        .filter(|e| {
            let all = e.protocol == "-1" || e.protocol.eq_ignore_ascii_case("all");
            all || e.protocol == "6" || e.protocol.eq_ignore_ascii_case("tcp")
        })
        .filter_map(|e| Some((e, Addresses::of(e.cidr_block.as_deref()?)?)))
        .collect();
    entries.sort_by_key(|(e, _)| e.rule_number);
    let Some(whole) = Addresses::of(peer) else {
        // Nothing matches what is not an address: the default deny.
        return vec![Blocked {
            from,
            to,
            rule: None,
            part: None,
        }];
    };
    let mut cuts = vec![whole.first];
    for (_, a) in &entries {
        if a.overlaps(&whole) && !a.contains(&whole) {
            cuts.push(a.first.max(whole.first));
            if a.last < whole.last {
                cuts.push(a.last + 1);
            }
        }
    }
    cuts.sort_unstable();
    cuts.dedup();
    // Neighbouring parts with the same outcome are reported as one.
    let mut parts: Vec<(Addresses, Vec<Blocked>)> = Vec::new();
    for (i, &first) in cuts.iter().enumerate() {
        let last = cuts.get(i + 1).map_or(whole.last, |next| next - 1);
        let part = Addresses {
            first,
            last,
            v4: whole.v4,
        };
        let blocked = evaluate_part(&entries, &part, from, to);
        match parts.last_mut() {
            Some((p, b)) if *b == blocked => p.last = last,
            _ => parts.push((part, blocked)),
        }
    }
    let split = parts.len() > 1;
    let mut out: Vec<Blocked> = parts
        .into_iter()
        .flat_map(|(part, blocked)| {
            blocked.into_iter().map(move |b| Blocked {
                part: split.then_some(part),
                ..b
            })
        })
        .collect();
    out.sort();
    out
}

/// [`evaluate`] for addresses every entry either contains or leaves out.
fn evaluate_part(
    entries: &[(&crate::network::snapshot::NetworkAclEntry, Addresses)],
    part: &Addresses,
    from: i32,
    to: i32,
) -> Vec<Blocked> {
    let mut remaining = vec![(from, to)];
    let mut blocked = Vec::new();
    for (e, addresses) in entries {
        if remaining.is_empty() {
            break;
        }
        if !addresses.contains(part) {
            continue;
        }
        let all = e.protocol == "-1" || e.protocol.eq_ignore_ascii_case("all");
        let (pf, pt) = if all {
            (0, 65535)
        } else {
            (e.port_from.unwrap_or(0), e.port_to.unwrap_or(65535))
        };
        let mut next = Vec::new();
        for (a, b) in remaining {
            let (lo, hi) = (a.max(pf), b.min(pt));
            if lo > hi {
                next.push((a, b));
                continue;
            }
            if !e.allow {
                blocked.push(Blocked {
                    from: lo,
                    to: hi,
                    rule: Some(e.rule_number),
                    part: None,
                });
            }
            if a < lo {
                next.push((a, lo - 1));
            }
            if hi < b {
                next.push((hi + 1, b));
            }
        }
        remaining = next;
    }
    blocked.extend(remaining.into_iter().map(|(a, b)| Blocked {
        from: a,
        to: b,
        rule: None,
        part: None,
    }));
    blocked.sort();
    blocked
}

/// One direction, port range and peer that an ACL must allow.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Need {
    egress: bool,
    from: i32,
    to: i32,
    /// What the peer is, for the message.
    about: String,
    /// The CIDR the fix allows (the VPC CIDR for peers inside the VPC).
    fix_cidr: String,
    /// The endpoint service the traffic is for.
    service: &'static str,
}

#[derive(Default)]
struct Group {
    subnets: BTreeSet<String>,
    workloads: BTreeSet<String>,
    workload_resources: BTreeSet<String>,
    /// Need → peer → blocked ranges.
    problems: BTreeMap<Need, BTreeMap<String, Vec<Blocked>>>,
}

/// The findings of `network/nacl-blocks-443`.
pub fn check(snapshot: &NetworkSnapshot) -> Vec<Finding> {
    let s = snapshot;
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    let mut record =
        |acl: &NetworkAcl, subnet: &str, label: &str, resource: &str, need: Need, peer: &str| {
            let blocked = evaluate(acl, need.egress, peer, need.from, need.to);
            if blocked.is_empty() {
                return;
            }
            let g = groups.entry(acl.id.clone()).or_default();
            g.subnets.insert(subnet.to_string());
            g.workloads.insert(label.to_string());
            g.workload_resources.insert(resource.to_string());
            g.problems
                .entry(need)
                .or_default()
                .insert(peer.to_string(), blocked);
        };
    for iw in isolated_workloads(s) {
        let label = iw.label();
        let resource = facts::workload_resource(s, iw.workload);
        let vpc_cidrs: Vec<String> = s
            .vpcs
            .get(iw.vpc_id)
            .map(|v| v.cidr_blocks.clone())
            .unwrap_or_default();
        let in_vpc = |cidr: &str| {
            vpc_cidrs
                .iter()
                .find(|v| cidr_contains(v, cidr))
                .cloned()
                .unwrap_or_else(|| cidr.to_string())
        };
        // Peers on the task side: the endpoints' subnets, and S3's CIDRs.
        let mut peers: Vec<(String, String, String, &'static str)> = Vec::new();
        for (req, e) in iw.interface_endpoints(s) {
            let about = format!("Interface endpoint `{}` (`{}`)", e.id, req.service);
            let cidrs: Vec<String> = e
                .subnet_ids
                .iter()
                .filter_map(|id| s.subnets.get(id).and_then(|x| x.cidr_block.clone()))
                .collect();
            let cidrs = if cidrs.is_empty() {
                vpc_cidrs.clone()
            } else {
                cidrs
            };
            for cidr in cidrs {
                peers.push((cidr.clone(), about.clone(), in_vpc(&cidr), req.service));
            }
            // The endpoint's side: its subnets' ACLs must let the tasks in and the replies out.
            for endpoint_subnet in &e.subnet_ids {
                let Some(acl) = s.network_acl_of(endpoint_subnet) else {
                    continue;
                };
                for task_subnet in &iw.subnets {
                    let Some(cidr) = &task_subnet.cidr_block else {
                        continue;
                    };
                    let about = format!(
                        "tasks in `{}`, to endpoint `{}` (`{}`)",
                        task_subnet.id, e.id, req.service
                    );
                    for (egress, (from, to)) in [(false, (443, 443)), (true, EPHEMERAL)] {
                        let need = Need {
                            egress,
                            from,
                            to,
                            about: about.clone(),
                            fix_cidr: in_vpc(cidr),
                            service: req.service,
                        };
                        record(acl, endpoint_subnet, &label, &resource, need, cidr);
                    }
                }
            }
        }
        if iw.requirement("s3").is_some()
            && let Some(pl) = s.s3_prefix_list()
        {
            for cidr in &pl.entries {
                peers.push((
                    cidr.clone(),
                    format!("S3, prefix list `{}`", pl.id),
                    cidr.clone(),
                    "s3",
                ));
            }
        }
        for task_subnet in &iw.subnets {
            let Some(acl) = s.network_acl_of(&task_subnet.id) else {
                continue;
            };
            for (peer, about, fix_cidr, service) in &peers {
                for (egress, (from, to)) in [(true, (443, 443)), (false, EPHEMERAL)] {
                    let need = Need {
                        egress,
                        from,
                        to,
                        about: about.clone(),
                        fix_cidr: fix_cidr.clone(),
                        service,
                    };
                    record(acl, &task_subnet.id, &label, &resource, need, peer);
                }
            }
        }
    }
    groups
        .into_iter()
        .map(|(id, g)| finding(s, &id, g))
        .collect()
}

fn ports(from: i32, to: i32) -> String {
    if from == to {
        from.to_string()
    } else {
        format!("{from}–{to}")
    }
}

fn describe(blocked: &[Blocked], from: i32, to: i32) -> String {
    let parts: Vec<String> = blocked
        .iter()
        .map(|b| {
            let mut range = if (b.from, b.to) == (from, to) {
                String::new()
            } else {
                format!("ports {} ", ports(b.from, b.to))
            };
            if let Some(part) = b.part {
                range = format!("{range}for addresses {part} ");
            }
            match b.rule {
                Some(32767) | None => format!("{range}match no allow entry (default deny)"),
                Some(n) => format!("{range}denied by entry {n}"),
            }
        })
        .collect();
    util::and_list(&parts)
}

fn severity_of(need: &Need, blocked: &[Blocked]) -> Severity {
    if need.from == 443 || blocked.iter().any(|b| b.to >= LINUX_EPHEMERAL_FROM) {
        Severity::Error
    } else {
        Severity::Warning
    }
}

/// A line of the message: direction, ports, what (peers or purposes), and the outcome.
type LineKey<T> = (bool, i32, i32, T, Vec<Blocked>);

fn finding(s: &NetworkSnapshot, id: &str, g: Group) -> Finding {
    let acl = s.network_acls.get(id).expect("grouped by known ACLs");
    let mut severity = Severity::Warning;
    let mut lines = Vec::new();
    let mut services = BTreeSet::new();
    let mut s3 = false;
    // Fix entries: (egress, cidr, from, to) → the rule number it must stay below.
    let mut fixes: BTreeMap<(bool, String, i32, i32), i32> = BTreeMap::new();
    // Peers blocked the same way for the same purpose share one line.
    let mut same: BTreeMap<LineKey<&str>, Vec<&str>> = BTreeMap::new();
    for (need, peers) in &g.problems {
        for (peer, blocked) in peers {
            severity = severity.max(severity_of(need, blocked));
            same.entry((
                need.egress,
                need.from,
                need.to,
                need.about.as_str(),
                blocked.clone(),
            ))
            .or_default()
            .push(peer);
            let bound = blocked.iter().filter_map(|b| b.rule).min().unwrap_or(32767);
            let e = fixes
                .entry((need.egress, need.fix_cidr.clone(), need.from, need.to))
                .or_insert(bound);
            *e = (*e).min(bound);
        }
        services.insert(need.service);
        s3 |= need.service == "s3";
    }
    // Then purposes with the same peers and outcome share one line too.
    let mut merged: BTreeMap<LineKey<Vec<String>>, Vec<&str>> = BTreeMap::new();
    for ((egress, from, to, about, blocked), mut peers) in same {
        peers.sort_by_key(|p| (p.parse::<ipnet::IpNet>().ok(), p.to_string()));
        peers.dedup();
        let peers: Vec<String> = peers.into_iter().map(str::to_string).collect();
        merged
            .entry((egress, from, to, peers, blocked))
            .or_default()
            .push(about);
    }
    for ((egress, from, to, peers, blocked), abouts) in merged {
        let abouts: Vec<String> = abouts.into_iter().map(str::to_string).collect();
        lines.push(format!(
            "{} TCP {} {} {} — {}: {}",
            if egress { "outbound" } else { "inbound" },
            ports(from, to),
            if egress { "to" } else { "from" },
            util::and_list(&peers),
            util::and_list(&abouts),
            describe(&blocked, from, to)
        ));
    }
    let note = if s3 {
        " Network ACLs cannot reference the S3 prefix list: allow its CIDRs one by one (AWS may add new ones), or `0.0.0.0/0` for these ports."
    } else {
        ""
    };
    let message = format!(
        "Network ACL `{id}` (subnet{} {}) drops traffic that isolated tasks of {} need. Network ACLs are stateless: the reply to each HTTPS request needs its own rule for the ephemeral ports 1024–65535. Blocked:\n- {}\nThe task times out.{note}",
        if g.subnets.len() == 1 { "" } else { "s" },
        util::code_list(&g.subnets),
        labels(&g.workloads),
        lines.join("\n- ")
    );

    // Number each new entry below the one that denies the traffic, avoiding numbers in use.
    let mut used: BTreeSet<(bool, i32)> = acl
        .entries
        .iter()
        .map(|e| (e.egress, e.rule_number))
        .collect();
    let mut terraform = Vec::new();
    let mut cli = Vec::new();
    for ((egress, cidr, from, to), bound) in &fixes {
        let number = if *bound >= 32767 {
            (1..=327)
                .map(|k| k * 100)
                .find(|n| !used.contains(&(*egress, *n)))
        } else {
            (1..*bound).rev().find(|n| !used.contains(&(*egress, *n)))
        };
        let number_text = match number {
            Some(n) => {
                used.insert((*egress, n));
                n.to_string()
            }
            None => format!("<a free number below {bound}>"),
        };
        let direction = if *egress { "egress" } else { "ingress" };
        terraform.push(format!(
            "resource \"aws_network_acl_rule\" \"{}_{direction}_{}_{}\" {{\n  network_acl_id = \"{id}\"\n  rule_number    = {number_text}\n  egress         = {egress}\n  protocol       = \"tcp\"\n  rule_action    = \"allow\"\n  cidr_block     = \"{cidr}\"\n  from_port      = {from}\n  to_port        = {to}\n}}",
            util::tf_name(id),
            from,
            util::tf_name(cidr)
        ));
        cli.push(format!(
            "aws ec2 create-network-acl-entry --network-acl-id {id} --{direction} --rule-number {number_text} --protocol tcp --port-range From={from},To={to} --cidr-block {cidr} --rule-action allow --region {}",
            s.region
        ));
    }
    let mut resources = vec![id.to_string()];
    resources.extend(g.subnets.iter().cloned());
    resources.extend(g.workload_resources);
    let mut f = RULE
        .finding(format!("Network ACL {id} blocks HTTPS for the tasks"), message)
        .with_severity(severity)
        .with_resources(resources)
        .with_fix(Fix {
            description: format!(
                "Add these allow entries to `{id}`, each numbered below the entry that denies the traffic."
            ),
            policy_statement: None,
            terraform: Some(terraform.join("\n\n")),
            aws_cli: Some(cli.join("\n")),
        });
    if services.len() == 1 {
        f.endpoint_service = services.iter().next().map(|x| s.service_name(x));
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::rules::fixture::{self, acl_entry};

    fn acl(s: &mut NetworkSnapshot) -> &mut NetworkAcl {
        s.network_acls.get_mut("acl-default").unwrap()
    }

    #[test]
    fn default_acl_allows_everything() {
        assert!(check(&fixture::snapshot()).is_empty());
    }

    #[test]
    fn first_match_wins_per_port_range() {
        let a = NetworkAcl {
            entries: vec![
                acl_entry(100, false, "6", true, "0.0.0.0/0", Some((32768, 65535))),
                acl_entry(200, false, "-1", false, "10.0.0.0/8", None),
                acl_entry(300, false, "6", true, "0.0.0.0/0", Some((1024, 65535))),
                acl_entry(32767, false, "-1", false, "0.0.0.0/0", None),
            ],
            ..NetworkAcl::default()
        };
        assert_eq!(
            evaluate(&a, false, "10.0.1.0/24", 1024, 65535),
            vec![Blocked {
                from: 1024,
                to: 32767,
                rule: Some(200),
                part: None,
            }]
        );
        assert!(evaluate(&a, false, "52.216.0.0/15", 1024, 65535).is_empty());
        // Outbound has no entries at all: everything is an implicit deny.
        assert_eq!(
            evaluate(&a, true, "10.0.1.0/24", 443, 443),
            vec![Blocked {
                from: 443,
                to: 443,
                rule: None,
                part: None,
            }]
        );
    }

    #[test]
    fn udp_does_not_match() {
        let a = NetworkAcl {
            entries: vec![
                acl_entry(50, true, "17", false, "0.0.0.0/0", Some((443, 443))),
                acl_entry(100, true, "6", true, "10.0.0.0/16", Some((443, 443))),
            ],
            ..NetworkAcl::default()
        };
        assert!(evaluate(&a, true, "10.0.1.0/24", 443, 443).is_empty());
    }

    #[test]
    fn a_deny_entry_over_part_of_a_peer_blocks_that_part() {
        let a = NetworkAcl {
            entries: vec![
                acl_entry(60, true, "6", false, "10.0.1.0/25", Some((443, 443))),
                acl_entry(100, true, "6", true, "10.0.0.0/16", Some((443, 443))),
            ],
            ..NetworkAcl::default()
        };
        let blocked = evaluate(&a, true, "10.0.1.0/24", 443, 443);
        assert_eq!(blocked.len(), 1, "{blocked:?}");
        assert_eq!(blocked[0].rule, Some(60));
        assert_eq!(blocked[0].part.unwrap().to_string(), "10.0.1.0–10.0.1.127");
        // An allow entry over part of the peer leaves the rest to later entries.
        let b = NetworkAcl {
            entries: vec![
                acl_entry(100, true, "6", true, "52.216.0.0/16", Some((443, 443))),
                acl_entry(32767, true, "-1", false, "0.0.0.0/0", None),
            ],
            ..NetworkAcl::default()
        };
        let blocked = evaluate(&b, true, "52.216.0.0/15", 443, 443);
        assert_eq!(blocked.len(), 1, "{blocked:?}");
        assert_eq!(blocked[0].rule, Some(32767));
        assert_eq!(
            blocked[0].part.unwrap().to_string(),
            "52.217.0.0–52.217.255.255"
        );
        // Entries that cover the whole peer still decide for all of it.
        assert_eq!(evaluate(&b, true, "52.216.4.0/24", 443, 443), vec![]);
    }

    #[test]
    fn a_partial_deny_of_the_s3_ranges_is_reported_with_its_addresses() {
        let mut s = fixture::snapshot();
        acl(&mut s).entries = vec![
            acl_entry(50, true, "6", false, "52.216.0.0/16", Some((443, 443))),
            acl_entry(100, true, "-1", true, "0.0.0.0/0", None),
            acl_entry(100, false, "-1", true, "0.0.0.0/0", None),
        ];
        let findings = check(&s);
        fixture::assert_well_formed(&findings);
        assert_eq!(findings.len(), 1, "{findings:#?}");
        assert!(
            findings[0]
                .message
                .contains("for addresses 52.216.0.0–52.216.255.255 denied by entry 50"),
            "{}",
            findings[0].message
        );
    }

    #[test]
    fn outbound_to_s3_missing() {
        let mut s = fixture::snapshot();
        // Typical hardened ACL: HTTPS only inside the VPC.
        acl(&mut s).entries = vec![
            acl_entry(100, true, "6", true, "10.0.0.0/16", Some((443, 443))),
            acl_entry(110, true, "6", true, "10.0.0.0/16", Some((1024, 65535))),
            acl_entry(100, false, "6", true, "10.0.0.0/16", Some((443, 443))),
            acl_entry(110, false, "6", true, "0.0.0.0/0", Some((1024, 65535))),
            acl_entry(32767, true, "-1", false, "0.0.0.0/0", None),
            acl_entry(32767, false, "-1", false, "0.0.0.0/0", None),
        ];
        let findings = check(&s);
        fixture::assert_well_formed(&findings);
        assert_eq!(findings.len(), 1, "{findings:#?}");
        let f = &findings[0];
        assert_eq!(f.severity, Severity::Error);
        assert_eq!(
            f.endpoint_service.as_deref(),
            Some("com.amazonaws.us-east-1.s3")
        );
        assert!(
            f.message
                .contains("Network ACL `acl-default` (subnets `subnet-a` and `subnet-b`)"),
            "{}",
            f.message
        );
        assert!(
            f.message.contains("outbound TCP 443 to 3.5.0.0/19, 16.182.0.0/16, 52.216.0.0/15 and 54.231.0.0/16 — S3, prefix list `pl-63a5400a`: match no allow entry (default deny)"),
            "{}",
            f.message
        );
        assert!(f.message.contains("cannot reference the S3 prefix list"));
        let cli = f.fix.as_ref().unwrap().aws_cli.clone().unwrap();
        assert!(cli.contains("aws ec2 create-network-acl-entry --network-acl-id acl-default --egress --rule-number 200 --protocol tcp --port-range From=443,To=443 --cidr-block 16.182.0.0/16 --rule-action allow --region us-east-1"), "{cli}");
        assert_eq!(cli.lines().count(), 4);
        assert!(
            f.fix
                .as_ref()
                .unwrap()
                .terraform
                .as_ref()
                .unwrap()
                .contains("rule_number    = 300")
        );
    }

    #[test]
    fn deny_entry_in_front_of_the_ephemeral_ports() {
        let mut s = fixture::snapshot();
        acl(&mut s).entries.push(acl_entry(
            50,
            false,
            "6",
            false,
            "0.0.0.0/0",
            Some((1024, 65535)),
        ));
        let findings = check(&s);
        assert_eq!(findings.len(), 1);
        let f = &findings[0];
        assert!(
            f.message
                .contains("inbound TCP 1024–65535 from 10.0.1.0/24 and 10.0.2.0/24"),
            "{}",
            f.message
        );
        assert!(f.message.contains("denied by entry 50"));
        // The fix allows the VPC CIDR once for all endpoint subnets, numbered below 50.
        let cli = f.fix.as_ref().unwrap().aws_cli.clone().unwrap();
        assert!(cli.contains("--ingress --rule-number 49 --protocol tcp --port-range From=1024,To=65535 --cidr-block 10.0.0.0/16"), "{cli}");
        assert!(cli.contains("--ingress --rule-number 48 --protocol tcp --port-range From=1024,To=65535 --cidr-block 16.182.0.0/16"), "{cli}");
    }

    #[test]
    fn only_low_ephemeral_ports_blocked_is_a_warning() {
        let mut s = fixture::snapshot();
        acl(&mut s).entries.push(acl_entry(
            50,
            false,
            "6",
            false,
            "0.0.0.0/0",
            Some((1024, 32767)),
        ));
        let findings = check(&s);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].severity, Severity::Warning);
        assert!(
            findings[0]
                .message
                .contains("ports 1024–32767 denied by entry 50")
        );
    }

    #[test]
    fn endpoint_subnet_acl_must_let_tasks_in() {
        let mut s = fixture::snapshot();
        s.subnets.insert(
            "subnet-endpoints".into(),
            crate::network::snapshot::Subnet {
                id: "subnet-endpoints".into(),
                vpc_id: "vpc-1".into(),
                availability_zone: "us-east-1a".into(),
                cidr_block: Some("10.0.50.0/24".into()),
            },
        );
        fixture::endpoint(&mut s, "vpce-logs").subnet_ids = vec!["subnet-endpoints".into()];
        s.network_acls.insert(
            "acl-endpoints".into(),
            NetworkAcl {
                id: "acl-endpoints".into(),
                vpc_id: "vpc-1".into(),
                subnet_ids: vec!["subnet-endpoints".into()],
                entries: vec![
                    acl_entry(100, false, "6", true, "10.0.1.0/24", Some((443, 443))),
                    acl_entry(100, true, "-1", true, "0.0.0.0/0", None),
                ],
            },
        );
        let findings = check(&s);
        fixture::assert_well_formed(&findings);
        assert_eq!(findings.len(), 1, "{findings:#?}");
        let f = &findings[0];
        assert_eq!(
            f.endpoint_service.as_deref(),
            Some("com.amazonaws.us-east-1.logs")
        );
        assert!(
            f.message
                .contains("Network ACL `acl-endpoints` (subnet `subnet-endpoints`)")
        );
        assert!(f.message.contains("inbound TCP 443 from 10.0.2.0/24 — tasks in `subnet-b`, to endpoint `vpce-logs` (`logs`): match no allow entry"), "{}", f.message);
        assert!(!f.message.contains("10.0.1.0/24"));
    }
}
