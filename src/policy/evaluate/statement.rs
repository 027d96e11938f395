//! Does one statement apply to one request: its principal, action,
//! resource and conditions, with iam-rs where it gets AWS right and our own
//! matching where it does not (`IAM_RS.md`). [`super::evaluate`] combines
//! the answers across the policy types.

use super::*;

/// The request context, with names folded to lower case, and the keys the
/// simulation derives from the request itself.
pub(super) struct KnownContext {
    keys: HashMap<String, Vec<String>>,
}

impl KnownContext {
    pub(super) fn of(request: &Request) -> Self {
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
    pub(super) fn get(&self, key: &str) -> Option<&[String]> {
        self.keys.get(&key.to_ascii_lowercase()).map(Vec::as_slice)
    }

    /// The known, present keys as iam-rs's context (for policy variables).
    pub(super) fn iam_context(&self) -> Context {
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
pub(super) enum PartMatch {
    Yes,
    No,
    Maybe(Vec<UndeterminedCondition>),
}

/// Matches statements against one request.
pub(super) struct Matcher<'r> {
    request: &'r Request,
    known: &'r KnownContext,
    /// The request's action, lower-cased once (actions compare case-insensitively).
    action: String,
    /// The resource as iam-rs's ARN; `None` when the request is on `*`.
    pub(super) resource_arn: Option<Arn>,
    /// The known keys as iam-rs's context, built on first use (policy variables).
    variables: std::cell::OnceCell<Context>,
    has_boundary: bool,
}

impl<'r> Matcher<'r> {
    pub(super) fn new(request: &'r Request, known: &'r KnownContext, has_boundary: bool) -> Self {
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

    pub(super) fn statement(
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
    pub(super) fn principal(&self, statement: &Statement) -> PrincipalMatch {
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
    pub(super) fn action(&self, statement: &Statement) -> bool {
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

    pub(super) fn resource(&self, kind: PolicyKind, statement: &Statement) -> PartMatch {
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

    pub(super) fn resource_pattern(&self, pattern: &str) -> PartMatch {
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
    pub(super) fn with_variables(&self, text: &str) -> Result<String, PartMatch> {
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

    pub(super) fn conditions(&self, conditions: &[Condition]) -> PartMatch {
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
    pub(super) fn condition(&self, condition: &Condition) -> PartMatch {
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

pub(super) fn placeholder_resource() -> Arn {
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
pub(super) fn arn_equals_as_like(operator: &IAMOperator) -> IAMOperator {
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
pub(super) fn typed_context_value(
    category: OperatorType,
    values: &[String],
) -> Option<ContextValue> {
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
