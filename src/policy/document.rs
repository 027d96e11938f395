//! IAM policy documents as read from a file or a Terraform plan, keeping the
//! line of every statement so that a decision can name it.
//!
//! The JSON is read with a position-aware parser (`jsonc-parser`, in strict
//! JSON mode) and checked element by element here, so that every error says
//! where it is: `policy.json:3:7: Statement[0].Effect must be "Allow" or
//! "Deny"`. iam-rs parses policies too, but its serde errors name no element
//! (`data did not match any variant of untagged enum OneOrMany`), it rejects
//! documents AWS accepts (no `Version`, a `Principal` with both `AWS` and
//! `Service`, JSON booleans in a condition array) and it keeps no lines: see
//! `IAM_RS.md`. What we do take from iam-rs here is its list of condition
//! operators ([`iam_rs::IAMOperator`]).

use std::fmt;

use iam_rs::{IAMOperator, OperatorType};
use jsonc_parser::ast::{Object, ObjectProp, Value};
use jsonc_parser::common::Ranged;
use jsonc_parser::{CollectOptions, ParseOptions};

/// Where a policy document came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// What to call the document in an explanation: a file path, a Terraform
    /// address (`aws_ecr_repository_policy.app`) or a policy name.
    pub label: String,
    /// The file the text was read from, when there is one (a policy file or
    /// the Terraform plan).
    pub file: Option<String>,
}

impl Source {
    /// A document read from the file at `path`, labelled with the path.
    pub fn file(path: impl Into<String>) -> Self {
        let path = path.into();
        Self {
            label: path.clone(),
            file: Some(path),
        }
    }

    /// A document with a label and no file (built in memory, or given inline).
    pub fn label(label: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            file: None,
        }
    }

    /// The name used at the start of an error: the file when known, else the label.
    fn display_name(&self) -> &str {
        self.file.as_deref().unwrap_or(&self.label)
    }
}

/// One IAM policy document: its statements and where it came from.
#[derive(Debug, Clone)]
pub struct PolicyDocument {
    /// Where the document came from.
    pub source: Source,
    /// The `Version` element, when present (`2012-10-17` or `2008-10-17`).
    pub version: Option<String>,
    /// The `Id` element, when present.
    pub id: Option<String>,
    /// The statements, in document order.
    pub statements: Vec<Statement>,
}

/// `Allow` or `Deny`: the `Effect` of a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Effect {
    /// The statement allows what it matches.
    Allow,
    /// The statement explicitly denies what it matches.
    Deny,
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        })
    }
}

/// The `Principal` or `NotPrincipal` element of a resource-based statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principals {
    /// `"Principal": "*"`: everyone, including anonymous callers.
    Everyone,
    /// `{"AWS": [...], "Service": [...], ...}`: principals by type, in document order.
    Listed(Vec<(PrincipalType, Vec<String>)>),
}

impl Principals {
    /// The `AWS` entries (account IDs, account root ARNs, user and role ARNs, `*`).
    pub fn aws(&self) -> impl Iterator<Item = &str> {
        let listed: &[(PrincipalType, Vec<String>)] = match self {
            Principals::Everyone => &[],
            Principals::Listed(listed) => listed,
        };
        listed
            .iter()
            .filter(|(kind, _)| *kind == PrincipalType::Aws)
            .flat_map(|(_, ids)| ids.iter().map(String::as_str))
    }
}

/// The key of a principal entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PrincipalType {
    /// `AWS`: accounts, IAM users and roles, role sessions.
    Aws,
    /// `Service`: an AWS service such as `codebuild.amazonaws.com`.
    Service,
    /// `Federated`: a web identity or SAML provider.
    Federated,
    /// `CanonicalUser`: an S3 canonical user ID.
    CanonicalUser,
}

impl PrincipalType {
    fn from_key(key: &str) -> Option<Self> {
        match key {
            "AWS" => Some(Self::Aws),
            "Service" => Some(Self::Service),
            "Federated" => Some(Self::Federated),
            "CanonicalUser" => Some(Self::CanonicalUser),
            _ => None,
        }
    }
}

/// The set operator that prefixes a condition operator for multivalued keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetQualifier {
    /// `ForAnyValue:`: at least one of the request's values must match.
    ForAnyValue,
    /// `ForAllValues:`: every one of the request's values must match (true when there are none).
    ForAllValues,
}

/// One condition of a statement: an operator, a context key and its values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// The operator as written, e.g. `ForAnyValue:StringEqualsIfExists`.
    pub operator: String,
    /// The base operator, without `ForAnyValue:`/`ForAllValues:` and
    /// `IfExists` (iam-rs's list of AWS condition operators).
    pub parsed_operator: IAMOperator,
    /// `ForAnyValue:` or `ForAllValues:`, when written.
    pub qualifier: Option<SetQualifier>,
    /// Whether the operator ends in `IfExists`.
    pub if_exists: bool,
    /// The context key as written, e.g. `aws:SourceVpce`.
    pub key: String,
    /// The values as strings (JSON numbers and booleans in their JSON spelling).
    pub values: Vec<String>,
    /// 1-based line of the key in the file, when known.
    pub line: Option<usize>,
}

/// One statement of a policy document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The `Sid`, when present.
    pub sid: Option<String>,
    /// The position of the statement in its document's `Statement` list (0-based).
    pub index: usize,
    /// 1-based line of the statement object in its file, when known.
    pub line: Option<usize>,
    /// `Allow` or `Deny`.
    pub effect: Effect,
    /// The `Principal` element (resource-based policies).
    pub principal: Option<Principals>,
    /// The `NotPrincipal` element (resource-based policies, with `Deny`).
    pub not_principal: Option<Principals>,
    /// The `Action` patterns.
    pub action: Option<Vec<String>>,
    /// The `NotAction` patterns.
    pub not_action: Option<Vec<String>>,
    /// The `Resource` patterns.
    pub resource: Option<Vec<String>>,
    /// The `NotResource` patterns.
    pub not_resource: Option<Vec<String>>,
    /// The conditions, all of which must hold; in document order.
    pub condition: Vec<Condition>,
}

/// A policy that could not be read, with the place of the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{source_name}:{line}:{column}: {message}")]
pub struct PolicyError {
    /// The file, or the label when there is no file.
    pub source_name: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// What is wrong, naming the element (`Statement[0].Effect must be …`).
    pub message: String,
}

/// The largest input read: policies are at most a few kilobytes (IAM caps a
/// managed policy at 6,144 characters), a Terraform plan's policies too.
const MAX_INPUT_BYTES: usize = 4 * 1024 * 1024;

/// Reads one policy document, or a JSON array of them, from `text`.
///
/// `text` may also be a JSON string whose content is a policy, as a Terraform
/// `jsonencode(...)` value appears in a plan; the statements then carry the
/// line of that string. Never panics: any input that is not a policy gives a
/// [`PolicyError`] with the line and column of the problem.
pub fn parse_documents(text: &str, source: Source) -> Result<Vec<PolicyDocument>, PolicyError> {
    let reader = Reader {
        text,
        source: &source,
        outer: None,
    };
    if text.len() > MAX_INPUT_BYTES {
        return Err(reader.error_at(
            0,
            format!(
                "policy text is {} bytes; at most {MAX_INPUT_BYTES} are read",
                text.len()
            ),
        ));
    }
    reader.documents(0)
}

fn strict_json() -> ParseOptions {
    ParseOptions {
        allow_comments: false,
        allow_loose_object_property_names: false,
        allow_trailing_commas: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    }
}

/// Reads one text; `outer` is the position of the JSON string this text was
/// decoded from, when it was a `jsonencode` string inside another text.
struct Reader<'s> {
    text: &'s str,
    source: &'s Source,
    outer: Option<(usize, usize)>,
}

impl Reader<'_> {
    /// Line and column (1-based) of a byte offset in this text, or of the
    /// enclosing string when this text was decoded from one.
    fn position(&self, offset: usize) -> (usize, usize) {
        if let Some(outer) = self.outer {
            return outer;
        }
        line_column(self.text, offset)
    }

    fn line_of(&self, offset: usize) -> usize {
        self.position(offset).0
    }

    fn error_at(&self, offset: usize, message: String) -> PolicyError {
        let (line, column) = self.position(offset);
        PolicyError {
            source_name: self.source.display_name().to_string(),
            line,
            column,
            message,
        }
    }

    fn documents(&self, depth: usize) -> Result<Vec<PolicyDocument>, PolicyError> {
        let parsed =
            jsonc_parser::parse_to_ast(self.text, &CollectOptions::default(), &strict_json())
                .map_err(|error| {
                    let (line, column) = match self.outer {
                        Some(outer) => outer,
                        None => (error.line_display(), error.column_display()),
                    };
                    let inner = if self.outer.is_some() {
                        format!(
                            " (at {}:{} inside the JSON string)",
                            error.line_display(),
                            error.column_display()
                        )
                    } else {
                        String::new()
                    };
                    PolicyError {
                        source_name: self.source.display_name().to_string(),
                        line,
                        column,
                        message: format!("invalid JSON: {}{inner}", error.kind()),
                    }
                })?;
        let Some(root) = parsed.value else {
            return Err(self.error_at(
                self.text.len(),
                "no policy here: expected a policy document (a JSON object) or an array of them"
                    .to_string(),
            ));
        };
        match &root {
            Value::Object(object) => Ok(vec![self.document(object, "")?]),
            Value::Array(array) => array
                .elements
                .iter()
                .enumerate()
                .map(|(i, element)| match element {
                    Value::Object(object) => self.document(object, &format!("[{i}].")),
                    other => Err(self.error_at(
                        other.start(),
                        format!(
                            "[{i}] must be a policy document (a JSON object), not {}",
                            kind_of(other)
                        ),
                    )),
                })
                .collect(),
            // A Terraform `jsonencode(...)` value seen as a JSON string: read its content.
            Value::StringLit(string) if depth == 0 => {
                let inner = Reader {
                    text: &string.value,
                    source: self.source,
                    outer: Some(self.position(string.range.start)),
                };
                inner.documents(depth + 1)
            }
            other => Err(self.error_at(
                other.start(),
                format!(
                    "expected a policy document (a JSON object) or an array of them, not {}",
                    kind_of(other)
                ),
            )),
        }
    }

    fn document(&self, object: &Object<'_>, path: &str) -> Result<PolicyDocument, PolicyError> {
        let props = self.unique_props(object, path)?;
        let mut version = None;
        let mut id = None;
        let mut statement = None;
        for prop in props {
            let name = prop.name.as_str();
            match name {
                "Version" => {
                    let value = self.string(&prop.value, &format!("{path}Version"))?;
                    if value != "2012-10-17" && value != "2008-10-17" {
                        return Err(self.error_at(
                            prop.value.start(),
                            format!("{path}Version must be \"2012-10-17\" or \"2008-10-17\", not {value:?}"),
                        ));
                    }
                    version = Some(value);
                }
                "Id" => id = Some(self.string(&prop.value, &format!("{path}Id"))?),
                "Statement" => statement = Some(prop),
                other => {
                    return Err(self.error_at(
                        prop.range.start,
                        format!(
                            "{path}{other:?} is not a policy element (expected Version, Id, Statement)"
                        ),
                    ));
                }
            }
        }
        let Some(statement) = statement else {
            return Err(self.error_at(
                object.range.start,
                format!("{path}Statement is missing: a policy needs at least one statement"),
            ));
        };
        let statements = match &statement.value {
            Value::Object(object) => {
                vec![self.statement(object, 0, &format!("{path}Statement"))?]
            }
            Value::Array(array) => {
                if array.elements.is_empty() {
                    return Err(self.error_at(
                        array.range.start,
                        format!("{path}Statement is empty: a policy needs at least one statement"),
                    ));
                }
                array
                    .elements
                    .iter()
                    .enumerate()
                    .map(|(i, element)| {
                        let element_path = format!("{path}Statement[{i}]");
                        match element {
                            Value::Object(object) => self.statement(object, i, &element_path),
                            other => Err(self.error_at(
                                other.start(),
                                format!("{element_path} must be an object, not {}", kind_of(other)),
                            )),
                        }
                    })
                    .collect::<Result<_, _>>()?
            }
            other => {
                return Err(self.error_at(
                    other.start(),
                    format!(
                        "{path}Statement must be an object or an array of objects, not {}",
                        kind_of(other)
                    ),
                ));
            }
        };
        Ok(PolicyDocument {
            source: self.source.clone(),
            version,
            id,
            statements,
        })
    }

    fn statement(
        &self,
        object: &Object<'_>,
        index: usize,
        path: &str,
    ) -> Result<Statement, PolicyError> {
        let props = self.unique_props(object, path)?;
        let mut statement = Statement {
            sid: None,
            index,
            line: Some(self.line_of(object.range.start)),
            effect: Effect::Allow,
            principal: None,
            not_principal: None,
            action: None,
            not_action: None,
            resource: None,
            not_resource: None,
            condition: Vec::new(),
        };
        let mut effect = None;
        for prop in props {
            let name = prop.name.as_str();
            let element = format!("{path}.{name}");
            match name {
                "Sid" => statement.sid = Some(self.string(&prop.value, &element)?),
                "Effect" => {
                    effect = Some(match self.string(&prop.value, &element)?.as_str() {
                        "Allow" => Effect::Allow,
                        "Deny" => Effect::Deny,
                        _ => {
                            return Err(self.error_at(
                                prop.value.start(),
                                format!("{element} must be \"Allow\" or \"Deny\""),
                            ));
                        }
                    });
                }
                "Principal" => statement.principal = Some(self.principals(&prop.value, &element)?),
                "NotPrincipal" => {
                    statement.not_principal = Some(self.principals(&prop.value, &element)?)
                }
                "Action" => statement.action = Some(self.actions(&prop.value, &element)?),
                "NotAction" => statement.not_action = Some(self.actions(&prop.value, &element)?),
                "Resource" => statement.resource = Some(self.strings(&prop.value, &element)?),
                "NotResource" => {
                    statement.not_resource = Some(self.strings(&prop.value, &element)?)
                }
                "Condition" => statement.condition = self.conditions(&prop.value, &element)?,
                other => {
                    return Err(self.error_at(
                        prop.range.start,
                        format!(
                            "{path}: {other:?} is not a statement element (expected Sid, Effect, Principal, \
                             NotPrincipal, Action, NotAction, Resource, NotResource, Condition)"
                        ),
                    ));
                }
            }
        }
        let at = object.range.start;
        statement.effect = effect.ok_or_else(|| {
            self.error_at(
                at,
                format!("{path}.Effect is missing: it must be \"Allow\" or \"Deny\""),
            )
        })?;
        for (a, b, what) in [
            (
                statement.action.is_some(),
                statement.not_action.is_some(),
                "Action and NotAction",
            ),
            (
                statement.resource.is_some(),
                statement.not_resource.is_some(),
                "Resource and NotResource",
            ),
            (
                statement.principal.is_some(),
                statement.not_principal.is_some(),
                "Principal and NotPrincipal",
            ),
        ] {
            if a && b {
                return Err(self.error_at(at, format!("{path} has both {what}: use one of them")));
            }
        }
        if statement.action.is_none() && statement.not_action.is_none() {
            return Err(self.error_at(at, format!("{path} has neither Action nor NotAction")));
        }
        if statement.not_principal.is_some() && statement.effect == Effect::Allow {
            return Err(self.error_at(
                at,
                format!("{path}.NotPrincipal is only allowed with \"Effect\": \"Deny\""),
            ));
        }
        Ok(statement)
    }

    /// The properties of an object, refusing a key given twice (AWS rejects
    /// such a document, and a reader could not tell which one counts).
    fn unique_props<'a, 'b>(
        &self,
        object: &'b Object<'a>,
        path: &str,
    ) -> Result<&'b [ObjectProp<'a>], PolicyError> {
        for (i, prop) in object.properties.iter().enumerate() {
            let name = prop.name.as_str();
            if object.properties[..i]
                .iter()
                .any(|earlier| earlier.name.as_str() == name)
            {
                let at = if path.is_empty() {
                    String::new()
                } else {
                    format!("{path}: ")
                };
                return Err(self.error_at(prop.range.start, format!("{at}{name:?} is given twice")));
            }
        }
        Ok(&object.properties)
    }

    fn string(&self, value: &Value<'_>, element: &str) -> Result<String, PolicyError> {
        match value {
            Value::StringLit(string) => Ok(string.value.to_string()),
            other => Err(self.error_at(
                other.start(),
                format!("{element} must be a string, not {}", kind_of(other)),
            )),
        }
    }

    /// A string or a non-empty array of strings.
    fn strings(&self, value: &Value<'_>, element: &str) -> Result<Vec<String>, PolicyError> {
        match value {
            Value::StringLit(string) => Ok(vec![string.value.to_string()]),
            Value::Array(array) => {
                if array.elements.is_empty() {
                    return Err(
                        self.error_at(array.range.start, format!("{element} is an empty list"))
                    );
                }
                array
                    .elements
                    .iter()
                    .enumerate()
                    .map(|(i, element_value)| {
                        self.string(element_value, &format!("{element}[{i}]"))
                    })
                    .collect()
            }
            other => Err(self.error_at(
                other.start(),
                format!(
                    "{element} must be a string or an array of strings, not {}",
                    kind_of(other)
                ),
            )),
        }
    }

    fn actions(&self, value: &Value<'_>, element: &str) -> Result<Vec<String>, PolicyError> {
        let actions = self.strings(value, element)?;
        for (i, action) in actions.iter().enumerate() {
            if let Err(why) = action_grammar(action) {
                let at = match value {
                    Value::Array(array) => {
                        array.elements.get(i).map_or(value.start(), Ranged::start)
                    }
                    _ => value.start(),
                };
                let which = if matches!(value, Value::Array(_)) {
                    format!("{element}[{i}]")
                } else {
                    element.to_string()
                };
                return Err(self.error_at(at, format!("{which} {action:?} {why}")));
            }
        }
        Ok(actions)
    }

    fn principals(&self, value: &Value<'_>, element: &str) -> Result<Principals, PolicyError> {
        match value {
            Value::StringLit(string) if string.value == "*" => Ok(Principals::Everyone),
            Value::Object(object) => {
                let props = self.unique_props(object, element)?;
                if props.is_empty() {
                    return Err(
                        self.error_at(object.range.start, format!("{element} is an empty object"))
                    );
                }
                props
                    .iter()
                    .map(|prop| {
                        let key = prop.name.as_str();
                        let kind = PrincipalType::from_key(key).ok_or_else(|| {
                            self.error_at(
                                prop.range.start,
                                format!(
                                    "{element}: {key:?} is not a principal type (expected AWS, Service, Federated, CanonicalUser)"
                                ),
                            )
                        })?;
                        Ok((kind, self.strings(&prop.value, &format!("{element}.{key}"))?))
                    })
                    .collect::<Result<_, _>>()
                    .map(Principals::Listed)
            }
            other => Err(self.error_at(
                other.start(),
                format!(
                    "{element} must be \"*\" or an object such as {{\"AWS\": \"…\"}}, not {}",
                    kind_of(other)
                ),
            )),
        }
    }

    fn conditions(&self, value: &Value<'_>, element: &str) -> Result<Vec<Condition>, PolicyError> {
        let Value::Object(object) = value else {
            return Err(self.error_at(
                value.start(),
                format!("{element} must be an object, not {}", kind_of(value)),
            ));
        };
        let mut conditions = Vec::new();
        for operator_prop in self.unique_props(object, element)? {
            let operator = operator_prop.name.as_str();
            let operator_path = format!("{element}.{operator}");
            let (qualifier, parsed_operator, if_exists) =
                condition_operator(operator).ok_or_else(|| {
                    self.error_at(
                        operator_prop.range.start,
                        format!("{element}: {operator:?} is not a condition operator"),
                    )
                })?;
            let Value::Object(keys) = &operator_prop.value else {
                return Err(self.error_at(
                    operator_prop.value.start(),
                    format!(
                        "{operator_path} must be an object of context keys, not {}",
                        kind_of(&operator_prop.value)
                    ),
                ));
            };
            for key_prop in self.unique_props(keys, &operator_path)? {
                let key = key_prop.name.as_str();
                let key_path = format!("{operator_path}.{key}");
                let values = self.condition_values(&key_prop.value, &key_path)?;
                self.check_condition_values(&parsed_operator, &values, &key_prop.value, &key_path)?;
                conditions.push(Condition {
                    operator: operator.to_string(),
                    parsed_operator: parsed_operator.clone(),
                    qualifier,
                    if_exists,
                    key: key.to_string(),
                    values,
                    line: Some(self.line_of(key_prop.range.start)),
                });
            }
        }
        Ok(conditions)
    }

    /// A condition value: a string, number or boolean, or a non-empty array of them.
    fn condition_values(
        &self,
        value: &Value<'_>,
        element: &str,
    ) -> Result<Vec<String>, PolicyError> {
        let scalar = |value: &Value<'_>, element: &str| match value {
            Value::StringLit(string) => Ok(string.value.to_string()),
            Value::NumberLit(number) => Ok(number.value.to_string()),
            Value::BooleanLit(boolean) => Ok(boolean.value.to_string()),
            other => Err(self.error_at(
                other.start(),
                format!(
                    "{element} must be a string, number or boolean, not {}",
                    kind_of(other)
                ),
            )),
        };
        match value {
            Value::Array(array) => {
                if array.elements.is_empty() {
                    return Err(
                        self.error_at(array.range.start, format!("{element} is an empty list"))
                    );
                }
                array
                    .elements
                    .iter()
                    .enumerate()
                    .map(|(i, element_value)| scalar(element_value, &format!("{element}[{i}]")))
                    .collect()
            }
            other => Ok(vec![scalar(other, element)?]),
        }
    }

    /// Values the operator cannot compare are an error here, with their place,
    /// rather than a condition that silently never matches.
    fn check_condition_values(
        &self,
        operator: &IAMOperator,
        values: &[String],
        value: &Value<'_>,
        element: &str,
    ) -> Result<(), PolicyError> {
        let bad = |what: &str, v: &str| {
            Err(self.error_at(value.start(), format!("{element}: {v:?} is not {what}")))
        };
        for v in values {
            match operator.category() {
                OperatorType::Numeric
                    if v.trim().parse::<f64>().map_or(true, |n| !n.is_finite()) =>
                {
                    return bad("a number", v);
                }
                OperatorType::Boolean | OperatorType::Null
                    if !v.eq_ignore_ascii_case("true") && !v.eq_ignore_ascii_case("false") =>
                {
                    return bad("true or false", v);
                }
                OperatorType::IpAddress if ip_network(v).is_none() => {
                    return bad("an IP address or CIDR range", v);
                }
                _ => {}
            }
        }
        Ok(())
    }
}

fn kind_of(value: &Value<'_>) -> &'static str {
    match value {
        Value::StringLit(_) => "a string",
        Value::NumberLit(_) => "a number",
        Value::BooleanLit(_) => "a boolean",
        Value::Object(_) => "an object",
        Value::Array(_) => "an array",
        Value::NullKeyword(_) => "null",
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

mod grammar;
use grammar::ip_network;
pub(crate) use grammar::{action_grammar, condition_operator};

#[cfg(test)]
mod tests;
