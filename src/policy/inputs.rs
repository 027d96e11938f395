//! Reading the offline inputs: policy files and a Terraform plan. The only
//! I/O of the offline checks; a file that cannot be read or parsed is a usage
//! error with its location, before anything runs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::document::{PolicyDocument, Source, parse_documents};
use super::terraform::{Plan, PlanPolicyKind, read_plan_from, read_plan_owned};
use crate::error::UsageError;

/// Everything given for offline evaluation.
#[derive(Debug, Default)]
pub struct OfflineInputs {
    /// `--policy` documents (the pushing principal's identity policies).
    pub identity: Vec<PolicyDocument>,
    /// `--repository-policy`.
    pub repository: Vec<PolicyDocument>,
    /// `--boundary`.
    pub boundary: Option<PolicyDocument>,
    /// `--scp`.
    pub scps: Vec<PolicyDocument>,
    /// `--terraform-plan`, read.
    pub plan: Option<Plan>,
    /// Identity policies from the plan, by role (name, address or ARN as the plan has it).
    pub plan_roles: BTreeMap<String, Vec<PolicyDocument>>,
    /// Repository policies from the plan, by repository name (or address).
    pub plan_repositories: BTreeMap<String, Vec<PolicyDocument>>,
    /// Trust policies from the plan, by role name (or address).
    pub plan_trust: BTreeMap<String, Vec<PolicyDocument>>,
}

impl OfflineInputs {
    /// Whether any offline input was given.
    pub fn any(&self) -> bool {
        !self.identity.is_empty()
            || !self.repository.is_empty()
            || self.boundary.is_some()
            || !self.scps.is_empty()
            || self.plan.is_some()
    }
}

/// Reads a named file within the limit for what it holds (exit 2 naming
/// the flag and the file otherwise).
fn read(path: &Path, flag: &str, limit: u64) -> Result<String, UsageError> {
    crate::files::read_text(path, limit).map_err(|e| UsageError(format!("{flag} {e}")))
}

fn documents(path: &Path, flag: &str) -> Result<Vec<PolicyDocument>, UsageError> {
    let text = read(path, flag, crate::files::POLICY_LIMIT)?;
    parse_documents(&text, Source::file(path.display().to_string()))
        .map_err(|e| UsageError(format!("{flag}: {e}")))
}

fn one(path: &Path, flag: &str) -> Result<PolicyDocument, UsageError> {
    let mut docs = documents(path, flag)?;
    if docs.len() != 1 {
        return Err(UsageError(format!(
            "{flag} {}: expected one policy document, found {}",
            path.display(),
            docs.len()
        )));
    }
    Ok(docs.remove(0))
}

/// Reads every offline input. `workspace` is where `.tf` files are looked up
/// for plan locations (`GITHUB_WORKSPACE`, else the current directory).
pub fn load(
    policies: &[PathBuf],
    repository_policy: Option<&Path>,
    boundary: Option<&Path>,
    scps: &[PathBuf],
    terraform_plan: Option<&Path>,
    workspace: Option<&Path>,
) -> Result<OfflineInputs, UsageError> {
    let mut inputs = OfflineInputs::default();
    for p in policies {
        inputs.identity.extend(documents(p, "--policy")?);
    }
    if let Some(p) = repository_policy {
        inputs.repository = documents(p, "--repository-policy")?;
    }
    if let Some(p) = boundary {
        inputs.boundary = Some(one(p, "--boundary")?);
    }
    for p in scps {
        inputs.scps.extend(documents(p, "--scp")?);
    }
    if let Some(p) = terraform_plan {
        let plan_error = |e| UsageError(format!("--terraform-plan {}: {e}", p.display()));
        let reader = crate::files::open(p, crate::files::PLAN_LIMIT)
            .map_err(|e| UsageError(format!("--terraform-plan {e}")))?;
        // Parsed as it is read: a large plan's text is not held beside its values.
        let plan = match read_plan_from(reader, workspace) {
            Ok(plan) => plan,
            // Not a readable plan: read it again as text, which places the
            // error (and refuses text that is not UTF-8) as it always has.
            Err(_) => {
                let text = read(p, "--terraform-plan", crate::files::PLAN_LIMIT)?;
                read_plan_owned(text, workspace).map_err(plan_error)?
            }
        };
        for policy in plan.policies.iter().chain(&plan.trust_policies) {
            let file = policy
                .location
                .as_ref()
                .and_then(|l| l.file.clone())
                .or_else(|| Some(p.display().to_string()));
            let source = Source {
                label: policy.address.clone(),
                file,
            };
            let docs = parse_documents(&policy.json, source).map_err(|e| {
                UsageError(format!(
                    "--terraform-plan {}: the policy of {}: {e}",
                    p.display(),
                    policy.address
                ))
            })?;
            let docs: Vec<PolicyDocument> = docs
                .into_iter()
                .map(|mut d| {
                    // Statement lines inside a plan's JSON string mean nothing in a
                    // .tf file: point at the resource's declaration instead.
                    let line = policy.location.as_ref().and_then(|l| l.line);
                    for s in &mut d.statements {
                        s.line = line;
                    }
                    d
                })
                .collect();
            match &policy.kind {
                PlanPolicyKind::Identity { role } => inputs
                    .plan_roles
                    .entry(role.clone())
                    .or_default()
                    .extend(docs),
                PlanPolicyKind::Repository { repository } => inputs
                    .plan_repositories
                    .entry(repository.clone())
                    .or_default()
                    .extend(docs),
                PlanPolicyKind::Trust { role } => inputs
                    .plan_trust
                    .entry(role.clone())
                    .or_default()
                    .extend(docs),
            }
        }
        inputs.plan = Some(plan);
    }
    Ok(inputs)
}
