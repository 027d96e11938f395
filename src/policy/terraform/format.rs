//! The parts of `terraform show -json` (plan format 1.x) the reader uses, as
//! typed serde structures: a plan of the wrong shape fails here, with
//! serde_json's line and column, instead of deep inside the mapping.
//! Attribute values stay [`Value`]s: their schema is the provider's, and the
//! mapping reads them leniently (a value of the wrong type is undetermined).
//!
//! Reference: <https://developer.hashicorp.com/terraform/internals/json-format>.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

pub(crate) mod lean;

/// The whole plan document.
#[derive(Debug, Deserialize)]
#[serde(expecting = "a Terraform plan: the JSON object `terraform show -json PLANFILE` prints")]
pub(crate) struct PlanJson {
    /// `1.2` for Terraform 1.3 and later; any `1.x` is read.
    pub format_version: Option<String>,
    /// Root module variables, with their values.
    #[serde(default)]
    pub variables: BTreeMap<String, VariableJson>,
    /// The state after apply, without the values unknown until then.
    pub planned_values: Option<ValuesJson>,
    /// The state before the plan, with the data sources read while planning.
    pub prior_state: Option<StateJson>,
    /// One entry per resource instance, with what is unknown until apply.
    #[serde(default)]
    pub resource_changes: Vec<ResourceChangeJson>,
    /// The configuration: expressions and the references between resources.
    pub configuration: Option<ConfigurationJson>,
}

/// A root module variable.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct VariableJson {
    /// Its value.
    pub value: Option<Value>,
}

/// `planned_values`, or `prior_state.values`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ValuesJson {
    /// The root module.
    pub root_module: Option<ModuleJson>,
}

/// `prior_state`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct StateJson {
    /// Its values.
    pub values: Option<ValuesJson>,
}

/// One module instance of a values representation.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ModuleJson {
    /// `module.a[0].module.b`; absent for the root module.
    pub address: Option<String>,
    /// Its resource instances.
    pub resources: Vec<ResourceJson>,
    /// Its child module instances.
    pub child_modules: Vec<ModuleJson>,
}

/// One resource instance of a values representation.
#[derive(Debug, Deserialize)]
pub(crate) struct ResourceJson {
    /// `module.net.aws_subnet.private["a"]`.
    pub address: String,
    /// `managed` or `data`.
    #[serde(default)]
    pub mode: Option<String>,
    /// The resource type.
    #[serde(rename = "type")]
    pub resource_type: String,
    /// The resource name.
    pub name: String,
    /// The `count` index or `for_each` key.
    #[serde(default)]
    pub index: Option<Value>,
    /// The known attribute values.
    #[serde(default)]
    pub values: Option<Map<String, Value>>,
}

/// One entry of `resource_changes`.
#[derive(Debug, Deserialize)]
pub(crate) struct ResourceChangeJson {
    /// The instance address.
    pub address: String,
    /// `managed` or `data`.
    #[serde(default)]
    pub mode: Option<String>,
    /// The resource type.
    #[serde(rename = "type")]
    pub resource_type: String,
    /// The resource name.
    pub name: String,
    /// The containing module instance.
    #[serde(default)]
    pub module_address: Option<String>,
    /// The `count` index or `for_each` key.
    #[serde(default)]
    pub index: Option<Value>,
    /// The change.
    pub change: ChangeJson,
}

/// `resource_changes[].change`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ChangeJson {
    /// `create`, `update`, `delete`, `no-op`, `read`.
    pub actions: Vec<String>,
    /// The planned values, unknown ones omitted (or `null` inside sequences).
    pub after: Option<Value>,
    /// The same shape, `true` where a value is unknown until apply.
    pub after_unknown: Option<Value>,
}

/// `configuration`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ConfigurationJson {
    /// Provider configurations, by key (`aws`, `aws.west`, `module.x:aws`).
    pub provider_config: BTreeMap<String, ProviderConfigJson>,
    /// The root module.
    pub root_module: Option<ConfigModuleJson>,
}

/// One provider configuration.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ProviderConfigJson {
    /// `aws`.
    pub name: Option<String>,
    /// The provider block's expressions.
    pub expressions: Map<String, Value>,
}

/// One module of the configuration.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ConfigModuleJson {
    /// Its resource blocks.
    pub resources: Vec<ConfigResourceJson>,
    /// Its module calls, by name.
    pub module_calls: BTreeMap<String, ModuleCallJson>,
    /// Its outputs, by name.
    pub outputs: BTreeMap<String, OutputJson>,
}

/// One resource block of the configuration.
#[derive(Debug, Deserialize)]
pub(crate) struct ConfigResourceJson {
    /// `aws_subnet.private` or `data.aws_prefix_list.s3`, relative to its module.
    pub address: String,
    /// The block's arguments: expressions, lists of nested block expressions.
    #[serde(default)]
    pub expressions: Map<String, Value>,
}

/// A module call.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ModuleCallJson {
    /// `./modules/net`, or a registry or Git source.
    pub source: Option<String>,
    /// The input variables' expressions.
    pub expressions: Map<String, Value>,
    /// The called module.
    pub module: Option<ConfigModuleJson>,
}

/// An output of a module.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct OutputJson {
    /// Its expression.
    pub expression: Option<Value>,
}
