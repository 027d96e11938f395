//! AWS's policy evaluation logic over the policies that apply to one request:
//! identity-based policies, the repository's resource-based policy, a
//! permissions boundary, service control policies and a session policy.
//!
//! The combination follows the IAM User Guide ("Policy evaluation logic",
//! "Cross-account policy evaluation logic"):
//!
//! 1. an explicit `Deny` in any of them denies;
//! 2. when SCPs are given, one of them must allow;
//! 3. in the same account, a resource-based policy that names the caller
//!    grants alone (for a role, still within its boundary and session policy);
//!    otherwise an identity-based policy must allow, within the permissions
//!    boundary and the session policy when they are given;
//! 4. across accounts, both an identity-based and a resource-based allow are needed.
//!
//! Statement matching uses iam-rs where it gets AWS right (actions, ARN
//! patterns, policy variables, condition operators) and our own code where
//! tests show it does not (principals, resource patterns iam-rs cannot parse,
//! `ArnEquals`, `Bool` on request values, variables in condition values): see
//! `IAM_RS.md` and the `iam_rs_*` tests.
//!
//! A condition on a context key the request does not describe is
//! **undetermined**: the decision says so and shows the condition, rather than
//! guessing an allow or a deny.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;

use iam_rs::{
    Arn, ArnMatcher, ConditionValue, Context, ContextValue, Decision as IamDecision, IAMAction,
    IAMEffect, IAMOperator, IAMPolicy, IAMRequest, IAMResource, IAMStatement, OperatorType,
    PolicyEvaluator, Principal, PrincipalId,
};

mod statement;

use super::document::{Condition, Effect, PolicyDocument, Statement};
use super::matching::{
    LITERAL_QUESTION, LITERAL_STAR, PrincipalMatch, arn_account, arn_pattern_matches, arn_region,
    glob_matches, principal_match, session_arn,
};
use statement::*;

/// One request to decide: who does what on which resource, and what else the
/// simulation knows about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The IAM action, e.g. `ecr:PutImage`.
    pub action: String,
    /// The resource ARN, or `*` for an action on no resource (`ecr:GetAuthorizationToken`).
    pub resource: String,
    /// The caller as `aws:PrincipalArn` names it: the user ARN, or the role
    /// ARN (not the session ARN) for an assumed role.
    pub principal_arn: String,
    /// The caller's account.
    pub principal_account: String,
    /// The account that owns the resource (for `*`, the caller's).
    pub resource_account: String,
    /// The role session's name when the caller is a role (`role-session-name`,
    /// `GitHubActions` by default in the action): the session ARN
    /// `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION` names the caller in a
    /// `Principal`, and `aws:userid` ends in `:SESSION`.
    pub session_name: Option<String>,
    /// Request context keys (names are case-insensitive). A key with values
    /// is known; a key with an empty list is known to be absent from the
    /// request; a key that is not here is unknown, and a condition on it is
    /// undetermined. `aws:PrincipalArn`, `aws:PrincipalAccount`,
    /// `aws:ResourceAccount` and `aws:RequestedRegion` (the resource ARN's
    /// region) are filled from the fields above unless given here.
    pub context: BTreeMap<String, Vec<String>>,
}

impl Request {
    /// A request by `principal_arn` for `action` on `resource`, with the
    /// accounts taken from the ARNs (the resource's account is the caller's
    /// when the resource is `*`) and an empty context.
    pub fn new(
        action: impl Into<String>,
        resource: impl Into<String>,
        principal_arn: impl Into<String>,
    ) -> Self {
        let resource = resource.into();
        let principal_arn = principal_arn.into();
        let principal_account = arn_account(&principal_arn).unwrap_or_default().to_string();
        let resource_account = arn_account(&resource)
            .unwrap_or(&principal_account)
            .to_string();
        Self {
            action: action.into(),
            resource,
            principal_arn,
            principal_account,
            resource_account,
            session_name: None,
            context: BTreeMap::new(),
        }
    }

    /// The same request made by a session of the role with this name.
    #[must_use]
    pub fn with_session(mut self, name: impl Into<String>) -> Self {
        self.session_name = Some(name.into());
        self
    }

    /// The caller's session ARN, when it is a role session with a name.
    pub fn session_arn(&self) -> Option<String> {
        self.session_name
            .as_deref()
            .and_then(|name| session_arn(&self.principal_arn, name))
    }

    /// The same request with a context key set (an empty list: known to be absent).
    #[must_use]
    pub fn with_context<I, S>(mut self, key: impl Into<String>, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.context
            .insert(key.into(), values.into_iter().map(Into::into).collect());
        self
    }

    /// Whether caller and resource are in different accounts.
    pub fn is_cross_account(&self) -> bool {
        !self.resource_account.is_empty() && self.resource_account != self.principal_account
    }

    fn principal_is_role(&self) -> bool {
        self.principal_arn.contains(":role/") || self.principal_arn.contains(":assumed-role/")
    }
}

/// The policies that apply to a request.
#[derive(Debug, Clone, Default)]
pub struct PolicySet {
    /// Identity-based policies of the caller: inline and managed, of the user,
    /// its groups, or the role.
    pub identity: Vec<PolicyDocument>,
    /// The resource-based policy of the resource (the repository policy).
    pub resource: Vec<PolicyDocument>,
    /// The caller's permissions boundary, when it has one.
    pub boundary: Option<PolicyDocument>,
    /// The service control policies that apply to the caller's account, read
    /// as one level: one of them must allow. Empty: no SCPs (no Organizations).
    pub scps: Vec<PolicyDocument>,
    /// The session policy passed when the role was assumed, when there was one.
    pub session: Option<PolicyDocument>,
}

/// The kind of policy a statement belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PolicyKind {
    /// An identity-based policy.
    Identity,
    /// The resource-based (repository) policy.
    Resource,
    /// The permissions boundary.
    Boundary,
    /// A service control policy.
    ServiceControl,
    /// The session policy.
    Session,
}

impl PolicyKind {
    /// How AWS's denial messages name the kind ("no identity-based policy allows …").
    pub fn phrase(self) -> &'static str {
        match self {
            PolicyKind::Identity => "identity-based policy",
            PolicyKind::Resource => "resource-based policy",
            PolicyKind::Boundary => "permissions boundary",
            PolicyKind::ServiceControl => "service control policy",
            PolicyKind::Session => "session policy",
        }
    }
}

impl fmt::Display for PolicyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.phrase())
    }
}

/// The outcome of an evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// The request is allowed.
    Allowed,
    /// A statement explicitly denies the request.
    ExplicitDeny,
    /// Nothing denies the request, but what must allow it does not.
    ImplicitDeny,
    /// The answer depends on conditions the simulation cannot evaluate.
    Undetermined,
}

impl Decision {
    /// Whether the request is denied, explicitly or implicitly.
    pub fn is_denied(self) -> bool {
        matches!(self, Decision::ExplicitDeny | Decision::ImplicitDeny)
    }
}

/// Where a statement is: enough to find it and to name it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StatementRef {
    /// The document's label (file path, Terraform address, policy name).
    pub label: String,
    /// The file, when known.
    pub file: Option<String>,
    /// 1-based line of the statement, when known.
    pub line: Option<usize>,
    /// The statement's `Sid`, when it has one.
    pub sid: Option<String>,
    /// Its position in the document's statement list (0-based).
    pub index: usize,
}

impl StatementRef {
    fn of(document: &PolicyDocument, statement: &Statement) -> Self {
        Self {
            label: document.source.label.clone(),
            file: document.source.file.clone(),
            line: statement.line,
            sid: statement.sid.clone(),
            index: statement.index,
        }
    }
}

impl fmt::Display for StatementRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label)?;
        if let Some(file) = self.file.as_deref().filter(|file| *file != self.label) {
            write!(f, " ({file})")?;
        }
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(f, " Statement[{}]", self.index)?;
        if let Some(sid) = &self.sid {
            write!(f, " {sid:?}")?;
        }
        Ok(())
    }
}

/// A condition the simulation could not evaluate, as written in the policy.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UndeterminedCondition {
    /// The operator, e.g. `StringEquals`.
    pub operator: String,
    /// The context key, e.g. `aws:SourceVpce`.
    pub key: String,
    /// The values the policy compares the key with.
    pub values: Vec<String>,
}

impl fmt::Display for UndeterminedCondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {:?}", self.operator, self.key, self.values)
    }
}

/// One part of the explanation of a decision.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reason {
    /// The kind of policy this is about.
    pub kind: PolicyKind,
    /// The statement, or `None` when the reason is that no statement matched.
    pub statement: Option<StatementRef>,
    /// The statement's effect, when there is a statement.
    pub effect: Option<Effect>,
    /// One line saying what the statement did, or what is missing.
    pub note: String,
    /// The conditions the simulation could not evaluate, when any.
    pub undetermined: Vec<UndeterminedCondition>,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.statement {
            Some(statement) => write!(f, "{} {statement}: {}", self.kind, self.note)?,
            None => f.write_str(&self.note)?,
        }
        for condition in &self.undetermined {
            write!(f, "; undetermined: {condition}")?;
        }
        Ok(())
    }
}

/// A decision with its explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// The decision.
    pub decision: Decision,
    /// Why: the statements that allowed or denied, or what no statement did.
    pub reasons: Vec<Reason>,
}

/// Decides `request` under `set`, following AWS's evaluation logic, and says why.
pub fn evaluate(set: &PolicySet, request: &Request) -> Evaluation {
    let known = KnownContext::of(request);
    let matcher = Matcher::new(request, &known, set.boundary.is_some());
    let mut hits = Vec::new();
    let resource_applies = matcher.resource_arn.is_some();
    let groups: [(PolicyKind, &[PolicyDocument]); 5] = [
        (PolicyKind::ServiceControl, &set.scps),
        (
            PolicyKind::Resource,
            if resource_applies { &set.resource } else { &[] },
        ),
        (PolicyKind::Identity, &set.identity),
        (PolicyKind::Boundary, set.boundary.as_slice()),
        (PolicyKind::Session, set.session.as_slice()),
    ];
    for (kind, documents) in groups {
        for document in documents {
            for statement in &document.statements {
                if let Some(hit) = matcher.statement(kind, document, statement) {
                    hits.push(hit);
                }
            }
        }
    }
    combine(set, request, resource_applies, hits)
}

/// Three-valued truth: `Maybe` when it depends on undetermined conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Tri {
    No,
    Maybe,
    Yes,
}

impl Tri {
    fn and(self, other: Tri) -> Tri {
        self.min(other)
    }
    fn or(self, other: Tri) -> Tri {
        self.max(other)
    }
    fn not(self) -> Tri {
        match self {
            Tri::No => Tri::Yes,
            Tri::Maybe => Tri::Maybe,
            Tri::Yes => Tri::No,
        }
    }
}

/// A statement that applies to the request (`Yes`) or may (`Maybe`).
struct Hit {
    kind: PolicyKind,
    effect: Effect,
    level: Tri,
    principal: PrincipalMatch,
    reason: Reason,
}

fn combine(
    set: &PolicySet,
    request: &Request,
    resource_applies: bool,
    hits: Vec<Hit>,
) -> Evaluation {
    let level = |filter: &dyn Fn(&Hit) -> bool| {
        hits.iter()
            .filter(|hit| filter(hit))
            .map(|hit| hit.level)
            .max()
            .unwrap_or(Tri::No)
    };
    let allows = |kind: PolicyKind| level(&|hit| hit.kind == kind && hit.effect == Effect::Allow);

    let deny = level(&|hit| hit.effect == Effect::Deny);
    let reasons_where = |filter: &dyn Fn(&Hit) -> bool| {
        hits.iter()
            .filter(|hit| filter(hit))
            .map(|hit| hit.reason.clone())
            .collect::<Vec<_>>()
    };
    if deny == Tri::Yes {
        return Evaluation {
            decision: Decision::ExplicitDeny,
            reasons: reasons_where(&|hit| hit.effect == Effect::Deny && hit.level == Tri::Yes),
        };
    }

    let scp = if set.scps.is_empty() {
        Tri::Yes
    } else {
        allows(PolicyKind::ServiceControl)
    };
    let boundary = if set.boundary.is_some() {
        allows(PolicyKind::Boundary)
    } else {
        Tri::Yes
    };
    let session = if set.session.is_some() {
        allows(PolicyKind::Session)
    } else {
        Tri::Yes
    };
    let identity = allows(PolicyKind::Identity);
    let identity_path = identity.and(boundary).and(session);
    let resource_any = if resource_applies {
        allows(PolicyKind::Resource)
    } else {
        Tri::No
    };
    let resource_grant = |principal: PrincipalMatch| {
        level(&|hit| {
            hit.kind == PolicyKind::Resource
                && hit.effect == Effect::Allow
                && hit.principal == principal
        })
    };
    let cross_account = request.is_cross_account() && resource_applies;
    let role = request.principal_is_role();
    // IAM User Guide, permissions boundaries: "Within an account, an implicit
    // deny in a permissions boundary does not limit the permissions granted
    // to an IAM user by a resource-based policy"; for roles, a grant to the
    // role's ARN is limited by the boundary and the session policy, a grant
    // to the role session's ARN is not. A grant to `"*"` for a role under a
    // boundary or session policy that does not allow: the documentation does
    // not say (`undocumented_everyone`).
    let cap = if role {
        boundary.and(session)
    } else {
        Tri::Yes
    };
    let everyone = resource_grant(PrincipalMatch::Everyone);
    let everyone_capped = if cap == Tri::Yes {
        everyone
    } else {
        everyone.and(Tri::Maybe)
    };
    let resource_direct = resource_grant(PrincipalMatch::Direct)
        .and(cap)
        .or(resource_grant(PrincipalMatch::Session))
        .or(everyone_capped);
    let undocumented_everyone = !cross_account && role && everyone == Tri::Yes && cap != Tri::Yes;
    let grant = if cross_account {
        identity_path.and(resource_any)
    } else {
        identity_path.or(resource_direct)
    };
    let allowed = deny.not().and(scp).and(grant);

    let action = &request.action;
    match allowed {
        Tri::Yes => Evaluation {
            decision: Decision::Allowed,
            reasons: reasons_where(&|hit| hit.effect == Effect::Allow && hit.level == Tri::Yes),
        },
        Tri::Maybe => {
            let mut reasons =
                reasons_where(&|hit| hit.level == Tri::Maybe || hit.effect == Effect::Allow);
            if undocumented_everyone && identity_path != Tri::Yes {
                reasons.push(Reason {
                    kind: PolicyKind::Resource,
                    statement: None,
                    effect: None,
                    note: format!(
                        "the repository policy allows the {action} action to \"*\", and the role's {} does not: AWS documents that a boundary or session policy limits a grant to the role's ARN and not one to its session's ARN, but not which applies to \"*\"",
                        if boundary != Tri::Yes { "permissions boundary" } else { "session policy" }
                    ),
                    undetermined: vec![UndeterminedCondition {
                        operator: "Principal".to_string(),
                        key: "\"*\"".to_string(),
                        values: vec![format!(
                            "for {}: AWS does not document whether the role's {} limits it",
                            request.principal_arn,
                            if boundary != Tri::Yes { "permissions boundary" } else { "session policy" }
                        )],
                    }],
                });
            }
            Evaluation {
                decision: Decision::Undetermined,
                reasons,
            }
        }
        Tri::No => {
            let mut reasons =
                reasons_where(&|hit| hit.effect == Effect::Allow && hit.level == Tri::Yes);
            let mut missing = |kind: PolicyKind, note: String| {
                reasons.push(Reason {
                    kind,
                    statement: None,
                    effect: None,
                    note,
                    undetermined: Vec::new(),
                });
            };
            if scp == Tri::No {
                missing(
                    PolicyKind::ServiceControl,
                    format!("no service control policy allows the {action} action"),
                );
            }
            // What the repository policy grants the caller by name, before any cap.
            let resource_grants = if cross_account {
                resource_any
            } else {
                resource_grant(PrincipalMatch::Direct)
                    .or(resource_grant(PrincipalMatch::Session))
                    .or(everyone)
            };
            if grant == Tri::No {
                if identity == Tri::No {
                    missing(
                        PolicyKind::Identity,
                        format!("no identity-based policy allows the {action} action"),
                    );
                }
                if boundary == Tri::No {
                    missing(
                        PolicyKind::Boundary,
                        format!("no permissions boundary allows the {action} action"),
                    );
                }
                if session == Tri::No {
                    missing(
                        PolicyKind::Session,
                        format!("no session policy allows the {action} action"),
                    );
                }
                // In the same account a missing repository policy is no reason: IAM alone may allow.
                if resource_applies
                    && resource_grants == Tri::No
                    && (cross_account || !set.resource.is_empty())
                {
                    let note = if cross_account {
                        format!(
                            "no resource-based policy allows the {action} action (account {} is not the resource's account {}: both sides must allow)",
                            request.principal_account, request.resource_account
                        )
                    } else if resource_any != Tri::No {
                        format!(
                            "the resource-based policy allows the {action} action only for the account, which leaves the decision to identity-based policies"
                        )
                    } else {
                        format!("no resource-based policy allows the {action} action")
                    };
                    missing(PolicyKind::Resource, note);
                }
            }
            Evaluation {
                decision: Decision::ImplicitDeny,
                reasons,
            }
        }
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod properties;
