//! The path diagram of the network section: how a task's subnets reach the
//! AWS services it needs (subnet → route table → VPC endpoint, NAT gateway or
//! internet gateway → service), with the broken hops marked and labelled with
//! the rules that found them. `network::paths` builds it from the snapshot
//! and the findings (pure); this module holds the model and its two
//! renderings: a Mermaid flowchart for markdown and plain text for terminals.
//!
//! Every name in a diagram comes from AWS (ids, tags, task definitions) and is
//! treated as hostile: Mermaid gets generated node ids (`n0`, `n1`, …) and
//! labels reduced to a safe alphabet, every other character written as a
//! Mermaid entity (`#35;`), so nothing can close a label, start a directive,
//! add a link or end the markdown fence.

use std::fmt::Write;

use serde::{Deserialize, Serialize};

/// The most workloads a diagram names; the rest are counted.
pub const MAX_WORKLOADS_NAMED: usize = 5;

/// The longest label, in characters; longer ones are cut with `…`.
pub const MAX_LABEL_CHARS: usize = 80;

/// One distinct network shape and the workloads that share it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathDiagram {
    /// The first [`MAX_WORKLOADS_NAMED`] workloads with this shape.
    pub workloads: Vec<String>,
    /// How many more share it.
    #[serde(default)]
    pub omitted_workloads: usize,
    /// The hops, in the order they were met.
    pub nodes: Vec<PathNode>,
    /// The links between them.
    pub edges: Vec<PathEdge>,
}

/// What a hop is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NodeKind {
    /// A task subnet.
    Subnet,
    /// The subnet's route table.
    RouteTable,
    /// A VPC endpoint (Interface or Gateway).
    Endpoint,
    /// A NAT gateway.
    NatGateway,
    /// An internet gateway.
    InternetGateway,
    /// An egress-only internet gateway (IPv6).
    EgressOnlyInternetGateway,
    /// Something the snapshot cannot see past (transit gateway, peering, …).
    Other,
    /// The AWS service the task needs (`ecr.api`, `s3`, `logs`, …).
    Service,
}

/// One hop.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PathNode {
    /// What it is.
    pub kind: NodeKind,
    /// Its id or name, as AWS gives it (escaped when rendered).
    pub label: String,
}

/// A link between two hops (indexes into [`PathDiagram::nodes`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PathEdge {
    /// From.
    pub from: usize,
    /// To.
    pub to: usize,
    /// What the link is (`0.0.0.0/0`, `pl-…`, `private DNS`), when worth saying.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The rules whose findings break this link; empty when it works.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub broken_by: Vec<String>,
    /// Why the link is broken when no finding names it (no endpoint, no route).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing: Option<String>,
}

impl PathEdge {
    /// Whether the link does not carry the task's traffic.
    pub fn is_broken(&self) -> bool {
        !self.broken_by.is_empty() || self.missing.is_some()
    }

    /// The text on the link: the broken mark with its rules, else the label.
    fn text(&self) -> Option<String> {
        if self.is_broken() {
            let mut why: Vec<String> = self.broken_by.clone();
            if why.is_empty() {
                why.extend(self.missing.clone());
            }
            Some(format!("✗ {}", why.join(", ")))
        } else {
            self.label.clone()
        }
    }
}

impl PathDiagram {
    /// "web, api and 98 more".
    pub fn who(&self) -> String {
        let mut who = self.workloads.join(", ");
        if self.omitted_workloads > 0 {
            let _ = write!(who, " and {} more", self.omitted_workloads);
        }
        who
    }

    /// How many workloads share the shape.
    pub fn workload_count(&self) -> usize {
        self.workloads.len() + self.omitted_workloads
    }
}

/// `text` cut to [`MAX_LABEL_CHARS`].
fn cut(text: &str) -> String {
    if text.chars().count() <= MAX_LABEL_CHARS {
        return text.to_string();
    }
    let mut out: String = text.chars().take(MAX_LABEL_CHARS - 1).collect();
    out.push('…');
    out
}

/// A label Mermaid shows as written and cannot read as syntax: letters,
/// digits, blanks and `.,:/_+=@()-` are kept; every other character
/// (quotes, brackets, pipes, `#`, `;`, `<`, backticks, newlines, non-ASCII)
/// becomes its decimal entity `#NNN;`, which Mermaid decodes for display.
pub fn mermaid_label(text: &str) -> String {
    let mut out = String::new();
    for c in cut(text).chars() {
        if c.is_ascii_alphanumeric() || " .,:/_+=@()-".contains(c) {
            out.push(c);
        } else if c.is_control() {
            out.push(' ');
        } else {
            let _ = write!(out, "#{};", c as u32);
        }
    }
    out
}

/// The node's Mermaid declaration: a shape per kind around the escaped label.
fn mermaid_node(id: usize, node: &PathNode) -> String {
    let label = mermaid_label(&node.label);
    let (open, close) = match node.kind {
        NodeKind::Subnet => ("[\"", "\"]"),
        NodeKind::RouteTable => ("[/\"", "\"/]"),
        NodeKind::Endpoint => ("[[\"", "\"]]"),
        NodeKind::NatGateway | NodeKind::InternetGateway | NodeKind::EgressOnlyInternetGateway => {
            ("{{\"", "\"}}")
        }
        NodeKind::Other => ("[\\\"", "\"\\]"),
        NodeKind::Service => ("([\"", "\"])"),
    };
    format!("  n{id}{open}{label}{close}")
}

/// The diagram as a Mermaid flowchart (without the markdown fence): left to
/// right, broken links dotted and red with their rules on them, services
/// whose every incoming link is broken drawn red.
pub fn mermaid(diagram: &PathDiagram) -> String {
    let mut out = String::from("flowchart LR\n");
    for (i, node) in diagram.nodes.iter().enumerate() {
        out.push_str(&mermaid_node(i, node));
        out.push('\n');
    }
    let mut broken_links = Vec::new();
    for (i, edge) in diagram.edges.iter().enumerate() {
        let arrow = if edge.is_broken() { "-.->" } else { "-->" };
        match edge.text() {
            Some(text) => {
                let _ = writeln!(
                    out,
                    "  n{} {arrow}|\"{}\"| n{}",
                    edge.from,
                    mermaid_label(&text),
                    edge.to
                );
            }
            None => {
                let _ = writeln!(out, "  n{} {arrow} n{}", edge.from, edge.to);
            }
        }
        if edge.is_broken() {
            broken_links.push(i.to_string());
        }
    }
    if !broken_links.is_empty() {
        let _ = writeln!(
            out,
            "  linkStyle {} stroke:#d1242f,stroke-width:2px,color:#d1242f",
            broken_links.join(",")
        );
    }
    let unreached: Vec<String> = unreached_services(diagram)
        .into_iter()
        .map(|i| format!("n{i}"))
        .collect();
    if !unreached.is_empty() {
        out.push_str("  classDef broken fill:#ffebe9,stroke:#d1242f,color:#82071e\n");
        let _ = writeln!(out, "  class {} broken", unreached.join(","));
    }
    out
}

/// Services every incoming link of which is broken.
fn unreached_services(diagram: &PathDiagram) -> Vec<usize> {
    (0..diagram.nodes.len())
        .filter(|&i| diagram.nodes[i].kind == NodeKind::Service)
        .filter(|&i| {
            let mut incoming = diagram.edges.iter().filter(|e| e.to == i).peekable();
            incoming.peek().is_some() && incoming.all(PathEdge::is_broken)
        })
        .collect()
}

/// The diagram as indented plain text for the terminal report: one line per
/// link from each subnet onwards, broken links marked `✗` with their rules.
/// Names are shown as given; the console makes them inert.
pub fn text(diagram: &PathDiagram, indent: &str) -> String {
    let mut out = String::new();
    let subnets = diagram
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.kind == NodeKind::Subnet);
    for (i, subnet) in subnets {
        let _ = writeln!(out, "{indent}{}", one_line(&subnet.label));
        walk(diagram, i, 1, indent, &mut out, &mut vec![i]);
    }
    out
}

fn walk(
    diagram: &PathDiagram,
    from: usize,
    depth: usize,
    indent: &str,
    out: &mut String,
    seen: &mut Vec<usize>,
) {
    for edge in diagram.edges.iter().filter(|e| e.from == from) {
        if seen.contains(&edge.to) {
            continue;
        }
        let mark = if edge.is_broken() { "✗" } else { "→" };
        let on = edge
            .text()
            .map(|t| format!(" [{}]", one_line(&t)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{indent}{}{mark} {}{on}",
            "  ".repeat(depth),
            one_line(&diagram.nodes[edge.to].label)
        );
        seen.push(edge.to);
        walk(diagram, edge.to, depth + 1, indent, out, seen);
        seen.pop();
    }
}

/// A label on one line, cut to [`MAX_LABEL_CHARS`].
fn one_line(text: &str) -> String {
    cut(text)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diagram() -> PathDiagram {
        let node = |kind, label: &str| PathNode {
            kind,
            label: label.into(),
        };
        PathDiagram {
            workloads: vec!["web".into()],
            omitted_workloads: 2,
            nodes: vec![
                node(NodeKind::Subnet, "subnet-a (us-east-1a)"),
                node(NodeKind::RouteTable, "rtb-1"),
                node(NodeKind::Endpoint, "vpce-1 ecr.dkr"),
                node(NodeKind::Service, "ecr.dkr"),
                node(NodeKind::Service, "ecr.api"),
            ],
            edges: vec![
                PathEdge {
                    from: 0,
                    to: 1,
                    label: None,
                    broken_by: vec![],
                    missing: None,
                },
                PathEdge {
                    from: 1,
                    to: 2,
                    label: Some("local".into()),
                    broken_by: vec![],
                    missing: None,
                },
                PathEdge {
                    from: 2,
                    to: 3,
                    label: None,
                    broken_by: vec![],
                    missing: None,
                },
                PathEdge {
                    from: 1,
                    to: 4,
                    label: None,
                    broken_by: vec!["network/endpoint-missing".into()],
                    missing: None,
                },
            ],
        }
    }

    #[test]
    fn mermaid_marks_broken_links_and_unreached_services() {
        let m = mermaid(&diagram());
        assert!(m.starts_with("flowchart LR\n"), "{m}");
        assert!(m.contains("  n1 --> n2") || m.contains("  n1 -->|\"local\"| n2"));
        assert!(
            m.contains("  n1 -.->|\"#10007; network/endpoint-missing\"| n4"),
            "{m}"
        );
        assert!(m.contains("linkStyle 3 "), "{m}");
        assert!(m.contains("class n4 broken"), "{m}");
        assert!(!m.contains("class n3"), "{m}");
    }

    #[test]
    fn hostile_names_cannot_escape_their_label() {
        let hostile = "x\"] --> evil[\"y`|#;<script>\n```\n%%{init: {}}%%";
        let label = mermaid_label(hostile);
        for bad in ['"', '[', ']', '`', '|', '<', '>', '\n', '{', '}', '%'] {
            assert!(!label.contains(bad), "{bad:?} survived in {label}");
        }
        // Every `#` starts an entity and every entity ends with `;`.
        assert!(label.contains("#34;") && label.contains("#35;"), "{label}");
        let long = "a".repeat(500);
        assert_eq!(
            mermaid_label(&long).chars().count(),
            MAX_LABEL_CHARS - 1 + "#8230;".len()
        );
    }

    #[test]
    fn text_walks_from_each_subnet() {
        let t = text(&diagram(), "  ");
        assert_eq!(
            t,
            "  subnet-a (us-east-1a)\n    → rtb-1\n      → vpce-1 ecr.dkr [local]\n        → ecr.dkr\n      ✗ ecr.api [✗ network/endpoint-missing]\n"
        );
        assert_eq!(diagram().who(), "web and 2 more");
    }
}
