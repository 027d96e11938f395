//! Does one statement apply to one request: its principal, action,
//! resource and conditions, with iam-rs where it gets AWS right and our own
//! matching where it does not (`IAM_RS.md`). [`super::evaluate`] combines
//! the answers across the policy types.

use super::*;

mod condition;

/// The request context, with names folded to lower case, and the keys the
/// simulation derives from the request itself.
#[derive(Clone)]
pub(super) struct KnownContext {
    keys: HashMap<String, Vec<String>>,
    /// Keys whose value is known only in part: `aws:userid` of a role
    /// session is `ROLE-ID:SESSION`, and the role's unique ID is not known offline.
    partial: Vec<String>,
}

/// Stands for a role's unique ID (`AROA…`) in `aws:userid`, unknown offline:
/// a condition is only evaluated on it when the policy's values cannot tell
/// one ID from another (`*:GitHubActions`).
pub(super) const UNKNOWN_ROLE_ID: &str = "AROAUNKNOWNROLEID";

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
        let mut partial = Vec::new();
        // IAM User Guide, global condition keys: aws:username "is always
        // included in the request context for IAM users. Anonymous requests
        // and requests that are made using the AWS account root user or IAM
        // roles do not include this key"; aws:userid is "role-id:caller-specified-role-name"
        // for a role session and the user's unique ID for a user.
        if let Some(user) = request.principal_arn.split_once(":user/").map(|(_, u)| u) {
            let name = user.rsplit('/').next().unwrap_or(user);
            keys.insert("aws:username".to_string(), vec![name.to_string()]);
        } else if request.principal_is_role() {
            keys.insert("aws:username".to_string(), Vec::new());
            if let Some(session) = &request.session_name {
                keys.insert(
                    "aws:userid".to_string(),
                    vec![format!("{UNKNOWN_ROLE_ID}:{session}")],
                );
                partial.push("aws:userid".to_string());
            }
        }
        for (key, values) in &request.context {
            let key = key.to_ascii_lowercase();
            partial.retain(|p| *p != key);
            keys.insert(key, values.clone());
        }
        Self { keys, partial }
    }

    /// The same context with one key set (a candidate world for a key that is unknown).
    pub(super) fn with(&self, key: &str, values: Vec<String>) -> Self {
        let mut known = self.clone();
        let key = key.to_ascii_lowercase();
        known.partial.retain(|p| *p != key);
        known.keys.insert(key, values);
        known
    }

    /// Whether the key's value is known only in part (see `partial`).
    pub(super) fn is_partial(&self, key: &str) -> bool {
        let key = key.to_ascii_lowercase();
        self.partial.contains(&key)
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

impl From<bool> for PartMatch {
    fn from(matched: bool) -> Self {
        if matched {
            PartMatch::Yes
        } else {
            PartMatch::No
        }
    }
}

/// Where policy variables are substituted in a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Variables {
    /// Nowhere: the document is not `Version` 2012-10-17.
    Off,
    /// Anywhere (condition values).
    Anywhere,
    /// Only after the fifth colon (a `Resource` ARN).
    AfterFifthColon,
}

/// A `$` the policy wrote literally (`${$}`, or a variable where none may
/// be), hidden from iam-rs's interpolation.
const LITERAL_DOLLAR: char = '\u{E002}';

/// The operator shown for an unknown policy variable.
pub(super) const VARIABLE: &str = "policy variable";

fn unknown_variable(key: &str, variable: &str) -> PartMatch {
    PartMatch::Maybe(vec![UndeterminedCondition {
        operator: VARIABLE.to_string(),
        key: key.to_string(),
        values: vec![variable.to_string()],
    }])
}

/// A `Resource` pattern with every policy variable as `*`: what it matches
/// whatever the variables hold.
fn variables_as_wildcards(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut rest = pattern;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        match rest[start..].find('}') {
            Some(length) => {
                out.push('*');
                rest = &rest[start + length + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
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
        let variables = document.version.as_deref() == Some("2012-10-17");
        let resource = self.resource(kind, statement, variables);
        let conditions = self.conditions(&statement.condition, variables);
        if let PartMatch::Maybe(unknown) = &resource
            && !matches!(conditions, PartMatch::No)
            && self.no_world_applies(kind, statement, variables, unknown)
        {
            return None;
        }
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
        let session = self.request.session_arn();
        let session = session.as_deref();
        if let Some(principals) = &statement.principal {
            return principal_match(principals, arn, account, session);
        }
        if let Some(excluded) = &statement.not_principal {
            // AWS: a Deny with NotPrincipal always applies to a principal that
            // has a permissions boundary, whatever NotPrincipal lists.
            if self.has_boundary
                || principal_match(excluded, arn, account, session) == PrincipalMatch::No
            {
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

    pub(super) fn resource(
        &self,
        kind: PolicyKind,
        statement: &Statement,
        variables: bool,
    ) -> PartMatch {
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
            match self.resource_pattern(pattern, variables) {
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

    pub(super) fn resource_pattern(&self, pattern: &str, variables: bool) -> PartMatch {
        let place = if variables {
            Variables::AfterFifthColon
        } else {
            Variables::Off
        };
        match self.with_variables(pattern, place) {
            Ok(pattern) => self.resource_matches(&pattern).into(),
            // A pattern that cannot match whatever the variables hold leaves
            // nothing undetermined: try it with every variable as `*`.
            Err(PartMatch::Maybe(unknown)) => {
                if self.resource_matches(&variables_as_wildcards(pattern)) {
                    PartMatch::Maybe(unknown)
                } else {
                    PartMatch::No
                }
            }
            Err(part) => part,
        }
    }

    /// Whether a `Resource` pattern (variables replaced) matches the request's resource.
    fn resource_matches(&self, pattern: &str) -> bool {
        let literal = pattern.contains([LITERAL_STAR, LITERAL_QUESTION]);
        let Some(arn) = &self.resource_arn else {
            // A request on `*` is matched only by patterns that match the
            // string `*` itself (iam-rs's wildcard matcher).
            return if literal {
                arn_pattern_matches(pattern, "*")
            } else {
                Arn::wildcard_match("*", pattern)
            };
        };
        if literal {
            // iam-rs has no literal `*` or `?`: `${*}`, `${?}` need our matcher.
            return arn_pattern_matches(pattern, &self.request.resource);
        }
        match ArnMatcher::from_pattern(pattern) {
            Ok(matcher) => matcher.matches(arn).unwrap_or(false),
            // iam-rs cannot read patterns with fewer than six fields
            // (`arn:aws:ecr:us-east-1:*`); AWS lets a trailing `*` span them.
            Err(_) => arn_pattern_matches(pattern, &self.request.resource),
        }
    }

    /// For a statement whose `Resource` depends on unknown variables: whether
    /// no value of them lets the statement apply, judged over the values its
    /// own conditions allow (`StringEquals` on the key: one of its values;
    /// `Null` true: absent). The resource and the condition are about the
    /// same key, so they are not independent: `repository/${aws:PrincipalTag/team}`
    /// with `StringEquals aws:PrincipalTag/team: app` never matches `repository/web`.
    fn no_world_applies(
        &self,
        kind: PolicyKind,
        statement: &Statement,
        variables: bool,
        unknown: &[UndeterminedCondition],
    ) -> bool {
        let mut worlds: Vec<(String, Vec<Vec<String>>)> = Vec::new();
        for variable in unknown.iter().filter(|u| u.operator == VARIABLE) {
            let key = variable.key.to_ascii_lowercase();
            let candidates: Vec<Vec<String>> = statement
                .condition
                .iter()
                .filter(|c| {
                    c.key.eq_ignore_ascii_case(&key) && c.qualifier.is_none() && !c.if_exists
                })
                .find_map(|c| match c.parsed_operator {
                    IAMOperator::StringEquals if c.values.iter().all(|v| !v.contains("${")) => {
                        Some(c.values.iter().map(|v| vec![v.clone()]).collect())
                    }
                    IAMOperator::Null
                        if c.values.iter().all(|v| v.eq_ignore_ascii_case("true")) =>
                    {
                        Some(vec![Vec::new()])
                    }
                    _ => None,
                })
                .unwrap_or_default();
            if candidates.is_empty() {
                return false;
            }
            worlds.push((key, candidates));
        }
        if worlds.is_empty() {
            return false;
        }
        // Every combination of the candidate values (a handful at most).
        let mut contexts = vec![self.known.clone()];
        for (key, candidates) in &worlds {
            contexts = contexts
                .iter()
                .flat_map(|known| candidates.iter().map(|v| known.with(key, v.clone())))
                .collect();
            if contexts.len() > 64 {
                return false;
            }
        }
        contexts.iter().all(|known| {
            let matcher = Matcher::new(self.request, known, self.has_boundary);
            matches!(matcher.resource(kind, statement, variables), PartMatch::No)
                || matches!(
                    matcher.conditions(&statement.condition, variables),
                    PartMatch::No
                )
        })
    }

    /// Replaces policy variables (`${aws:PrincipalTag/team}`) with iam-rs's
    /// `interpolate_variables`, after checking that every key is known: an
    /// unknown one makes the match undetermined, a known-absent one without a
    /// default makes it fail (iam-rs would put an empty string there).
    ///
    /// IAM User Guide, policy variables: "You can use policy variables in the
    /// Resource element … only in the resource portion of the ARN. This
    /// portion of the ARN appears after the fifth colon (:). You can't use a
    /// variable to replace parts of the ARN before the fifth colon, such as the
    /// service or account" (there a variable is literal text); "${*}, ${?},
    /// ${$} … represent the literal characters *, ?, $" (kept as
    /// [`LITERAL_STAR`]/[`LITERAL_QUESTION`] so the matchers do not read them
    /// as wildcards); and "if you don't include the Version element … or use
    /// an older version, variables such as ${aws:username} aren't recognized
    /// as variables and are instead treated as literal strings" ([`Variables::Off`]).
    /// iam-rs substitutes everywhere and writes `${*}` back as a wildcard
    /// (`iam_rs_substitutes_variables_before_the_fifth_colon`).
    pub(super) fn with_variables(&self, text: &str, place: Variables) -> Result<String, PartMatch> {
        if place == Variables::Off || !text.contains("${") {
            return Ok(text.to_string());
        }
        let mut rest = text;
        let mut escaped = String::with_capacity(text.len());
        while let Some(start) = rest.find("${") {
            escaped.push_str(&rest[..start]);
            let offset = text.len() - rest.len() + start;
            let Some(length) = rest[start..].find('}') else {
                // Not a variable: literal text.
                escaped.push(LITERAL_DOLLAR);
                escaped.push_str(&rest[start + 1..]);
                rest = "";
                break;
            };
            let variable = &rest[start..start + length + 1];
            rest = &rest[start + length + 1..];
            let before_fifth_colon =
                place == Variables::AfterFifthColon && text[..offset].matches(':').count() < 5;
            if before_fifth_colon {
                escaped.push(LITERAL_DOLLAR);
                escaped.push_str(&variable[1..]);
                continue;
            }
            let inner = &variable[2..variable.len() - 1];
            let (key, default) = match inner.split_once(',') {
                Some((key, default)) => (key.trim(), Some(default)),
                None => (inner.trim(), None),
            };
            match key {
                "*" => escaped.push(LITERAL_STAR),
                "?" => escaped.push(LITERAL_QUESTION),
                "$" => escaped.push(LITERAL_DOLLAR),
                _ => {
                    match self.known.get(key) {
                        None => return Err(unknown_variable(key, variable)),
                        Some(_) if self.known.is_partial(key) => {
                            return Err(unknown_variable(key, variable));
                        }
                        Some([]) if default.is_none() => {
                            return Err(PartMatch::No);
                        }
                        Some(_) => {}
                    }
                    escaped.push_str(variable);
                }
            }
        }
        escaped.push_str(rest);
        iam_rs::interpolate_variables(
            &escaped,
            self.variables.get_or_init(|| self.known.iam_context()),
        )
        .map(|text| text.replace(LITERAL_DOLLAR, "$"))
        .map_err(|_| PartMatch::No)
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
