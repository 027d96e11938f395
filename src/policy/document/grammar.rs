//! IAM's grammar for the parts of a statement iam-rs reads too loosely or
//! too strictly: action names and condition operators.

use std::str::FromStr;

use iam_rs::{IAMOperator, OperatorType};
use ipnet::IpNet;

use super::SetQualifier;

/// An `Action`/`NotAction` entry in IAM's grammar, or why it is not.
///
/// IAM User Guide, IAM JSON policy element grammar: `<action_string> = "*" |
/// <service>:<action>`; Action element: "you can use wildcards (* or ?) as
/// part of the action name" — the name, not the service prefix, which is a
/// fixed namespace such as `ecr` (letters, digits and hyphens). iam-rs and
/// our earlier parser accepted `ecr :PutImage` and `e*r:PutImage` and matched
/// them as globs (`iam_rs_matches_a_wildcard_service_prefix`).
pub(crate) fn action_grammar(action: &str) -> Result<(), &'static str> {
    if action == "*" {
        return Ok(());
    }
    let Some((service, name)) = action.split_once(':') else {
        return Err("is not \"service:action\" or \"*\"");
    };
    if service.is_empty() {
        return Err("has no service prefix before the colon (\"service:action\")");
    }
    if service.contains(['*', '?']) {
        return Err(
            "has a wildcard in the service prefix: wildcards may only be used in the action name (\"ecr:Put*\")",
        );
    }
    if !service
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(
            "has a service prefix that is not letters, digits and hyphens (a space, perhaps)",
        );
    }
    if name.is_empty() {
        return Err("has no action name after the colon (\"service:action\")");
    }
    if name.contains(':') {
        return Err("has more than one colon (\"service:action\")");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '*' || c == '?')
    {
        return Err("has an action name that is not letters, digits, * and ? (a space, perhaps)");
    }
    Ok(())
}

/// A condition operator in IAM's grammar: an optional set operator
/// (`ForAnyValue:`, `ForAllValues:`), a base operator, and an optional
/// `IfExists` (not after `Null`). IAM User Guide, Condition operators: "You can
/// add IfExists to the end of any condition operator name except the Null
/// condition"; "ForAllValues … ForAnyValue … you can use these set operators
/// with any condition operator" (multivalued context keys). iam-rs's operator
/// list knows only some of the combinations (it rejects
/// `ForAnyValue:StringEqualsIfExists`, `ForAllValues:NumericLessThan`, …:
/// `iam_rs_rejects_most_set_operator_combinations`), so the base alone is
/// looked up there.
pub(crate) fn condition_operator(
    operator: &str,
) -> Option<(Option<SetQualifier>, IAMOperator, bool)> {
    let (qualifier, rest) = if let Some(rest) = operator.strip_prefix("ForAnyValue:") {
        (Some(SetQualifier::ForAnyValue), rest)
    } else if let Some(rest) = operator.strip_prefix("ForAllValues:") {
        (Some(SetQualifier::ForAllValues), rest)
    } else {
        (None, operator)
    };
    let (base, if_exists) = match rest.strip_suffix("IfExists") {
        Some(base) => (base, true),
        None => (rest, false),
    };
    if base.contains(':') || base.ends_with("IfExists") || (base == "Null" && if_exists) {
        return None;
    }
    let parsed = IAMOperator::from_str(base).ok()?;
    if qualifier.is_some() && parsed.category() == OperatorType::Null {
        return None;
    }
    Some((qualifier, parsed, if_exists))
}

/// An IP address or CIDR range as the `IpAddress` operators read it (an
/// address alone is a /32 or /128).
pub(super) fn ip_network(value: &str) -> Option<IpNet> {
    let value = value.trim();
    if value.contains('/') {
        value.parse().ok()
    } else {
        value.parse::<std::net::IpAddr>().ok().map(IpNet::from)
    }
}
