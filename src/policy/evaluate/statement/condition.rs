//! The `Condition` element: each condition of a statement against the
//! request's context. The base operators are iam-rs's; the set operators
//! (`ForAnyValue:`, `ForAllValues:`), `IfExists`, keys the request does not
//! describe and values with a literal `${*}`/`${?}` are ours.

use super::*;
use crate::policy::document::SetQualifier;

impl Matcher<'_> {
    pub(in crate::policy::evaluate) fn conditions(
        &self,
        conditions: &[Condition],
        variables: bool,
    ) -> PartMatch {
        let mut undetermined = Vec::new();
        for condition in conditions {
            match self.condition(condition, variables) {
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

    /// One condition.
    ///
    /// IAM User Guide, Condition operators: "If the policy key is present in
    /// the context of the request, process the key as specified in the
    /// policy. If the key is not present, evaluate the condition element as
    /// true" (`…IfExists`); single-valued vs. multivalued context keys:
    /// "ForAllValues … returns true if every key value in the request matches
    /// at least one value in the policy. It also returns true if there are no
    /// context keys in the request"; "ForAnyValue … returns true if any one of
    /// the key values in the request matches any one of the condition values
    /// in your policy. For context keys that are not present, it returns false".
    pub(in crate::policy::evaluate) fn condition(
        &self,
        condition: &Condition,
        variables: bool,
    ) -> PartMatch {
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
        let place = if variables {
            Variables::Anywhere
        } else {
            Variables::Off
        };
        let mut values = Vec::with_capacity(condition.values.len());
        for value in &condition.values {
            match self.with_variables(value, place) {
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
        // A value known only in part (`aws:userid` of a role session): only
        // policy values that cannot tell the unknown part apart are decided.
        if self.known.is_partial(&condition.key)
            && !values.iter().all(|v| {
                v.split_once(':')
                    .is_some_and(|(id, _)| !id.is_empty() && id.chars().all(|c| c == '*'))
            })
        {
            return undetermined();
        }
        if present.is_empty() && category != OperatorType::Null {
            if condition.if_exists {
                return PartMatch::Yes;
            }
            match condition.qualifier {
                Some(SetQualifier::ForAllValues) => return PartMatch::Yes,
                Some(SetQualifier::ForAnyValue) => return PartMatch::No,
                // The negated operators match an absent key: iam-rs's engine decides.
                None => {}
            }
        }
        let base = |present: &[String]| match self.base_condition(
            &operator,
            &condition.key,
            &values,
            present,
        ) {
            Some(matched) => PartMatch::from(matched),
            None => undetermined(),
        };
        let each = || present.iter().map(|v| base(std::slice::from_ref(v)));
        match condition.qualifier {
            None => base(present),
            Some(SetQualifier::ForAnyValue) => {
                let mut result = PartMatch::No;
                for part in each() {
                    match part {
                        PartMatch::Yes => return PartMatch::Yes,
                        PartMatch::Maybe(_) => result = part,
                        PartMatch::No => {}
                    }
                }
                result
            }
            Some(SetQualifier::ForAllValues) => {
                let mut result = PartMatch::Yes;
                for part in each() {
                    match part {
                        PartMatch::No => return PartMatch::No,
                        PartMatch::Maybe(_) => result = part,
                        PartMatch::Yes => {}
                    }
                }
                result
            }
        }
    }

    /// A base operator (no set operator, no `IfExists`) on the request's
    /// values, by iam-rs's engine on a one-condition statement against a
    /// context holding just that key, typed for the operator. `None`: values
    /// iam-rs cannot compare (a malformed date, say).
    fn base_condition(
        &self,
        operator: &IAMOperator,
        key: &str,
        values: &[String],
        present: &[String],
    ) -> Option<bool> {
        let category = operator.category();
        if values
            .iter()
            .any(|v| v.contains([LITERAL_STAR, LITERAL_QUESTION]))
        {
            return Some(literal_condition(operator, values, present));
        }
        let value = match values {
            [one] if category == OperatorType::Boolean && one.parse::<bool>().is_ok() => {
                ConditionValue::Boolean(one == "true")
            }
            [one] => ConditionValue::String(one.clone()),
            _ => ConditionValue::StringList(values.to_vec()),
        };
        let mut context = Context::new();
        if let Some(typed) = typed_context_value(category, present) {
            context.insert(key.to_string(), typed);
        }
        let statement = IAMStatement::new(IAMEffect::Allow)
            .with_action(IAMAction::Single("*".to_string()))
            .with_resource(IAMResource::Single("*".to_string()))
            .with_condition_struct(iam_rs::Condition::new(
                operator.clone(),
                key.to_string(),
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
            Ok(result) => Some(result.decision == IamDecision::Allow),
            Err(_) => None,
        }
    }
}

/// A condition whose values hold a literal `${*}`/`${?}`: for the `Like`
/// operators our matcher, which can tell a literal star from a wildcard;
/// for the others the plain characters (they have no wildcards).
fn literal_condition(operator: &IAMOperator, values: &[String], present: &[String]) -> bool {
    let name = operator.as_str();
    if name.contains("Like") {
        let matched = present.iter().any(|p| {
            values.iter().any(|v| {
                if name.starts_with("Arn") {
                    arn_pattern_matches(v, p)
                } else {
                    glob_matches(v, p)
                }
            })
        });
        return if name.contains("NotLike") {
            !matched
        } else {
            matched
        };
    }
    let plain = |v: &String| v.replace(LITERAL_STAR, "*").replace(LITERAL_QUESTION, "?");
    let matched = present
        .iter()
        .any(|p| values.iter().any(|v| plain(v) == *p));
    if name.contains("Not") {
        !matched
    } else {
        matched
    }
}
