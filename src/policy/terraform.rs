//! Reads a Terraform plan (`terraform show -json PLANFILE`) into the same
//! [`NetworkSnapshot`] live discovery builds, plus the IAM and repository
//! policies it declares, so the network rules and the push checks run on a
//! plan with no credentials.
//!
//! What the plan knows is used as it is. A resource this plan creates has no id
//! yet: its address (`aws_subnet.private_a`) stands in for the id, and every
//! unknown attribute that refers to it is traced through the configuration's
//! references to the same address, so the snapshot connects as it will after
//! apply. A value that can be traced neither way is an [`Undetermined`] entry,
//! never a guess; the field is left empty, or, where empty would read as
//! "none" and make a rule report a problem that may not exist, given a stand-in
//! id (`<address>.<attribute>`) that no rule can match, so the rule skips it.
//!
//! With a workspace, each resource also gets the `.tf` file and line that
//! declares it ([`Location`]), so findings can point into the pull request.

mod format;
mod iam;
mod index;
mod locations;
mod network;
mod references;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::Serialize;

use crate::network::snapshot::NetworkSnapshot;

/// A plan read into the snapshot and policies the checks use.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Plan {
    /// The network facts, as the network rules read them. Ids unknown until
    /// apply are resource addresses.
    pub snapshot: NetworkSnapshot,
    /// The IAM and ECR repository policies the plan declares.
    pub policies: Vec<PlanPolicy>,
    /// Where each resource is declared, by the id it has in the snapshot
    /// (a known id, or the address standing in for it) and by its address.
    pub locations: BTreeMap<String, Location>,
    /// What the checks need but the plan cannot tell before apply.
    pub undetermined: Vec<Undetermined>,
    /// The roles' trust policies (`assume_role_policy`), kept apart from
    /// [`Plan::policies`]: they decide who may assume a role, not what it may do.
    pub trust_policies: Vec<PlanPolicy>,
    /// The IAM OIDC providers the plan declares (resources and data sources).
    pub oidc_providers: Vec<PlanOidcProvider>,
    /// Roles' `max_session_duration` (seconds), by role name, when known.
    pub max_session_durations: BTreeMap<String, u32>,
}

/// An `aws_iam_openid_connect_provider` the plan declares or reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanOidcProvider {
    /// Its address, such as `aws_iam_openid_connect_provider.github`.
    pub address: String,
    /// Its `url` (the issuer), when known before apply.
    pub url: Option<String>,
    /// Its `arn`, when known before apply.
    pub arn: Option<String>,
    /// Its `client_id_list`: the audiences it accepts (empty when unknown).
    pub client_ids: Vec<String>,
}

/// One policy document declared in the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanPolicy {
    /// Whose policy it is.
    pub kind: PlanPolicyKind,
    /// The resource that declares the document (`aws_iam_role_policy.push`, or
    /// the `aws_iam_policy` an attachment attaches).
    pub address: String,
    /// The policy document, as JSON text.
    pub json: String,
    /// Where `address` is declared, when the workspace has it.
    pub location: Option<Location>,
}

/// Whose policy a [`PlanPolicy`] is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case", tag = "type")]
pub enum PlanPolicyKind {
    /// An identity-based policy of an IAM role (inline, or attached).
    Identity {
        /// The role name (or, when unknown until apply, the role's address).
        role: String,
    },
    /// The repository policy of an ECR repository.
    Repository {
        /// The repository name (or, when unknown until apply, its address).
        repository: String,
    },
    /// The trust policy (`assume_role_policy`) of an IAM role.
    Trust {
        /// The role name (or, when unknown until apply, the role's address).
        role: String,
    },
}

/// Where a resource is declared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    /// The resource address, such as `module.endpoints.aws_vpc_endpoint.interface["ecr.api"]`.
    pub address: String,
    /// The `.tf` file that declares it, relative to the workspace, with `/` separators.
    pub file: Option<String>,
    /// The 1-based line of its `resource` (or `data`) block.
    pub line: Option<usize>,
}

/// Something the checks need that the plan cannot tell before apply.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Undetermined {
    /// The resource address.
    pub address: String,
    /// The attribute, such as `network_configuration[0].subnets`.
    pub attribute: String,
    /// Why it is undetermined, and what is skipped because of it.
    pub why: String,
}

/// A plan that could not be read: not JSON, or not a Terraform plan.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PlanError {
    /// The file name shown in the message (`plan.json` unless set with [`PlanError::in_file`]).
    pub file: String,
    /// 1-based line of the problem.
    pub line: usize,
    /// 1-based column of the problem.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl PlanError {
    /// The same error, naming `file` instead of `plan.json`.
    pub fn in_file(mut self, file: impl Into<String>) -> Self {
        self.file = file.into();
        self
    }

    fn at(text: &str, offset: usize, message: impl Into<String>) -> Self {
        let before = &text[..floor_char_boundary(text, offset)];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        PlanError {
            file: "plan.json".into(),
            line,
            column,
            message: message.into(),
        }
    }

    fn from_json(error: &serde_json::Error) -> Self {
        let text = error.to_string();
        let message = match text.rsplit_once(" at line ") {
            Some((message, _)) => message.to_string(),
            None => text,
        };
        PlanError {
            file: "plan.json".into(),
            line: error.line().max(1),
            column: error.column().max(1),
            message: format!("not a readable Terraform plan: {message}"),
        }
    }
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )
    }
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// What the mapping notes on the way: undetermined values, and which
/// resource address each snapshot id belongs to.
#[derive(Debug, Default)]
pub(crate) struct Notes {
    /// Undetermined values, in the order met.
    pub undetermined: Vec<Undetermined>,
    /// Snapshot id (or finding resource) → resource address.
    pub addresses: BTreeMap<String, String>,
}

impl Notes {
    /// Record an undetermined value (once).
    pub fn undetermined(&mut self, address: &str, attribute: &str, why: impl Into<String>) {
        let entry = Undetermined {
            address: address.to_string(),
            attribute: attribute.to_string(),
            why: why.into(),
        };
        if !self.undetermined.contains(&entry) {
            self.undetermined.push(entry);
        }
    }

    /// Record that `id` in the snapshot is the resource at `address`.
    pub fn id(&mut self, id: &str, address: &str) {
        self.addresses
            .entry(id.to_string())
            .or_insert_with(|| address.to_string());
    }
}

/// Reads the JSON of `terraform show -json PLANFILE`.
///
/// `workspace` is the directory whose `.tf` files (searched recursively,
/// `.terraform/` skipped) declare the plan's resources; with it, [`Plan::locations`]
/// and [`PlanPolicy::location`] name the file and line of each resource.
///
/// Never panics: text that is not JSON, JSON that is not a plan, and plans of
/// an unsupported format version are a [`PlanError`] with the line and column;
/// attribute values of an unexpected shape are [`Undetermined`].
pub fn read_plan(text: &str, workspace: Option<&Path>) -> Result<Plan, PlanError> {
    build(parse(text)?, workspace)
}

/// [`read_plan`] taking the text, which is freed once parsed: a large plan's
/// text is not held while its resources are indexed.
pub fn read_plan_owned(text: String, workspace: Option<&Path>) -> Result<Plan, PlanError> {
    let plan = parse(&text)?;
    drop(text);
    build(plan, workspace)
}

/// [`read_plan`] parsing the JSON as it is read from `reader`: a large plan's
/// text is never held, only the parts of it the checks use.
///
/// Malformed JSON is a [`PlanError`] with serde_json's line and column. JSON
/// that is not a plan of a supported format is an error at line 1, column 1,
/// without the hints [`read_plan`] finds in the text: a caller that shows the
/// error reads the text again with [`read_plan`] to place it.
pub fn read_plan_from(
    mut reader: impl std::io::BufRead,
    workspace: Option<&Path>,
) -> Result<Plan, PlanError> {
    // PowerShell's `>` writes a byte-order mark.
    const BOM: &[u8] = "\u{feff}".as_bytes();
    if reader
        .fill_buf()
        .is_ok_and(|buffered| buffered.starts_with(BOM))
    {
        reader.consume(BOM.len());
    }
    let mut json = serde_json::Deserializer::from_reader(reader);
    let plan = format::lean::plan(&mut json)
        .and_then(|plan| json.end().map(|()| plan))
        .map_err(|e| PlanError::from_json(&e))?;
    check_format("", &plan)?;
    build(plan, workspace)
}

fn parse(text: &str) -> Result<format::PlanJson, PlanError> {
    // PowerShell's `>` writes a byte-order mark.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let plan: format::PlanJson =
        serde_json::from_str(text).map_err(|e| PlanError::from_json(&e))?;
    check_format(text, &plan)?;
    Ok(plan)
}

fn build(mut plan: format::PlanJson, workspace: Option<&Path>) -> Result<Plan, PlanError> {
    let resources = index::Resources::take(&mut plan);
    let index = index::Index::build(&plan, resources);
    let mut notes = Notes::default();
    let snapshot = network::build(&index, &mut notes);
    let (mut trust_policies, mut policies): (Vec<PlanPolicy>, Vec<PlanPolicy>) =
        iam::policies(&index, &mut notes)
            .into_iter()
            .partition(|p| matches!(p.kind, PlanPolicyKind::Trust { .. }));
    let oidc_providers = iam::oidc_providers(&index);
    let max_session_durations = iam::max_session_durations(&index);
    let locations = locations::locate(&index, &notes, workspace);
    for policy in policies.iter_mut().chain(trust_policies.iter_mut()) {
        policy.location = locations.get(&policy.address).cloned();
    }
    Ok(Plan {
        snapshot,
        policies,
        locations,
        undetermined: notes.undetermined,
        trust_policies,
        oidc_providers,
        max_session_durations,
    })
}

/// A plan has a 1.x format version and at least one of the plan's sections:
/// anything else (a state file, some other JSON) is not what `--terraform-plan` reads.
fn check_format(text: &str, plan: &format::PlanJson) -> Result<(), PlanError> {
    if let Some(version) = &plan.format_version
        && version.split('.').next() != Some("1")
    {
        let at = text.find("\"format_version\"").unwrap_or(0);
        return Err(PlanError::at(
            text,
            at,
            format!(
                "format_version {version} is not supported: this reads plan format 1.x (Terraform 1.0 and later)"
            ),
        ));
    }
    if plan.planned_values.is_none()
        && plan.resource_changes.is_empty()
        && plan.prior_state.is_none()
    {
        let hint = if text.contains("\"values\"") {
            " (this looks like a state: run `terraform show -json` on a plan file, made by `terraform plan -out FILE`)"
        } else {
            ""
        };
        return Err(PlanError::at(
            text,
            text.find('{').unwrap_or(0),
            format!(
                "not a Terraform plan: it has no planned_values, resource_changes or prior_state{hint}"
            ),
        ));
    }
    Ok(())
}
