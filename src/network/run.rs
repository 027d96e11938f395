//! The network area's sequence: a snapshot (saved, or discovered live under
//! the run's deadline) → the rules → findings and the report's network
//! section. `check` runs it once, `audit` once per cluster; the offline plan
//! reader (`policy::run`) borrows its summary.

use std::path::Path;
use std::time::Instant;

use super::facts::{EgressClass, classify};
use super::gather::{self, Scope};
use super::rules;
use super::snapshot::{NetworkSnapshot, SNAPSHOT_VERSION};
use crate::aws::credentials::Session;
use crate::deadline;
use crate::error::UsageError;
use crate::github::Group;
use crate::report::{Finding, NetworkSummary, SubnetSummary, WorkloadSummary};

/// A snapshot to judge, and where it came from.
pub struct Gathered {
    /// What was found.
    pub snapshot: NetworkSnapshot,
    /// `snapshot`, `live` or `terraform-plan`: the summary's `source`.
    pub source: &'static str,
    /// API calls made (0 for a saved snapshot).
    pub api_calls: usize,
    /// Wall time of the discovery in milliseconds (0 for a saved snapshot).
    pub wall_ms: u64,
}

/// The network checks of one `check` run: the saved snapshot when there is
/// one, else live discovery of `live`'s scope; the snapshot is saved to
/// `save` when asked. A discovery cut short by the deadline adds its finding
/// to `cut_short` and judges nothing. Returns the findings and the summary.
pub async fn run(
    saved: Option<NetworkSnapshot>,
    live: Option<(&Session, &str, Scope)>,
    save: Option<&Path>,
    cut_short: &mut Vec<Finding>,
) -> Result<(Vec<Finding>, Option<NetworkSummary>), UsageError> {
    let gathered = match (saved, live) {
        (Some(snapshot), _) => Some(Gathered {
            snapshot,
            source: "snapshot",
            api_calls: 0,
            wall_ms: 0,
        }),
        (None, Some((session, region, scope))) => {
            let _group = Group::start(&format!(
                "Network discovery: {}",
                scope
                    .cluster
                    .as_deref()
                    .or(scope.task_definition.as_deref())
                    .unwrap_or_default()
            ));
            discover(session, region, &scope, cut_short).await
        }
        (None, None) => None,
    };
    let Some(gathered) = gathered else {
        return Ok((Vec::new(), None));
    };
    if let Some(path) = save {
        save_snapshot(&gathered.snapshot, path)?;
    }
    let (findings, summary) = judge(&gathered);
    let group = Group::start(&format!("Network checks ({})", gathered.source));
    for w in &summary.workloads {
        for s in &w.subnets {
            group.line(&format!("{} / {}: {}", w.name, s.id, s.egress));
        }
    }
    group.line(&format!(
        "{} API calls, {} ms",
        gathered.api_calls, gathered.wall_ms
    ));
    Ok((findings, Some(summary)))
}

/// Discovers `scope` live under the run's deadline. `None`, with the
/// cut-short finding added to `findings`, when the deadline passed first.
pub async fn discover(
    session: &Session,
    region: &str,
    scope: &Scope,
    findings: &mut Vec<Finding>,
) -> Option<Gathered> {
    let started = Instant::now();
    let discovered = deadline::within_deadline(gather::discover(
        gather::Clients::new(&session.config),
        region,
        Some(session.identity.account.clone()),
        scope,
    ))
    .await;
    match discovered {
        Some(d) => Some(Gathered {
            snapshot: d.snapshot,
            source: "live",
            api_calls: d.api_calls,
            wall_ms: started.elapsed().as_millis() as u64,
        }),
        None => {
            deadline::note_cut_short(
                findings,
                "network discovery",
                &format!("the ECS, EC2 and IAM APIs in {region}"),
            );
            None
        }
    }
}

/// The network rules over a snapshot, and the report's network section.
pub fn judge(gathered: &Gathered) -> (Vec<Finding>, NetworkSummary) {
    let findings = rules::check_all(&gathered.snapshot);
    let mut summary = summary(
        &gathered.snapshot,
        gathered.source,
        gathered.api_calls,
        gathered.wall_ms,
    );
    with_paths(&mut summary, &gathered.snapshot, &findings);
    (findings, summary)
}

/// Adds the path diagrams of `snapshot`, its links marked broken by `findings`.
pub fn with_paths(summary: &mut NetworkSummary, snapshot: &NetworkSnapshot, findings: &[Finding]) {
    let (paths, omitted) = super::paths::diagrams(snapshot, findings);
    summary.paths = paths;
    summary.omitted_paths = omitted;
}

/// Writes the snapshot for `--save-snapshot`.
pub fn save_snapshot(snapshot: &NetworkSnapshot, path: &Path) -> Result<(), UsageError> {
    let json = serde_json::to_string_pretty(snapshot).expect("snapshots always serialize");
    std::fs::write(path, json + "\n")
        .map_err(|e| UsageError(format!("--save-snapshot {}: {e}", path.display())))
}

/// Reads and checks a saved snapshot.
pub fn load_snapshot(path: &std::path::Path) -> Result<NetworkSnapshot, UsageError> {
    // Parsed as it is read: the file's text is never held beside the snapshot.
    let reader = crate::files::open(path, crate::files::SNAPSHOT_LIMIT)
        .map_err(|e| UsageError(format!("--snapshot {e}")))?;
    let snapshot: NetworkSnapshot = serde_json::from_reader(reader).map_err(|e| {
        UsageError(format!(
            "--snapshot {}: not a network snapshot: {e} (line {}, column {})",
            path.display(),
            e.line(),
            e.column()
        ))
    })?;
    if snapshot.version != SNAPSHOT_VERSION {
        return Err(UsageError(format!(
            "--snapshot {}: snapshot version {} is not supported (this build reads version {SNAPSHOT_VERSION}); discover again with --save-snapshot",
            path.display(),
            snapshot.version
        )));
    }
    Ok(snapshot)
}

/// The report's network section for a snapshot.
pub fn summary(
    snapshot: &NetworkSnapshot,
    source: &str,
    api_calls: usize,
    wall_ms: u64,
) -> NetworkSummary {
    NetworkSummary {
        source: source.to_string(),
        region: snapshot.region.clone(),
        api_calls,
        wall_ms,
        paths: Vec::new(),
        omitted_paths: 0,
        omitted_workloads: snapshot
            .workloads
            .len()
            .saturating_sub(crate::report::MAX_WORKLOADS_LISTED),
        workloads: snapshot
            .workloads
            .iter()
            .take(crate::report::MAX_WORKLOADS_LISTED)
            .map(|w| WorkloadSummary {
                name: w.name.clone(),
                cluster: w.cluster.clone(),
                fargate: w.is_fargate(),
                platform_version: w.platform_version.clone(),
                subnets: w
                    .subnets
                    .iter()
                    .map(|s| SubnetSummary {
                        id: s.clone(),
                        availability_zone: snapshot
                            .subnets
                            .get(s)
                            .map(|x| x.availability_zone.clone()),
                        egress: match classify(snapshot, w, s) {
                            EgressClass::PublicInternetGateway => {
                                "public-ip+internet-gateway".into()
                            }
                            EgressClass::Nat(id) => format!("nat ({id})"),
                            EgressClass::Isolated => "isolated".into(),
                            EgressClass::Unknown(target) => format!("unknown ({target})"),
                        },
                    })
                    .collect(),
            })
            .collect(),
    }
}
