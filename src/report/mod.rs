//! The report: what every check produces and every renderer consumes.
//!
//! Findings and the request trace are plain data. Checks fill them in; the
//! renderers in this module's children turn them into text, JSON, markdown
//! or SARIF.

mod build;
mod json;
mod markdown;
pub mod paths;
pub mod sarif;
pub mod schema;
mod suppressed;
mod text;

pub(crate) use text::trust_line;

use serde::{Deserialize, Serialize};

pub use build::BuildSummary;
pub use json::render as render_json;
pub use markdown::render as render_markdown;
pub use markdown::suppressed as suppressed_markdown;
pub use markdown::{
    escape as escape_markdown, fenced as fenced_code, finding_details, path_diagrams, rule_link,
    safe_url,
};
pub use sarif::{SarifOptions, render_sarif};
pub use suppressed::Suppression;
pub use text::render as render_text;

/// Version of the JSON report's shape. Bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Informational: something was skipped or could not be verified.
    Notice,
    /// Works now, but will break in a common situation.
    Warning,
    /// The push or the task will fail.
    Error,
}

impl Severity {
    /// The lowercase name used in every output format.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Notice => "notice",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// The answer to "will it work?". A check that could not look never passes:
/// `fail` when an error-severity finding is a defect; otherwise
/// `not-verified` when any finding says something could not be checked
/// ([`Meaning::NotVerified`]); otherwise `pass`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Everything the verdict depends on was checked, and no defect is an error.
    Pass,
    /// At least one defect of severity error.
    Fail,
    /// No defect of severity error, but something the verdict depends on
    /// could not be checked (credentials, a registry or API that did not
    /// answer usably, a read or part of the network that was not verified).
    NotVerified,
}

impl Verdict {
    /// The name used in every output format: `pass`, `fail` or `not-verified`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::NotVerified => "not-verified",
        }
    }

    /// The verdict these findings support.
    pub fn of<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> Verdict {
        let mut verdict = Verdict::Pass;
        for f in findings.into_iter().filter(|f| f.suppressed.is_none()) {
            if f.is_not_verified() {
                verdict = Verdict::NotVerified;
            } else if f.severity == Severity::Error {
                return Verdict::Fail;
            }
        }
        verdict
    }
}

/// How to fix a finding: a sentence, and where it applies, the exact policy
/// statement, Terraform and AWS CLI to apply.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Fix {
    /// What to change, in one or two sentences.
    pub description: String,
    /// The minimal IAM policy statement that grants what is missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_statement: Option<serde_json::Value>,
    /// A Terraform snippet that applies the fix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub terraform: Option<String>,
    /// An AWS CLI command that applies the fix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aws_cli: Option<String>,
}

/// One problem found, with everything needed to act on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable rule id, such as `push/access-denied`. See [`crate::rules`].
    pub rule: String,
    /// How bad it is.
    pub severity: Severity,
    /// One line, suitable for a table cell or an annotation title.
    pub title: String,
    /// The whole explanation: what failed, why, and the evidence.
    pub message: String,
    /// The resources involved: ARNs, ids, repository and image references.
    pub resources: Vec<String>,
    /// How many more resources are involved than `resources` lists: a
    /// finding names at most [`MAX_RESOURCES`], so the report's size follows
    /// the problems, not the inventory. 0 (absent from the JSON) when all
    /// are listed.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub omitted_resources: usize,
    /// The IAM action the finding is about, such as `ecr:GetDownloadUrlForLayer`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iam_action: Option<String>,
    /// The VPC endpoint service the finding is about, such as `com.amazonaws.us-east-1.ecr.api`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_service: Option<String>,
    /// How to fix it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<Fix>,
    /// Where to make the change, when the finding comes from a file: a
    /// policy file's statement, or a Terraform resource's declaration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// Where to read more (the AWS documentation; kept a string: see
    /// `docs_links` for the rule's own page too).
    pub docs: String,
    /// Where to read more, our rule page first, then AWS's documentation.
    /// Absent in reports written before rule pages existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub docs_links: Vec<String>,
    /// The ids of the [`Target`]s the finding belongs to, in a report that
    /// covers several (`audit`, `merge`); after a merge, every target it
    /// was found for. Empty (and absent from the JSON) in a `check` report.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
    /// What the finding says about the verdict, from its rule: `defect`
    /// (absent from the JSON) or `not-verified`.
    #[serde(default, skip_serializing_if = "Meaning::is_defect")]
    pub meaning: Meaning,
    /// Set when an `[[ignore]]` entry of the configuration file accepts
    /// the finding: it stays listed but leaves the verdict, the counts by
    /// severity and the exit code. Absent from the JSON otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<Suppression>,
}

/// The most resources one finding lists; the rest are counted in
/// [`Finding::omitted_resources`].
pub const MAX_RESOURCES: usize = 100;

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Finding {
    /// Keeps at most [`MAX_RESOURCES`] resources, without repeats, counting
    /// the rest in [`Finding::omitted_resources`].
    pub fn cap_resources(&mut self) {
        let mut seen = std::collections::HashSet::new();
        let mut kept = Vec::new();
        for r in std::mem::take(&mut self.resources) {
            if seen.contains(&r) {
                continue;
            }
            if kept.len() < MAX_RESOURCES {
                kept.push(r.clone());
            } else {
                self.omitted_resources += 1;
            }
            seen.insert(r);
        }
        self.resources = kept;
    }
}

/// What a rule's findings say about the verdict: that something checked is
/// wrong, or that something could not be checked at all. Each rule has one
/// (`crate::rules::Rule::meaning`); its findings carry it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Meaning {
    /// Something checked is wrong (a policy, the repository, the network):
    /// an error-severity finding makes the verdict `fail`.
    #[default]
    Defect,
    /// The check could not look (no credentials, nothing reachable, an
    /// answer that cannot be trusted): what the finding names was not
    /// verified, so the verdict cannot be `pass`. It is `not-verified`
    /// unless a defect makes it `fail`, whatever the finding's severity.
    NotVerified,
}

impl Meaning {
    /// Whether this is [`Meaning::Defect`] (the JSON leaves it out).
    pub fn is_defect(&self) -> bool {
        *self == Meaning::Defect
    }
}

impl Finding {
    /// Whether the finding says something could not be checked rather than
    /// that something is wrong.
    pub fn is_not_verified(&self) -> bool {
        self.meaning == Meaning::NotVerified
    }
}

/// What kind of resource a [`Target`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    /// An ECR repository (`audit --repositories`, `--repository-prefix`).
    Repository,
    /// An ECS cluster and its services (`audit --cluster`).
    Cluster,
    /// A whole `check` report folded into a merge.
    Check,
}

impl TargetKind {
    /// The lowercase name used in every output format.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Repository => "repository",
            TargetKind::Cluster => "cluster",
            TargetKind::Check => "check",
        }
    }
}

/// One resource a multi-resource report covers, with its own verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Target {
    /// Unique within the report: `<kind>:<account>:<region>:<name>`, as
    /// findings' `targets` name it.
    pub id: String,
    /// What it is.
    pub kind: TargetKind,
    /// Repository name, cluster name, or what a merged `check` covered.
    pub name: String,
    /// Account id, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Region, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The [`Verdict`] of its own findings.
    pub verdict: Verdict,
    /// Counts of its findings by severity.
    pub summary: Counts,
    /// Its push probe or read-only push evaluation, when one ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub push: Option<PushSummary>,
    /// Its network checks, when they ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkSummary>,
}

impl Target {
    /// A target with no findings yet; [`Report::with_targets`] fills in the
    /// verdict and counts.
    pub fn new(
        kind: TargetKind,
        name: impl Into<String>,
        account: Option<String>,
        region: Option<String>,
    ) -> Target {
        let name = name.into();
        Target {
            id: format!(
                "{}:{}:{}:{name}",
                kind.as_str(),
                account.as_deref().unwrap_or(""),
                region.as_deref().unwrap_or("")
            ),
            kind,
            name,
            account,
            region,
            verdict: Verdict::Pass,
            summary: Counts::default(),
            push: None,
            network: None,
        }
    }

    /// How the target is shown to a reader: `repository team/app (123456789012, us-east-1)`.
    pub fn label(&self) -> String {
        let place: Vec<&str> = [self.account.as_deref(), self.region.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        // A merge numbers a target id it sees again; the label must tell them apart too.
        let copy = self
            .id
            .rsplit_once('#')
            .map(|(_, n)| format!(" #{n}"))
            .unwrap_or_default();
        if place.is_empty() {
            format!("{} {}{copy}", self.kind.as_str(), self.name)
        } else {
            format!(
                "{} {} ({}){copy}",
                self.kind.as_str(),
                self.name,
                place.join(", ")
            )
        }
    }
}

/// A place in the user's files.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// File path, as given or relative to the workspace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// 1-based line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// Terraform resource address, for findings from a plan.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

/// One request the check made, in the order it was sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceEntry {
    /// The replayed step (see the request table in the README), such as `blob-exists`.
    pub step: String,
    /// HTTP method, or `API` for an AWS API call made through the SDK.
    pub method: String,
    /// Request path (registry) or `service:Operation` (AWS API).
    pub path: String,
    /// HTTP status, absent when no response arrived.
    pub status: Option<u16>,
    /// The IAM action this request exercises, when it exercises one.
    pub iam_action: Option<String>,
    /// Milliseconds from sending the request to the end of the response.
    pub ms: u64,
    /// Position on its causal chain: 1 for the first round trip of the
    /// probe, n+1 for a request that could only be sent after one at depth n
    /// answered. The largest depth is the number of sequential round trips.
    pub depth: u32,
    /// The platform the request belongs to, for per-platform blobs and manifests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// Why the request failed, in a few words, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The caller identity the checks ran as (`sts:GetCallerIdentity`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Identity {
    /// The caller's ARN, such as `arn:aws:sts::123456789012:assumed-role/deploy/GitHubActions`.
    pub arn: String,
    /// The account id.
    pub account: String,
    /// How the credentials were obtained: `web-identity`, `assume-role` or `default-chain`.
    pub source: String,
}

/// What the push probe did, for the report's `push` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushSummary {
    /// `push` for the full replay, `dry-run` for token and reads only.
    pub mode: String,
    /// Repository name.
    pub repository: String,
    /// Repository ARN.
    pub repository_arn: String,
    /// Registry base URL the requests went to.
    pub registry: String,
    /// The throwaway tag pushed (push mode) or the tag read (dry-run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Platforms replayed.
    pub platforms: Vec<String>,
    /// Digest of the image index the probe's tag points to at the end (after
    /// the tag-move probe, the second index), when it was pushed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index_digest: Option<String>,
    /// Sequential round trips from `GetAuthorizationToken` to the verdict
    /// (credential setup and cleanup excluded).
    pub critical_path_round_trips: u32,
    /// Sequential round trips as measured: the longest chain of requests,
    /// from `GetAuthorizationToken` to the cleanup's read-back, in which each
    /// was sent only after the one before it had been answered (retries and
    /// cleanup included). 0 in reports written before it was added.
    #[serde(default)]
    pub sequential_round_trips: u32,
    /// Requests sent in all, including retries and cleanup.
    pub requests: usize,
    /// Wall time of the probe in milliseconds.
    pub wall_ms: u64,
    /// Whether the probe's image was deleted and a read-back confirmed
    /// nothing of it is left.
    pub cleaned_up: bool,
}

impl PushSummary {
    /// The round trips as the text, Markdown and log lines say them: the
    /// measured chain to the cleanup's read-back, then the depth to the
    /// verdict, e.g. `10 sequential round trips (8 to the verdict)`. A report
    /// written before the measured count existed (0) says only the latter.
    pub fn round_trips(&self) -> String {
        if self.sequential_round_trips == 0 {
            format!(
                "{} sequential round trips to the verdict",
                self.critical_path_round_trips
            )
        } else {
            format!(
                "{} sequential round trips ({} to the verdict)",
                self.sequential_round_trips, self.critical_path_round_trips
            )
        }
    }
}

/// What the network checks looked at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkSummary {
    /// `live` (discovered now) or `snapshot` (`--snapshot FILE`).
    pub source: String,
    /// Region.
    pub region: String,
    /// API calls discovery made (0 for a snapshot).
    pub api_calls: usize,
    /// Wall time of discovery in milliseconds.
    pub wall_ms: u64,
    /// The services and planned tasks checked: the first
    /// [`MAX_WORKLOADS_LISTED`].
    pub workloads: Vec<WorkloadSummary>,
    /// How many more were checked than `workloads` lists (0, absent from the
    /// JSON, when all are), so the report's size does not follow the fleet's.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub omitted_workloads: usize,
    /// The path diagram of each distinct network shape (workloads with the
    /// same subnets, routes, hops and needs draw once): at most
    /// [`MAX_PATH_DIAGRAMS`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<paths::PathDiagram>,
    /// How many more shapes there were than `paths` holds.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub omitted_paths: usize,
}

/// The most path diagrams [`NetworkSummary::paths`] holds.
pub const MAX_PATH_DIAGRAMS: usize = 20;

/// The most workloads [`NetworkSummary::workloads`] lists.
pub const MAX_WORKLOADS_LISTED: usize = 1000;

impl NetworkSummary {
    /// How many workloads were checked, listed or not.
    pub fn workload_count(&self) -> usize {
        self.workloads.len() + self.omitted_workloads
    }
}

/// One service or planned task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkloadSummary {
    /// Service name or task definition.
    pub name: String,
    /// Cluster.
    pub cluster: String,
    /// Whether it runs on Fargate.
    pub fargate: bool,
    /// Platform version.
    pub platform_version: Option<String>,
    /// Its subnets and how each reaches AWS.
    pub subnets: Vec<SubnetSummary>,
}

/// A task subnet and its egress class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubnetSummary {
    /// Subnet id.
    pub id: String,
    /// Availability Zone.
    pub availability_zone: Option<String>,
    /// `public-ip+internet-gateway`, `nat (<id>)`, `isolated` or `unknown (<target>)`.
    pub egress: String,
}

/// What the report shows of the OIDC trust check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrustSummary {
    /// The role to assume.
    pub role: String,
    /// The job's claims, decoded from its token or predicted (`origin` says which).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<crate::trust::claims::Claims>,
    /// Where the trust policy was read (a file, a Terraform address), when it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_policy: Option<String>,
    /// Whether the job can get an OIDC token: `available`, `missing` or `not-in-actions`.
    pub token: crate::trust::facts::TokenAvailability,
}

/// Everything one `check` run found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// See [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// `pass`, `fail` or `not-verified`: see [`Verdict`].
    pub verdict: Verdict,
    /// The tool's name and version.
    pub tool: Tool,
    /// Counts by severity.
    pub summary: Counts,
    /// Who the checks ran as, when known.
    pub identity: Option<Identity>,
    /// The push probe, when it ran.
    pub push: Option<PushSummary>,
    /// The network checks, when they ran.
    pub network: Option<NetworkSummary>,
    /// The OIDC trust check, when it ran: the role, the job's claims
    /// (decoded from its token, or predicted) and the trust policy judged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust: Option<TrustSummary>,
    /// The build as understood, when anything described it (a Dockerfile,
    /// a workflow, build flags).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<BuildSummary>,
    /// Everything found, errors first.
    pub findings: Vec<Finding>,
    /// Every request made, in the order sent.
    pub trace: Vec<TraceEntry>,
    /// The resources an `audit` or `merge` report covers, each with its own
    /// verdict; findings name theirs in `targets`. Absent in a `check` report.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<Target>,
}

/// Name and version of the tool that wrote a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    /// Always `ecr-fargate-preflight`.
    pub name: String,
    /// The crate version.
    pub version: String,
}

/// Number of findings of each severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Findings of severity error.
    pub errors: usize,
    /// Findings of severity warning.
    pub warnings: usize,
    /// Findings of severity notice.
    pub notices: usize,
    /// Findings accepted by a suppression, of any severity (not in the
    /// counts above). 0 in reports written before suppressions existed.
    #[serde(default)]
    pub suppressed: usize,
}

impl Report {
    /// Builds a report, ordering findings by severity (errors first) and
    /// deriving the verdict and counts from them.
    pub fn new(
        identity: Option<Identity>,
        push: Option<PushSummary>,
        mut findings: Vec<Finding>,
        trace: Vec<TraceEntry>,
    ) -> Report {
        findings.sort_by(suppressed::order);
        let summary = Counts::of(&findings);
        let verdict = Verdict::of(&findings);
        Report {
            schema_version: SCHEMA_VERSION,
            verdict,
            tool: Tool {
                name: env!("CARGO_PKG_NAME").to_string(),
                version: env!("CARGO_PKG_VERSION").to_string(),
            },
            summary,
            identity,
            push,
            network: None,
            trust: None,
            build: None,
            findings,
            trace,
            targets: Vec::new(),
        }
    }

    /// Adds the targets, deriving each one's verdict and counts from the
    /// findings that name it.
    pub fn with_targets(mut self, mut targets: Vec<Target>) -> Report {
        for t in &mut targets {
            t.summary = Counts::of(self.findings.iter().filter(|f| f.targets.contains(&t.id)));
            t.verdict = Verdict::of(self.findings.iter().filter(|f| f.targets.contains(&t.id)));
        }
        self.targets = targets;
        self
    }

    /// The findings grouped by the targets they belong to, in the order of
    /// [`Report::targets`]: a finding shared by several targets forms its own
    /// group, listed where its first target is; findings of no target come last.
    pub fn grouped(&self) -> Vec<(Vec<&Target>, Vec<&Finding>)> {
        let position = |id: &String| {
            self.targets
                .iter()
                .position(|t| &t.id == id)
                .unwrap_or(usize::MAX)
        };
        let mut groups: Vec<(Vec<String>, Vec<&Finding>)> = Vec::new();
        for f in &self.findings {
            let mut key = f.targets.clone();
            key.sort_by_key(position);
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, v)) => v.push(f),
                None => groups.push((key, vec![f])),
            }
        }
        groups.sort_by_key(|(k, _)| k.first().map_or(usize::MAX, position));
        groups
            .into_iter()
            .map(|(key, findings)| {
                let targets = key
                    .iter()
                    .filter_map(|id| self.targets.iter().find(|t| &t.id == id))
                    .collect();
                (targets, findings)
            })
            .collect()
    }

    /// Adds the network section.
    pub fn with_network(mut self, network: Option<NetworkSummary>) -> Report {
        self.network = network;
        self
    }

    /// Adds the trust check's summary.
    pub fn with_trust(mut self, trust: Option<TrustSummary>) -> Report {
        self.trust = trust;
        self
    }

    /// Adds the build as understood.
    pub fn with_build(mut self, build: Option<BuildSummary>) -> Report {
        self.build = build;
        self
    }

    /// The most severe finding, if any.
    pub fn worst(&self) -> Option<Severity> {
        self.active().map(|f| f.severity).max()
    }

    /// The most severe defect, if any: findings that only say something was
    /// not checked are left out (they make the verdict `not-verified`).
    pub fn worst_defect(&self) -> Option<Severity> {
        self.active()
            .filter(|f| !f.is_not_verified())
            .map(|f| f.severity)
            .max()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules;

    fn report(findings: Vec<Finding>) -> Report {
        Report::new(None, None, findings, Vec::new())
    }

    fn push_summary(sequential: u32, to_verdict: u32) -> PushSummary {
        PushSummary {
            mode: "push".into(),
            repository: "team/app".into(),
            repository_arn: "arn:aws:ecr:us-east-1:123456789012:repository/team/app".into(),
            registry: "https://123456789012.dkr.ecr.us-east-1.amazonaws.com".into(),
            tag: Some("ecr-fargate-preflight-1".into()),
            platforms: vec!["linux/amd64".into(), "linux/arm64".into()],
            index_digest: None,
            critical_path_round_trips: to_verdict,
            sequential_round_trips: sequential,
            requests: 31,
            wall_ms: 420,
            cleaned_up: true,
        }
    }

    /// The text and Markdown renderers say both counts: the measured chain
    /// to the cleanup's read-back first, then the depth to the verdict; a
    /// report from before the measured count says only the latter.
    #[test]
    fn renderers_say_the_measured_round_trips_and_those_to_the_verdict() {
        let both = "31 requests, 10 sequential round trips (8 to the verdict), 420 ms";
        let r = Report::new(None, Some(push_summary(10, 8)), Vec::new(), Vec::new());
        let text = text::render(&r, false);
        assert!(text.contains(both), "{text}");
        let md = markdown::render(&r);
        assert!(md.contains(both), "{md}");

        let old = Report::new(None, Some(push_summary(0, 8)), Vec::new(), Vec::new());
        let only = "31 requests, 8 sequential round trips to the verdict, 420 ms";
        assert!(text::render(&old, false).contains(only));
        assert!(markdown::render(&old).contains(only));
    }

    #[test]
    fn a_defect_fails_whatever_else_was_not_checked() {
        let r = report(vec![
            rules::PUSH_REGISTRY_UNREACHABLE.finding("t", "m"),
            rules::PUSH_ACCESS_DENIED.finding("t", "m"),
        ]);
        assert_eq!(r.verdict, Verdict::Fail);
        assert_eq!(r.worst_defect(), Some(Severity::Error));
    }

    #[test]
    fn something_not_checked_is_never_a_pass_even_as_a_notice() {
        for rule in [
            rules::CREDENTIALS_UNAVAILABLE,
            rules::PUSH_REGISTRY_UNREACHABLE,
            rules::PUSH_NOT_VERIFIED,
            crate::network::rules::gaps::RULE,
        ] {
            let r = report(vec![
                rule.finding("t", "m"),
                rules::PUSH_TAG_IMMUTABLE.finding("t", "m"),
            ]);
            assert_eq!(r.verdict, Verdict::NotVerified, "{}", rule.id);
            // The warning is the only defect.
            assert_eq!(r.worst_defect(), Some(Severity::Warning), "{}", rule.id);
        }
    }

    #[test]
    fn warnings_and_notices_that_are_defects_pass() {
        let r = report(vec![
            rules::PUSH_TAG_IMMUTABLE.finding("t", "m"),
            rules::PUSH_READS_SKIPPED.finding("t", "m"),
        ]);
        assert_eq!(r.verdict, Verdict::Pass);
        assert_eq!(report(vec![]).verdict, Verdict::Pass);
    }

    #[test]
    fn a_rule_this_build_does_not_know_counts_as_a_defect() {
        let mut f = rules::PUSH_ACCESS_DENIED.finding("t", "m");
        f.rule = "push/from-the-future".into();
        assert!(!f.is_not_verified());
        assert_eq!(report(vec![f]).verdict, Verdict::Fail);
    }

    #[test]
    fn verdicts_serialize_in_kebab_case_and_read_back() {
        for (v, s) in [
            (Verdict::Pass, "\"pass\""),
            (Verdict::Fail, "\"fail\""),
            (Verdict::NotVerified, "\"not-verified\""),
        ] {
            assert_eq!(serde_json::to_string(&v).unwrap(), s);
            assert_eq!(serde_json::from_str::<Verdict>(s).unwrap(), v);
            assert_eq!(format!("\"{}\"", v.as_str()), s);
        }
    }

    #[test]
    fn each_target_gets_the_verdict_of_its_own_findings() {
        let a = Target::new(TargetKind::Repository, "a", None, None);
        let b = Target::new(TargetKind::Repository, "b", None, None);
        let mut unreachable = rules::PUSH_REGISTRY_UNREACHABLE.finding("t", "m");
        unreachable.targets = vec![a.id.clone()];
        let r = report(vec![unreachable]).with_targets(vec![a, b]);
        assert_eq!(r.targets[0].verdict, Verdict::NotVerified);
        assert_eq!(r.targets[1].verdict, Verdict::Pass);
    }
}
