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

use super::document::{Condition, Effect, PolicyDocument, Statement};
use super::matching::{
    PrincipalMatch, arn_account, arn_pattern_matches, arn_region, principal_match,
};

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
            context: BTreeMap::new(),
        }
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
    let resource_direct = level(&|hit| {
        hit.kind == PolicyKind::Resource
            && hit.effect == Effect::Allow
            && hit.principal == PrincipalMatch::Direct
    });
    let cross_account = request.is_cross_account() && resource_applies;
    let grant = if cross_account {
        identity_path.and(resource_any)
    } else {
        // A resource-based grant to a role is still capped by the role's
        // boundary and session policy; a grant to a user is not.
        let cap = if request.principal_is_role() {
            boundary.and(session)
        } else {
            Tri::Yes
        };
        identity_path.or(resource_direct.and(cap))
    };
    let allowed = deny.not().and(scp).and(grant);

    let action = &request.action;
    match allowed {
        Tri::Yes => Evaluation {
            decision: Decision::Allowed,
            reasons: reasons_where(&|hit| hit.effect == Effect::Allow && hit.level == Tri::Yes),
        },
        Tri::Maybe => Evaluation {
            decision: Decision::Undetermined,
            reasons: reasons_where(&|hit| hit.level == Tri::Maybe || hit.effect == Effect::Allow),
        },
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
            let resource_grants = if cross_account {
                resource_any
            } else {
                resource_direct
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

/// The request context, with names folded to lower case, and the keys the
/// simulation derives from the request itself.
struct KnownContext {
    keys: HashMap<String, Vec<String>>,
}

impl KnownContext {
    fn of(request: &Request) -> Self {
        let mut keys: HashMap<String, Vec<String>> = HashMap::new();
        let mut derive = |key: &str, value: &str| {
            if !value.is_empty() {
                keys.insert(key.to_string(), vec![value.to_string()]);
            }
        };
        derive("aws:principalarn", &request.principal_arn);
        derive("aws:principalaccount", &request.principal_account);
        derive("aws:resourceaccount", &request.resource_account);
        derive(
            "aws:requestedregion",
            arn_region(&request.resource).unwrap_or_default(),
        );
        for (key, values) in &request.context {
            keys.insert(key.to_ascii_lowercase(), values.clone());
        }
        Self { keys }
    }

    /// `None`: unknown; `Some([])`: known to be absent.
    fn get(&self, key: &str) -> Option<&[String]> {
        self.keys.get(&key.to_ascii_lowercase()).map(Vec::as_slice)
    }

    /// The known, present keys as iam-rs's context (for policy variables).
    fn iam_context(&self) -> Context {
        let mut context = Context::new();
        for (key, values) in &self.keys {
            match values.as_slice() {
                [] => {}
                [one] => context.insert(key.clone(), ContextValue::String(one.clone())),
                many => context.insert(key.clone(), ContextValue::StringList(many.to_vec())),
            }
        }
        context
    }
}

/// How one statement part matched.
enum PartMatch {
    Yes,
    No,
    Maybe(Vec<UndeterminedCondition>),
}

/// Matches statements against one request.
struct Matcher<'r> {
    request: &'r Request,
    known: &'r KnownContext,
    /// The request's action, lower-cased once (actions compare case-insensitively).
    action: String,
    /// The resource as iam-rs's ARN; `None` when the request is on `*`.
    resource_arn: Option<Arn>,
    /// The known keys as iam-rs's context, built on first use (policy variables).
    variables: std::cell::OnceCell<Context>,
    has_boundary: bool,
}

impl<'r> Matcher<'r> {
    fn new(request: &'r Request, known: &'r KnownContext, has_boundary: bool) -> Self {
        let resource_arn = Arn::parse(&request.resource)
            .ok()
            .filter(|_| request.resource.starts_with("arn:"));
        Self {
            request,
            known,
            action: request.action.to_ascii_lowercase(),
            resource_arn,
            variables: std::cell::OnceCell::new(),
            has_boundary,
        }
    }

    fn statement(
        &self,
        kind: PolicyKind,
        document: &PolicyDocument,
        statement: &Statement,
    ) -> Option<Hit> {
        let principal = if kind == PolicyKind::Resource {
            let principal = self.principal(statement);
            if principal == PrincipalMatch::No {
                return None;
            }
            principal
        } else {
            PrincipalMatch::Direct
        };
        if !self.action(statement) {
            return None;
        }
        let resource = self.resource(kind, statement);
        let conditions = self.conditions(&statement.condition);
        let (level, undetermined) = match (resource, conditions) {
            (PartMatch::No, _) | (_, PartMatch::No) => return None,
            (PartMatch::Yes, PartMatch::Yes) => (Tri::Yes, Vec::new()),
            (PartMatch::Maybe(mut a), PartMatch::Maybe(b)) => {
                a.extend(b);
                (Tri::Maybe, a)
            }
            (PartMatch::Maybe(a), PartMatch::Yes) | (PartMatch::Yes, PartMatch::Maybe(a)) => {
                (Tri::Maybe, a)
            }
        };
        let verb = match statement.effect {
            Effect::Allow => "allows",
            Effect::Deny => "denies",
        };
        let mut note = format!("{verb} the {} action", self.request.action);
        if principal == PrincipalMatch::Account {
            note.push_str(&format!(" for account {}", self.request.principal_account));
        }
        if level == Tri::Maybe {
            note = format!("{note} only if conditions the simulation cannot evaluate hold");
        }
        Some(Hit {
            kind,
            effect: statement.effect,
            level,
            principal,
            reason: Reason {
                kind,
                statement: Some(StatementRef::of(document, statement)),
                effect: Some(statement.effect),
                note,
                undetermined,
            },
        })
    }

    /// `Principal`/`NotPrincipal` of a resource-based statement (our matching: see `matching.rs`).
    fn principal(&self, statement: &Statement) -> PrincipalMatch {
        let (arn, account) = (&self.request.principal_arn, &self.request.principal_account);
        if let Some(principals) = &statement.principal {
            return principal_match(principals, arn, account);
        }
        if let Some(excluded) = &statement.not_principal {
            // AWS: a Deny with NotPrincipal always applies to a principal that
            // has a permissions boundary, whatever NotPrincipal lists.
            if self.has_boundary || principal_match(excluded, arn, account) == PrincipalMatch::No {
                return PrincipalMatch::Direct;
            }
        }
        // A resource-based statement without Principal names nobody.
        PrincipalMatch::No
    }

    /// `Action`/`NotAction`, with iam-rs's action matcher: the lower-cased
    /// pattern against the lower-cased action, `*` and `?` as wildcards.
    fn action(&self, statement: &Statement) -> bool {
        let matches = |patterns: &[String]| {
            patterns.iter().any(|pattern| {
                pattern == "*" || Arn::wildcard_match(&self.action, &pattern.to_ascii_lowercase())
            })
        };
        match (&statement.action, &statement.not_action) {
            (Some(patterns), _) => matches(patterns),
            (None, Some(patterns)) => !matches(patterns),
            (None, None) => false,
        }
    }

    fn resource(&self, kind: PolicyKind, statement: &Statement) -> PartMatch {
        let (patterns, negated) = match (&statement.resource, &statement.not_resource) {
            (Some(patterns), _) => (patterns, false),
            (None, Some(patterns)) => (patterns, true),
            // A repository policy has no Resource: it is about its repository.
            (None, None) if kind == PolicyKind::Resource => return PartMatch::Yes,
            (None, None) => return PartMatch::No,
        };
        let mut undetermined = Vec::new();
        let mut any = false;
        for pattern in patterns {
            match self.resource_pattern(pattern) {
                PartMatch::Yes => {
                    any = true;
                    break;
                }
                PartMatch::No => {}
                PartMatch::Maybe(conditions) => undetermined.extend(conditions),
            }
        }
        match (any, undetermined.is_empty(), negated) {
            (true, _, false) | (false, true, true) => PartMatch::Yes,
            (true, _, true) | (false, true, false) => PartMatch::No,
            (false, false, _) => PartMatch::Maybe(undetermined),
        }
    }

    fn resource_pattern(&self, pattern: &str) -> PartMatch {
        let pattern = match self.with_variables(pattern) {
            Ok(pattern) => pattern,
            Err(part) => return part,
        };
        let Some(arn) = &self.resource_arn else {
            // A request on `*` is matched only by patterns that match the
            // string `*` itself (iam-rs's wildcard matcher).
            return if Arn::wildcard_match("*", &pattern) {
                PartMatch::Yes
            } else {
                PartMatch::No
            };
        };
        let matched = match ArnMatcher::from_pattern(&pattern) {
            Ok(matcher) => matcher.matches(arn).unwrap_or(false),
            // iam-rs cannot read patterns with fewer than six fields
            // (`arn:aws:ecr:us-east-1:*`); AWS lets a trailing `*` span them.
            Err(_) => arn_pattern_matches(&pattern, &self.request.resource),
        };
        if matched {
            PartMatch::Yes
        } else {
            PartMatch::No
        }
    }

    /// Replaces policy variables (`${aws:PrincipalTag/team}`) with iam-rs's
    /// `interpolate_variables`, after checking that every key is known: an
    /// unknown one makes the match undetermined, a known-absent one without a
    /// default makes it fail (iam-rs would put an empty string there).
    fn with_variables(&self, text: &str) -> Result<String, PartMatch> {
        if !text.contains("${") {
            return Ok(text.to_string());
        }
        let mut rest = text;
        let mut escaped = String::with_capacity(text.len());
        while let Some(start) = rest.find("${") {
            escaped.push_str(&rest[..start]);
            let Some(length) = rest[start..].find('}') else {
                return Err(PartMatch::No);
            };
            let variable = &rest[start..start + length + 1];
            let inner = &variable[2..variable.len() - 1];
            let (key, default) = match inner.split_once(',') {
                Some((key, default)) => (key.trim(), Some(default)),
                None => (inner.trim(), None),
            };
            match key {
                // `${*}`, `${?}`, `${$}` stand for the characters themselves.
                "*" | "?" | "$" => escaped.push_str(key),
                _ => {
                    match self.known.get(key) {
                        None => {
                            return Err(PartMatch::Maybe(vec![UndeterminedCondition {
                                operator: "policy variable".to_string(),
                                key: key.to_string(),
                                values: vec![variable.to_string()],
                            }]));
                        }
                        Some([]) if default.is_none() => {
                            return Err(PartMatch::No);
                        }
                        Some(_) => {}
                    }
                    escaped.push_str(variable);
                }
            }
            rest = &rest[start + length + 1..];
        }
        escaped.push_str(rest);
        iam_rs::interpolate_variables(
            &escaped,
            self.variables.get_or_init(|| self.known.iam_context()),
        )
        .map_err(|_| PartMatch::No)
    }

    fn conditions(&self, conditions: &[Condition]) -> PartMatch {
        let mut undetermined = Vec::new();
        for condition in conditions {
            match self.condition(condition) {
                PartMatch::Yes => {}
                PartMatch::No => return PartMatch::No,
                PartMatch::Maybe(more) => undetermined.extend(more),
            }
        }
        if undetermined.is_empty() {
            PartMatch::Yes
        } else {
            PartMatch::Maybe(undetermined)
        }
    }

    /// One condition, evaluated by iam-rs's engine on a one-condition
    /// statement against a context holding just that key, typed for the operator.
    fn condition(&self, condition: &Condition) -> PartMatch {
        let undetermined = || {
            PartMatch::Maybe(vec![UndeterminedCondition {
                operator: condition.operator.clone(),
                key: condition.key.clone(),
                values: condition.values.clone(),
            }])
        };
        let Some(present) = self.known.get(&condition.key) else {
            return undetermined();
        };
        let operator = arn_equals_as_like(&condition.parsed_operator);
        let category = operator.category();
        let mut values = Vec::with_capacity(condition.values.len());
        for value in &condition.values {
            match self.with_variables(value) {
                Ok(value)
                    if category == OperatorType::Boolean || category == OperatorType::Null =>
                {
                    values.push(value.to_ascii_lowercase());
                }
                Ok(value) => values.push(value),
                Err(PartMatch::Maybe(more)) => return PartMatch::Maybe(more),
                Err(_) => return PartMatch::No,
            }
        }
        let value = match values.as_slice() {
            [one] if category == OperatorType::Boolean && one.parse::<bool>().is_ok() => {
                ConditionValue::Boolean(one == "true")
            }
            [one] => ConditionValue::String(one.clone()),
            _ => ConditionValue::StringList(values),
        };
        let mut context = Context::new();
        if let Some(typed) = typed_context_value(category, present) {
            context.insert(condition.key.clone(), typed);
        }
        let statement = IAMStatement::new(IAMEffect::Allow)
            .with_action(IAMAction::Single("*".to_string()))
            .with_resource(IAMResource::Single("*".to_string()))
            .with_condition_struct(iam_rs::Condition::new(
                operator,
                condition.key.clone(),
                value,
            ));
        let evaluator =
            PolicyEvaluator::with_policies(vec![IAMPolicy::new().add_statement(statement)]);
        let request = IAMRequest::new_with_context(
            Principal::Aws(PrincipalId::String(PLACEHOLDER_PRINCIPAL.to_string())),
            "condition:Evaluate",
            placeholder_resource(),
            context,
        );
        match evaluator.evaluate(&request) {
            Ok(result) if result.decision == IamDecision::Allow => PartMatch::Yes,
            Ok(_) => PartMatch::No,
            // Values iam-rs cannot compare (a malformed date, say): show the
            // condition rather than guess.
            Err(_) => undetermined(),
        }
    }
}

const PLACEHOLDER_PRINCIPAL: &str = "arn:aws:iam::000000000000:root";

fn placeholder_resource() -> Arn {
    Arn {
        partition: "aws".to_string(),
        service: "condition".to_string(),
        region: String::new(),
        account_id: "000000000000".to_string(),
        resource: "evaluate".to_string(),
    }
}

/// AWS's `ArnEquals` operators match wildcards exactly as `ArnLike` does; iam-rs
/// compares them as plain strings (`iam_rs_arn_equals_ignores_wildcards`), so
/// they are handed to it as their `ArnLike` twins.
fn arn_equals_as_like(operator: &IAMOperator) -> IAMOperator {
    let name = operator.as_str();
    if !name.contains("ArnEquals") && !name.contains("ArnNotEquals") {
        return operator.clone();
    }
    let like = name
        .replace("ArnNotEquals", "ArnNotLike")
        .replace("ArnEquals", "ArnLike");
    IAMOperator::from_str(&like).unwrap_or_else(|_| operator.clone())
}

/// The request's values for a key in the type iam-rs compares them as. iam-rs
/// compares `Bool` only against boolean context values, so `"true"` from a
/// request would never match (`iam_rs_bool_ignores_string_context`).
fn typed_context_value(category: OperatorType, values: &[String]) -> Option<ContextValue> {
    if category == OperatorType::Boolean {
        let booleans: Option<Vec<bool>> = values
            .iter()
            .map(|value| match value.to_ascii_lowercase().as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            })
            .collect();
        if let Some(booleans) = booleans {
            return match booleans.as_slice() {
                [] => None,
                [one] => Some(ContextValue::Boolean(*one)),
                many => Some(ContextValue::BooleanList(many.to_vec())),
            };
        }
    }
    match values {
        [] => None,
        [one] => Some(ContextValue::String(one.clone())),
        many => Some(ContextValue::StringList(many.to_vec())),
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod properties;
