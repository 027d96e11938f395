//! Validation of the names, ARNs, ids and regions a user gives, before any
//! of them is used or echoed. Each check returns the reason a value is
//! refused; the caller adds which option or input it was. A refused value
//! is never quoted back when it holds a control character: the message says
//! which character and where instead, so a hostile value (`prod\n::…`) is
//! not printed at all.

/// The first control character of `value` (tab included), as
/// `U+000A at character 5`, when there is one.
pub fn control_character(value: &str) -> Option<String> {
    value
        .chars()
        .enumerate()
        .find(|(_, c)| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}'))
        .map(|(i, c)| format!("U+{:04X} at character {}", c as u32, i + 1))
}

/// Refuses text with a control character (a line break, a carriage return,
/// an escape, …). For free text such as `--audience`.
pub fn plain_text(value: &str) -> Result<(), String> {
    match control_character(value) {
        Some(at) => Err(format!(
            "contains a control character ({at}); line breaks and control characters are not allowed"
        )),
        None => Ok(()),
    }
}

/// Quotes `value` in a message only when it is plain text.
fn shown(value: &str) -> String {
    if control_character(value).is_some() {
        "the value".to_string()
    } else {
        format!("`{value}`")
    }
}

/// An AWS region name: `us-east-1`, `eu-central-2`, `us-gov-west-1`,
/// `cn-north-1`, `us-isob-east-1` — lower-case words joined by hyphens,
/// ending in a number.
pub fn region(value: &str) -> Result<(), String> {
    plain_text(value)?;
    let parts: Vec<&str> = value.split('-').collect();
    let ok = parts.len() >= 3
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts[0].len() == 2
        && parts.last().is_some_and(|n| {
            !n.is_empty() && n.len() <= 2 && n.chars().all(|c| c.is_ascii_digit())
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{} is not an AWS region (like us-east-1 or eu-central-2)",
            shown(value)
        ))
    }
}

/// An ARN: `arn:<partition>:<service>:<region>:<account>:<resource>`, with
/// no whitespace or control character.
pub fn arn(value: &str) -> Result<(), String> {
    plain_text(value)?;
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && !parts[1].is_empty()
        && parts[1].chars().all(|c| c.is_ascii_lowercase() || c == '-')
        && !parts[2].is_empty()
        && (parts[4].is_empty()
            || parts[4].len() == 12 && parts[4].chars().all(|c| c.is_ascii_digit()))
        && !parts[5].is_empty()
        && !value.chars().any(char::is_whitespace);
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{} is not an ARN (arn:<partition>:<service>:<region>:<account>:<resource>)",
            shown(value)
        ))
    }
}

/// An IAM principal for the offline evaluation: a role, user or account
/// root ARN, or an assumed-role session ARN.
pub fn principal(value: &str) -> Result<(), String> {
    arn(value)?;
    let service = value.split(':').nth(2).unwrap_or_default();
    if matches!(service, "iam" | "sts") {
        Ok(())
    } else {
        Err(format!(
            "`{value}` is not an IAM principal ARN (arn:aws:iam::<account>:role/<name>, …:user/<name>, …:root, or arn:aws:sts::<account>:assumed-role/<role>/<session>)"
        ))
    }
}

/// A name made of letters, digits, `-` and `_`, 1 to 255 characters, or
/// that resource's ARN: ECS clusters and services (`what` names it).
pub fn ecs_name(value: &str, what: &str) -> Result<(), String> {
    if value.starts_with("arn:") {
        return arn(value);
    }
    let ok = !value.is_empty()
        && value.len() <= 255
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{} is not a valid {what} name or ARN (letters, digits, - and _, at most 255)",
            shown(value)
        ))
    }
}

/// A task definition: `FAMILY`, `FAMILY:REVISION` or its ARN.
pub fn task_definition(value: &str) -> Result<(), String> {
    if value.starts_with("arn:") {
        return arn(value);
    }
    let (family, revision) = match value.split_once(':') {
        Some((f, r)) => (f, Some(r)),
        None => (value, None),
    };
    let family_ok = ecs_name(family, "task definition family").is_ok();
    let revision_ok =
        revision.is_none_or(|r| !r.is_empty() && r.chars().all(|c| c.is_ascii_digit()));
    if family_ok && revision_ok {
        Ok(())
    } else {
        Err(format!(
            "{} is not a task definition (FAMILY, FAMILY:REVISION or its ARN)",
            shown(value)
        ))
    }
}

/// An EC2 resource id with its prefix: `subnet-0abc…`, `sg-0abc…`.
pub fn ec2_id(value: &str, prefix: &str) -> Result<(), String> {
    let ok = value
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|hex| {
            !hex.is_empty() && hex.len() <= 17 && hex.chars().all(|c| c.is_ascii_hexdigit())
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{} is not a {prefix} id ({prefix}-0123456789abcdef0)",
            shown(value)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_refused_and_never_quoted() {
        for value in [
            "prod\n::stop-commands::zz",
            "a\rb",
            "x\u{1b}[31m",
            "a\u{2028}b",
        ] {
            for result in [
                plain_text(value),
                region(value),
                arn(value),
                principal(value),
                ecs_name(value, "cluster"),
                task_definition(value),
                ec2_id(value, "subnet"),
            ] {
                let e = result.unwrap_err();
                assert!(!e.contains(value), "{e:?} quotes {value:?}");
                assert!(!e.contains('\n') && !e.contains('\r'), "{e:?}");
            }
        }
        assert_eq!(
            control_character("prod\n::x").as_deref(),
            Some("U+000A at character 5")
        );
    }

    #[test]
    fn regions() {
        for ok in [
            "us-east-1",
            "eu-central-2",
            "us-gov-west-1",
            "cn-north-1",
            "ap-southeast-5",
            "us-isob-east-1",
            "il-central-1",
        ] {
            assert_eq!(region(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "US-EAST-1",
            "../../x",
            "us-east",
            "useast1",
            "us-east-1a",
            "us--1",
        ] {
            assert!(region(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn arns_and_principals() {
        assert_eq!(principal("arn:aws:iam::123456789012:role/ci"), Ok(()));
        assert_eq!(
            principal("arn:aws:sts::123456789012:assumed-role/ci/GitHubActions"),
            Ok(())
        );
        assert_eq!(principal("arn:aws-us-gov:iam::123456789012:root"), Ok(()));
        assert!(principal("ci-role").is_err());
        assert!(principal("arn:aws:s3:::bucket").is_err());
        assert!(arn("arn:aws:iam::12345:role/x").is_err());
        assert!(arn("arn:aws:iam::123456789012:role/a b").is_err());
        assert_eq!(
            arn("arn:aws:ecs:us-east-1:123456789012:cluster/prod"),
            Ok(())
        );
    }

    #[test]
    fn ecs_names_task_definitions_and_ids() {
        assert_eq!(ecs_name("prod_cluster-1", "cluster"), Ok(()));
        assert!(ecs_name("prod cluster", "cluster").is_err());
        assert!(ecs_name("", "cluster").is_err());
        assert_eq!(task_definition("web:12"), Ok(()));
        assert_eq!(task_definition("web"), Ok(()));
        assert!(task_definition("web:x").is_err());
        assert_eq!(ec2_id("subnet-0123abcd", "subnet"), Ok(()));
        assert_eq!(ec2_id("sg-0123456789abcdef0", "sg"), Ok(()));
        assert!(ec2_id("sg-xyz", "sg").is_err());
        assert!(ec2_id("subnet-0123", "sg").is_err());
    }
}
