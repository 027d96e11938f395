//! The resource instances of a plan, what is known about each attribute, and
//! how a value unknown until apply is traced through the configuration's
//! references to the resource it will come from.
//!
//! The key technique: a subnet created by this plan has no id yet, so its
//! resource address (`aws_subnet.private_a`) stands in for the id, and every
//! unknown attribute that refers to it (`subnets = [aws_subnet.private_a.id]`)
//! resolves to the same address. The snapshot's graph then connects exactly as
//! it will after apply. What cannot be traced either way stays undetermined.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Map, Value};

use super::format::{
    ConfigModuleJson, ModuleJson, PlanJson, ResourceChangeJson, StateJson, ValuesJson,
};
use super::references::{
    Subject, module_calls, parent_module_instance, parse_reference, references_of, same_key,
};

mod resolve;

/// How deep references may nest through module variables and outputs.
const MAX_DEPTH: usize = 16;

/// One resource instance, as it will be after apply.
#[derive(Debug)]
pub(crate) struct Instance<'p> {
    /// `module.endpoints.aws_vpc_endpoint.interface["ecr.dkr"]`.
    pub address: String,
    /// The module instance: `` for the root, `module.endpoints`, `module.a[0]`.
    pub module_instance: String,
    /// The module calls leading to it (instance keys dropped): `["endpoints"]`.
    pub module: Vec<String>,
    /// A data source.
    pub data: bool,
    /// The resource type.
    pub resource_type: String,
    /// The `count` index or `for_each` key.
    pub key: Option<Value>,
    /// The known values.
    pub values: Map<String, Value>,
    /// `after_unknown`: the same shape as the values, `true` where unknown.
    pub unknown: Value,
    /// The expressions of its resource block, when the configuration has them.
    pub expressions: Option<&'p Map<String, Value>>,
}

impl Instance<'_> {
    /// `aws_subnet` or `data.aws_subnet`.
    pub fn kind(&self) -> String {
        if self.data {
            format!("data.{}", self.resource_type)
        } else {
            self.resource_type.clone()
        }
    }

    /// The value at `path`, or whether it is unknown or absent.
    pub fn field(&self, path: &[Step]) -> Field<'_> {
        let mut unknown = &self.unknown;
        for step in path {
            if unknown == &Value::Bool(true) {
                return Field::Unknown;
            }
            unknown = step.get(unknown).unwrap_or(&Value::Null);
        }
        if unknown == &Value::Bool(true) {
            return Field::Unknown;
        }
        let Some((first, rest)) = path.split_first() else {
            return Field::Absent;
        };
        let Step::Key(name) = first else {
            return Field::Absent;
        };
        let mut value = match self.values.get(*name) {
            Some(v) => v,
            None => return Field::Absent,
        };
        for step in rest {
            value = match step.get(value) {
                Some(v) => v,
                None => return Field::Absent,
            };
        }
        if value.is_null() {
            Field::Absent
        } else {
            Field::Known(value)
        }
    }

    /// The id it has in the snapshot: its `id` when known, else its address.
    pub fn snapshot_id(&self) -> String {
        match self.values.get("id") {
            Some(Value::String(id)) if !id.is_empty() => id.clone(),
            _ => self.address.clone(),
        }
    }

    /// A known, non-empty string attribute.
    pub fn known_str(&self, name: &str) -> Option<&str> {
        match self.field(&[Step::Key(name)]) {
            Field::Known(Value::String(s)) if !s.is_empty() => Some(s),
            _ => None,
        }
    }
}

/// One step of an attribute path.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Step<'a> {
    /// An object attribute.
    Key(&'a str),
    /// A list element.
    Index(usize),
}

impl Step<'_> {
    fn get<'v>(&self, value: &'v Value) -> Option<&'v Value> {
        match (self, value) {
            (Step::Key(k), Value::Object(m)) => m.get(*k),
            (Step::Index(i), Value::Array(a)) => a.get(*i),
            _ => None,
        }
    }
}

/// `[Step::Key(name)]`.
pub(crate) fn key(name: &str) -> [Step<'_>; 1] {
    [Step::Key(name)]
}

/// What is known about one attribute.
#[derive(Debug)]
pub(crate) enum Field<'v> {
    /// Known, not null.
    Known(&'v Value),
    /// Known only after apply.
    Unknown,
    /// Null or not set.
    Absent,
}

/// A value read from the plan: known (or traced to a resource), absent, or
/// undetermined with the reason.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Got<T> {
    /// The value, or the stand-in of the resource it refers to.
    Value(T),
    /// Not set.
    Absent,
    /// Unknown until apply and not traceable; the text says why.
    Unknown(String),
}

/// A resource instance an expression refers to, and the attribute it reads.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Target {
    /// Index into [`Index::instances`].
    pub instance: usize,
    /// `id`, `arn`, `prefix_list_id`, … (`None` for the whole object).
    pub attr: Option<String>,
}

/// The resource instances an expression refers to, or why that is unclear.
#[derive(Debug, Default)]
struct Resolution {
    targets: BTreeSet<Target>,
    /// References that are not resources (root variables, `path.*`).
    constants: Vec<String>,
    /// A reference that cannot be followed (`local.*`, too deep).
    problem: Option<String>,
    /// `count.index` or `each.*`: the same-key instance is meant.
    same_key: bool,
}

/// A resource block referred to: (data source, type, name).
type ResourceName = (bool, String, String);

/// How one reference uses it: the instance key (none for the whole resource)
/// and the attribute read.
type ResourceUse = (Option<Value>, Option<String>);

/// The parts of a plan that hold resource instances, taken out of it so the
/// index owns their values (see [`Resources::take`]).
#[derive(Debug, Default)]
pub(crate) struct Resources {
    /// `planned_values`.
    pub planned_values: Option<ValuesJson>,
    /// `prior_state`.
    pub prior_state: Option<StateJson>,
    /// `resource_changes`.
    pub resource_changes: Vec<ResourceChangeJson>,
}

impl Resources {
    /// Takes the resource sections out of `plan`, leaving its variables and
    /// configuration for the index to borrow.
    pub fn take(plan: &mut PlanJson) -> Self {
        Resources {
            planned_values: plan.planned_values.take(),
            prior_state: plan.prior_state.take(),
            resource_changes: std::mem::take(&mut plan.resource_changes),
        }
    }
}

/// Every resource instance of a plan, with the configuration to trace references.
pub(crate) struct Index<'p> {
    /// The plan.
    pub plan: &'p PlanJson,
    /// The instances, in plan order.
    pub instances: Vec<Instance<'p>>,
    by_address: HashMap<String, usize>,
    /// Config resource (module path, `aws_subnet.private`) → its instances.
    by_config: BTreeMap<(Vec<String>, String), Vec<usize>>,
    /// Config modules by call path.
    modules: BTreeMap<Vec<String>, &'p ConfigModuleJson>,
}

impl<'p> Index<'p> {
    /// Every instance that exists after apply: `planned_values` (with
    /// `after_unknown` from `resource_changes`), then what only the prior
    /// state has (data sources read while planning, unchanged resources),
    /// then changes missing from both.
    ///
    /// The attribute values are moved out of `resources`, not copied: a large
    /// plan's values are held once while it is indexed.
    pub fn build(plan: &'p PlanJson, resources: Resources) -> Self {
        let mut index = Index {
            plan,
            instances: Vec::new(),
            by_address: HashMap::new(),
            by_config: BTreeMap::new(),
            modules: BTreeMap::new(),
        };
        if let Some(root) = plan
            .configuration
            .as_ref()
            .and_then(|c| c.root_module.as_ref())
        {
            index.add_config_module(Vec::new(), root, 0);
        }
        let Resources {
            planned_values,
            prior_state,
            resource_changes,
        } = resources;
        let deleted: BTreeSet<String> = resource_changes
            .iter()
            .filter(|c| c.change.actions.iter().all(|a| a == "delete"))
            .filter(|c| !c.change.actions.is_empty())
            .map(|c| c.address.clone())
            .collect();
        if let Some(root) = planned_values.and_then(|v| v.root_module) {
            index.add_module(root, &BTreeSet::new(), 0);
        }
        if let Some(root) = prior_state
            .and_then(|s| s.values)
            .and_then(|v| v.root_module)
        {
            index.add_module(root, &deleted, 0);
        }
        for change in resource_changes {
            if deleted.contains(&change.address) {
                continue;
            }
            let ResourceChangeJson {
                address,
                mode,
                resource_type,
                name,
                module_address,
                index: key,
                change,
            } = change;
            let i = match index.by_address.get(&address) {
                Some(&i) => Some(i),
                None => match change.after {
                    Some(Value::Object(after)) => Some(index.push(
                        address,
                        module_address.unwrap_or_default(),
                        mode.as_deref() == Some("data"),
                        resource_type,
                        &name,
                        key,
                        after,
                    )),
                    _ => None,
                },
            };
            if let (Some(i), Some(unknown)) = (i, change.after_unknown) {
                let instance = &mut index.instances[i];
                instance.unknown = if attributes_read(&instance.resource_type) {
                    unknown
                } else {
                    top_level_unknowns(unknown)
                };
            }
        }
        index
    }

    fn add_config_module(&mut self, path: Vec<String>, module: &'p ConfigModuleJson, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        for (name, call) in &module.module_calls {
            if let Some(child) = &call.module {
                let mut child_path = path.clone();
                child_path.push(name.clone());
                self.add_config_module(child_path, child, depth + 1);
            }
        }
        self.modules.insert(path, module);
    }

    fn add_module(&mut self, module: ModuleJson, skip: &BTreeSet<String>, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        let module_instance = module.address.unwrap_or_default();
        for r in module.resources {
            if self.by_address.contains_key(&r.address) || skip.contains(&r.address) {
                continue;
            }
            self.push(
                r.address,
                module_instance.clone(),
                r.mode.as_deref() == Some("data"),
                r.resource_type,
                &r.name,
                r.index,
                r.values.unwrap_or_default(),
            );
        }
        for child in module.child_modules {
            self.add_module(child, skip, depth + 1);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        address: String,
        module_instance: String,
        data: bool,
        resource_type: String,
        name: &str,
        key: Option<Value>,
        values: Map<String, Value>,
    ) -> usize {
        let values = if attributes_read(&resource_type) {
            values
        } else {
            top_level_strings(values)
        };
        let module = module_calls(&module_instance);
        let config_address = if data {
            format!("data.{resource_type}.{name}")
        } else {
            format!("{resource_type}.{name}")
        };
        let expressions = self.modules.get(&module).and_then(|m| {
            m.resources
                .iter()
                .find(|r| r.address == config_address)
                .map(|r| &r.expressions)
        });
        let i = self.instances.len();
        self.by_address.insert(address.clone(), i);
        self.by_config
            .entry((module.clone(), config_address))
            .or_default()
            .push(i);
        self.instances.push(Instance {
            address,
            module_instance,
            module,
            data,
            resource_type,
            key,
            values,
            unknown: Value::Null,
            expressions,
        });
        i
    }

    /// The instance a snapshot id (a known id or a stand-in address) belongs to.
    pub fn by_snapshot_id(&self, id: &str) -> Option<&Instance<'p>> {
        if let Some(&i) = self.by_address.get(id) {
            return self.instances.get(i);
        }
        self.instances.iter().find(|i| i.snapshot_id() == id)
    }

    /// The configuration module at a call path.
    pub fn config_module(&self, path: &[String]) -> Option<&'p ConfigModuleJson> {
        self.modules.get(path).copied()
    }

    /// A root module variable's value.
    pub fn variable(&self, name: &str) -> Option<&'p Value> {
        self.plan.variables.get(name).and_then(|v| v.value.as_ref())
    }

    // ----- reading attributes -----

    /// A string attribute (`""` counts as absent, as the AWS provider writes unset ids).
    pub fn string(&self, inst: &Instance, path: &[Step]) -> Got<String> {
        match inst.field(path) {
            Field::Known(Value::String(s)) if s.is_empty() => Got::Absent,
            Field::Known(Value::String(s)) => Got::Value(s.clone()),
            Field::Known(other) => Got::Unknown(format!("expected a string, found `{other}`")),
            Field::Unknown => Got::Unknown(unknown_why(inst, path)),
            Field::Absent => Got::Absent,
        }
    }

    /// A boolean attribute.
    pub fn boolean(&self, inst: &Instance, path: &[Step]) -> Got<bool> {
        match inst.field(path) {
            Field::Known(Value::Bool(b)) => Got::Value(*b),
            Field::Known(Value::String(s)) if s == "true" || s == "false" => {
                Got::Value(s == "true")
            }
            Field::Known(other) => Got::Unknown(format!("expected true or false, found `{other}`")),
            Field::Unknown => Got::Unknown(unknown_why(inst, path)),
            Field::Absent => Got::Absent,
        }
    }

    /// An integer attribute.
    pub fn integer(&self, inst: &Instance, path: &[Step]) -> Got<i64> {
        match inst.field(path) {
            Field::Known(Value::Number(n)) => match n.as_i64() {
                Some(i) => Got::Value(i),
                None => Got::Unknown(format!("expected an integer, found `{n}`")),
            },
            Field::Known(Value::String(s)) => match s.parse() {
                Ok(i) => Got::Value(i),
                Err(_) => Got::Unknown(format!("expected an integer, found `{s}`")),
            },
            Field::Known(other) => Got::Unknown(format!("expected an integer, found `{other}`")),
            Field::Unknown => Got::Unknown(unknown_why(inst, path)),
            Field::Absent => Got::Absent,
        }
    }

    /// A list of strings, all known.
    pub fn strings(&self, inst: &Instance, path: &[Step]) -> Got<Vec<String>> {
        match inst.field(path) {
            Field::Known(Value::Array(items)) => {
                let mut out = Vec::new();
                for (n, item) in items.iter().enumerate() {
                    match item {
                        Value::String(s) if !s.is_empty() => out.push(s.clone()),
                        Value::String(_) => {}
                        Value::Null => {
                            let mut p = path.to_vec();
                            p.push(Step::Index(n));
                            return Got::Unknown(unknown_why(inst, &p));
                        }
                        other => {
                            return Got::Unknown(format!("expected strings, found `{other}`"));
                        }
                    }
                }
                Got::Value(out)
            }
            Field::Known(other) => Got::Unknown(format!("expected a list, found `{other}`")),
            Field::Unknown => Got::Unknown(unknown_why(inst, path)),
            Field::Absent => Got::Absent,
        }
    }

    /// A reference to one resource: its known value, or, when unknown until
    /// apply, the stand-in id of the one resource of `kinds` the expression
    /// refers to.
    pub fn reference(&self, inst: &Instance, path: &[Step], kinds: &[&str]) -> Got<String> {
        match self.string(inst, path) {
            Got::Unknown(why) if matches!(inst.field(path), Field::Unknown) => {
                match self.trace(inst, path, kinds) {
                    Ok(ids) if ids.len() == 1 => {
                        Got::Value(ids.into_iter().next().unwrap_or_default())
                    }
                    Ok(ids) if ids.is_empty() => Got::Unknown(why),
                    Ok(ids) => Got::Unknown(format!(
                        "{why}; it refers to {}, and which one is known only after apply",
                        quoted(&ids)
                    )),
                    Err(problem) => Got::Unknown(problem),
                }
            }
            other => other,
        }
    }

    /// A list of references: the known ids, and for the unknown ones the
    /// stand-in ids of the resources of `kinds` the expression refers to.
    pub fn references(&self, inst: &Instance, path: &[Step], kinds: &[&str]) -> Got<Vec<String>> {
        let (known, unknown) = match inst.field(path) {
            Field::Absent => return Got::Absent,
            Field::Unknown => (Vec::new(), 1),
            Field::Known(Value::Array(items)) => {
                let mut known = Vec::new();
                let mut unknown = 0;
                for item in items {
                    match item {
                        Value::String(s) if !s.is_empty() => known.push(s.clone()),
                        Value::Null => unknown += 1,
                        Value::String(_) => {}
                        other => {
                            return Got::Unknown(format!(
                                "expected a list of ids, found `{other}`"
                            ));
                        }
                    }
                }
                (known, unknown)
            }
            Field::Known(other) => {
                return Got::Unknown(format!("expected a list of ids, found `{other}`"));
            }
        };
        if unknown == 0 {
            return Got::Value(known);
        }
        match self.trace(inst, path, kinds) {
            Ok(ids) if !ids.is_empty() => {
                let mut all = known;
                for id in ids {
                    if !all.contains(&id) {
                        all.push(id);
                    }
                }
                Got::Value(all)
            }
            Ok(_) => Got::Unknown(unknown_why(inst, path)),
            Err(problem) => Got::Unknown(problem),
        }
    }

    /// Whether the resource block sets the argument at `path` at all.
    pub fn configured(&self, inst: &Instance, path: &[Step]) -> bool {
        !config_nodes(inst, path).is_empty()
    }

    /// The value a reference to `target` stands for in the snapshot.
    pub fn target_value(&self, target: &Target) -> String {
        let inst = &self.instances[target.instance];
        let attr = target.attr.as_deref().unwrap_or("id");
        match (inst.kind().as_str(), attr) {
            ("aws_vpc" | "data.aws_vpc", "main_route_table_id" | "default_route_table_id") => {
                vpc_default(inst, "main_route_table_id")
            }
            ("aws_vpc" | "data.aws_vpc", "default_security_group_id") => vpc_default(inst, attr),
            ("aws_vpc" | "data.aws_vpc", "default_network_acl_id") => vpc_default(inst, attr),
            ("aws_vpc_endpoint", "prefix_list_id") => self
                .endpoint_prefix_list(inst)
                .unwrap_or_else(|| format!("{}.prefix_list_id", inst.address)),
            ("aws_ecs_cluster", _) => inst
                .known_str(attr)
                .or_else(|| inst.known_str("name"))
                .unwrap_or(&inst.address)
                .to_string(),
            ("aws_iam_role" | "aws_ecr_repository", "id" | "name") => inst
                .known_str("name")
                .or_else(|| inst.known_str("id"))
                .unwrap_or(&inst.address)
                .to_string(),
            (_, "id" | "arn") => match inst.known_str(attr) {
                Some(v) => v.to_string(),
                None => inst.snapshot_id(),
            },
            (_, other) => match inst.known_str(other) {
                Some(v) => v.to_string(),
                None => format!("{}.{other}", inst.address),
            },
        }
    }

    /// The id of the managed prefix list a Gateway endpoint routes to: its
    /// known `prefix_list_id`, else the one a prefix-list data source of the
    /// same service name read, else the endpoint's stand-in.
    pub fn endpoint_prefix_list(&self, endpoint: &Instance) -> Option<String> {
        if let Some(id) = endpoint.known_str("prefix_list_id") {
            return Some(id.to_string());
        }
        let service = endpoint.known_str("service_name")?;
        self.prefix_list_source(service)
            .map(|(_, id)| id)
            .or_else(|| Some(format!("{}.prefix_list_id", endpoint.address)))
    }

    /// The data source that reads the managed prefix list `name`, and its id
    /// (the data source address when the id is unknown until apply).
    pub fn prefix_list_source(&self, name: &str) -> Option<(usize, String)> {
        self.instances.iter().enumerate().find_map(|(i, inst)| {
            let kind = inst.kind();
            if kind != "data.aws_prefix_list" && kind != "data.aws_ec2_managed_prefix_list" {
                return None;
            }
            let listed = inst.known_str("name").or_else(|| configured_name(inst))?;
            (listed == name).then(|| (i, inst.snapshot_id()))
        })
    }
}

/// Whether the checks read the attributes of resources of this type: those of
/// the AWS provider (managed and data sources). Of any other provider's
/// resource only a reference's known string can be read (its `id`, or the
/// attribute a route or policy refers to, through [`Index::target_value`]),
/// so only its top-level strings are kept: a plan full of other providers'
/// resources does not hold their attribute trees.
pub(crate) fn attributes_read(resource_type: &str) -> bool {
    resource_type.starts_with("aws_")
}

/// The top-level string attributes of `values`: all [`Index::target_value`]
/// and [`Instance::snapshot_id`] read of a resource whose attributes are not read.
fn top_level_strings(mut values: Map<String, Value>) -> Map<String, Value> {
    values.retain(|_, v| v.is_string());
    values
}

/// The top-level attributes `after_unknown` marks unknown (`true`), for the
/// same resources as [`top_level_strings`].
fn top_level_unknowns(unknown: Value) -> Value {
    match unknown {
        Value::Object(mut m) => {
            m.retain(|_, v| v == &Value::Bool(true));
            Value::Object(m)
        }
        Value::Bool(true) => Value::Bool(true),
        _ => Value::Null,
    }
}

/// A VPC's default resource id (`main_route_table_id`, …), or its stand-in.
pub(crate) fn vpc_default(vpc: &Instance, attr: &str) -> String {
    match vpc.known_str(attr) {
        Some(v) => v.to_string(),
        None => format!("{}.{attr}", vpc.address),
    }
}

/// The `name` a prefix-list data source filters on, from its constant expression.
fn configured_name<'a>(inst: &'a Instance) -> Option<&'a str> {
    inst.expressions?
        .get("name")?
        .get("constant_value")?
        .as_str()
}

fn merge(out: &mut Resolution, inner: Resolution) {
    out.targets.extend(inner.targets);
    out.constants.extend(inner.constants);
    out.same_key |= inner.same_key;
    if out.problem.is_none() {
        out.problem = inner.problem;
    }
}

fn quoted(items: &[String]) -> String {
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn path_text(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

fn unknown_why(inst: &Instance, path: &[Step]) -> String {
    if !config_nodes(inst, path).is_empty() {
        format!("`{}` is known only after apply", path_text(path))
    } else {
        format!(
            "`{}` is known only after apply and is not set in the configuration (AWS chooses it)",
            path_text(path)
        )
    }
}

/// The expressions configured at `path`: an argument's expression object, or
/// for a path into a list of nested blocks (whose order in a set need not
/// match the values'), the expressions of every block at the rest of the path.
fn expressions_at<'p>(inst: &Instance<'p>, path: &[Step]) -> Vec<&'p Value> {
    config_nodes(inst, path)
        .into_iter()
        .filter(|n| is_expression(n))
        .collect()
}

/// What the configuration has at `path`: expressions, nested blocks, or nothing.
fn config_nodes<'p>(inst: &Instance<'p>, path: &[Step]) -> Vec<&'p Value> {
    let Some(expressions) = inst.expressions else {
        return Vec::new();
    };
    let Some((Step::Key(first), rest)) = path.split_first() else {
        return Vec::new();
    };
    let mut nodes: Vec<&'p Value> = expressions.get(*first).into_iter().collect();
    for step in rest {
        let mut next = Vec::new();
        for node in nodes {
            if is_expression(node) {
                next.push(node);
                continue;
            }
            match (step, node) {
                (Step::Key(k), Value::Object(m)) => next.extend(m.get(*k)),
                // Every block: a set's order in the values need not match the configuration's.
                (Step::Index(_), Value::Array(items)) => next.extend(items.iter()),
                _ => {}
            }
        }
        nodes = next;
    }
    nodes
}

fn is_expression(node: &Value) -> bool {
    node.as_object()
        .is_some_and(|m| m.contains_key("references") || m.contains_key("constant_value"))
}

#[cfg(test)]
mod tests;
