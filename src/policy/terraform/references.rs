//! Terraform reference strings (`aws_subnet.a.id`, `module.net[0].x`,
//! `var.name`, `each.key`) and module addresses: what a reference names,
//! parsed from its text. Pure string handling for the plan index.

use serde_json::Value;

/// The `references` of an expression object.
pub(crate) fn references_of(expression: &Value) -> Vec<String> {
    expression
        .get("references")
        .and_then(Value::as_array)
        .map(|refs| {
            refs.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// What a reference string names.
#[derive(Debug, PartialEq)]
pub(crate) enum Subject {
    Resource {
        data: bool,
        resource_type: String,
        name: String,
        key: Option<Value>,
        attr: Option<String>,
    },
    Variable(String),
    Local(String),
    ModuleOutput {
        call: String,
        output: String,
    },
    /// `module.x` alone: the parent of an output reference.
    Module,
    /// `count.index`, `each.key`, `each.value`.
    SameKey,
    /// `path.*`, `terraform.*`: constants.
    Constant(String),
    /// `self`, anything unparsable.
    Ignored,
}

/// One step of a reference: a name or an index.
#[derive(Debug, PartialEq)]
pub(crate) enum Part {
    Name(String),
    Key(Value),
}

pub(crate) fn parse_reference(text: &str) -> Subject {
    let Some(parts) = parts(text) else {
        return Subject::Ignored;
    };
    let name = |i: usize| match parts.get(i) {
        Some(Part::Name(n)) => Some(n.clone()),
        _ => None,
    };
    let Some(root) = name(0) else {
        return Subject::Ignored;
    };
    match root.as_str() {
        "var" => name(1).map_or(Subject::Ignored, Subject::Variable),
        "local" => name(1).map_or(Subject::Ignored, Subject::Local),
        "count" | "each" => Subject::SameKey,
        "path" | "terraform" => Subject::Constant(text.to_string()),
        "self" => Subject::Ignored,
        "module" => {
            let Some(call) = name(1) else {
                return Subject::Ignored;
            };
            let next = if matches!(parts.get(2), Some(Part::Key(_))) {
                3
            } else {
                2
            };
            match name(next) {
                Some(output) => Subject::ModuleOutput { call, output },
                None => Subject::Module,
            }
        }
        "data" => resource_subject(true, &parts[1..]),
        _ => resource_subject(false, &parts),
    }
}

pub(crate) fn resource_subject(data: bool, parts: &[Part]) -> Subject {
    let (Some(Part::Name(resource_type)), Some(Part::Name(name))) = (parts.first(), parts.get(1))
    else {
        return Subject::Ignored;
    };
    let (key, attr_at) = match parts.get(2) {
        Some(Part::Key(k)) => (Some(k.clone()), 3),
        _ => (None, 2),
    };
    let attr = match parts.get(attr_at) {
        Some(Part::Name(a)) => Some(a.clone()),
        _ => None,
    };
    Subject::Resource {
        data,
        resource_type: resource_type.clone(),
        name: name.clone(),
        key,
        attr,
    }
}

/// `aws_x.y["a.b"][0].id` → names and keys; `None` when malformed.
pub(crate) fn parts(text: &str) -> Option<Vec<Part>> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '.' => i += 1,
            '[' => {
                let start = i + 1;
                let mut j = start;
                let mut in_string = false;
                while j < chars.len() {
                    match chars[j] {
                        '\\' if in_string => j += 1,
                        '"' => in_string = !in_string,
                        ']' if !in_string => break,
                        _ => {}
                    }
                    j += 1;
                }
                if j >= chars.len() {
                    return None;
                }
                let inner: String = chars[start..j].iter().collect();
                let key = if inner.starts_with('"') {
                    Value::String(serde_json::from_str::<String>(&inner).ok()?)
                } else if let Ok(n) = inner.parse::<i64>() {
                    Value::from(n)
                } else {
                    Value::String(inner)
                };
                out.push(Part::Key(key));
                i = j + 1;
            }
            _ => {
                let start = i;
                while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                    i += 1;
                }
                out.push(Part::Name(chars[start..i].iter().collect()));
            }
        }
    }
    Some(out)
}

/// Whether an instance key equals a reference's key (`0` and `"a"`).
pub(crate) fn same_key(want: &Value, have: &Value) -> bool {
    match (want, have) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (a, b) => a == b,
    }
}

/// `module.a[0].module.b["x"]` → `["a", "b"]`.
pub(crate) fn module_calls(module_instance: &str) -> Vec<String> {
    let Some(parts) = parts(module_instance) else {
        return Vec::new();
    };
    let mut calls = Vec::new();
    let mut iter = parts.iter().peekable();
    while let Some(part) = iter.next() {
        if part == &Part::Name("module".into())
            && let Some(Part::Name(call)) = iter.next()
        {
            calls.push(call.clone());
        }
    }
    calls
}

/// `module.a[0].module.b` → `module.a[0]`.
pub(crate) fn parent_module_instance(module_instance: &str) -> String {
    match module_instance.rfind(".module.") {
        Some(i) => module_instance[..i].to_string(),
        None => String::new(),
    }
}
