//! A leaner parse of the same [`PlanJson`], for a plan parsed as it is read:
//! the `after` of a change whose instance `planned_values` already holds is
//! skipped, never built (the index reads the planned values for it, and only
//! its `after_unknown`). Terraform writes `planned_values` before
//! `resource_changes` and a change's `address` before its `change`; in any
//! other order everything is kept, as the derived parse keeps it.
//!
//! Only a plan that parses is read this way: any error here is answered by
//! parsing the text with the derived impls, which place and word it.

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::{
    ChangeJson, ConfigurationJson, ModuleJson, PlanJson, ResourceChangeJson, StateJson, ValuesJson,
    VariableJson,
};

/// How deep the index walks modules (its `MAX_DEPTH`): instances deeper than
/// that are not indexed from `planned_values`, so their `after` is kept.
const MAX_DEPTH: usize = 16;

/// Parses a [`PlanJson`] from `deserializer`, skipping what the index never reads.
pub(crate) fn plan<'de, D: Deserializer<'de>>(deserializer: D) -> Result<PlanJson, D::Error> {
    deserializer.deserialize_map(PlanVisitor)
}

fn duplicate<E: de::Error>(field: &'static str) -> E {
    E::duplicate_field(field)
}

struct PlanVisitor;

impl<'de> Visitor<'de> for PlanVisitor {
    type Value = PlanJson;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Terraform plan: the JSON object `terraform show -json PLANFILE` prints")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PlanJson, A::Error> {
        let mut format_version: Option<Option<String>> = None;
        let mut variables: Option<BTreeMap<String, VariableJson>> = None;
        let mut planned_values: Option<Option<ValuesJson>> = None;
        let mut prior_state: Option<Option<StateJson>> = None;
        let mut resource_changes: Option<Vec<ResourceChangeJson>> = None;
        let mut configuration: Option<Option<ConfigurationJson>> = None;
        let mut planned = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "format_version" if format_version.is_some() => {
                    return Err(duplicate("format_version"));
                }
                "format_version" => format_version = Some(map.next_value()?),
                "variables" if variables.is_some() => return Err(duplicate("variables")),
                "variables" => variables = Some(map.next_value()?),
                "planned_values" if planned_values.is_some() => {
                    return Err(duplicate("planned_values"));
                }
                "planned_values" => {
                    let values: Option<ValuesJson> = map.next_value()?;
                    if let Some(root) = values.as_ref().and_then(|v| v.root_module.as_ref()) {
                        addresses(root, 0, &mut planned);
                    }
                    planned_values = Some(values);
                }
                "prior_state" if prior_state.is_some() => return Err(duplicate("prior_state")),
                "prior_state" => prior_state = Some(map.next_value()?),
                "resource_changes" if resource_changes.is_some() => {
                    return Err(duplicate("resource_changes"));
                }
                "resource_changes" => {
                    resource_changes = Some(map.next_value_seed(Changes { planned: &planned })?);
                }
                "configuration" if configuration.is_some() => {
                    return Err(duplicate("configuration"));
                }
                "configuration" => configuration = Some(map.next_value()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(PlanJson {
            format_version: format_version.flatten(),
            variables: variables.unwrap_or_default(),
            planned_values: planned_values.flatten(),
            prior_state: prior_state.flatten(),
            resource_changes: resource_changes.unwrap_or_default(),
            configuration: configuration.flatten(),
        })
    }
}

/// The instance addresses the index takes from `planned_values`.
fn addresses(module: &ModuleJson, depth: usize, out: &mut HashSet<String>) {
    if depth > MAX_DEPTH {
        return;
    }
    out.extend(module.resources.iter().map(|r| r.address.clone()));
    for child in &module.child_modules {
        addresses(child, depth + 1, out);
    }
}

/// `resource_changes`, knowing which instances are planned.
struct Changes<'a> {
    planned: &'a HashSet<String>,
}

impl<'de> DeserializeSeed<'de> for Changes<'_> {
    type Value = Vec<ResourceChangeJson>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Changes<'_> {
    type Value = Vec<ResourceChangeJson>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a sequence")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(change) = seq.next_element_seed(Change {
            planned: self.planned,
        })? {
            out.push(change);
        }
        Ok(out)
    }
}

/// One entry of `resource_changes`.
struct Change<'a> {
    planned: &'a HashSet<String>,
}

impl<'de> DeserializeSeed<'de> for Change<'_> {
    type Value = ResourceChangeJson;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Change<'_> {
    type Value = ResourceChangeJson;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("struct ResourceChangeJson")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut address: Option<String> = None;
        let mut mode: Option<Option<String>> = None;
        let mut resource_type: Option<String> = None;
        let mut name: Option<String> = None;
        let mut module_address: Option<Option<String>> = None;
        let mut index: Option<Option<Value>> = None;
        let mut change: Option<ChangeJson> = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "address" if address.is_some() => return Err(duplicate("address")),
                "address" => address = Some(map.next_value()?),
                "mode" if mode.is_some() => return Err(duplicate("mode")),
                "mode" => mode = Some(map.next_value()?),
                "type" if resource_type.is_some() => return Err(duplicate("type")),
                "type" => resource_type = Some(map.next_value()?),
                "name" if name.is_some() => return Err(duplicate("name")),
                "name" => name = Some(map.next_value()?),
                "module_address" if module_address.is_some() => {
                    return Err(duplicate("module_address"));
                }
                "module_address" => module_address = Some(map.next_value()?),
                "index" if index.is_some() => return Err(duplicate("index")),
                "index" => index = Some(map.next_value()?),
                "change" if change.is_some() => return Err(duplicate("change")),
                "change" => {
                    let skip_after = address.as_ref().is_some_and(|a| self.planned.contains(a));
                    change = Some(map.next_value_seed(Lean { skip_after })?);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(ResourceChangeJson {
            address: address.ok_or_else(|| de::Error::missing_field("address"))?,
            mode: mode.flatten(),
            resource_type: resource_type.ok_or_else(|| de::Error::missing_field("type"))?,
            name: name.ok_or_else(|| de::Error::missing_field("name"))?,
            module_address: module_address.flatten(),
            index: index.flatten(),
            change: change.ok_or_else(|| de::Error::missing_field("change"))?,
        })
    }
}

/// `change`, without `after` when `skip_after`.
struct Lean {
    skip_after: bool,
}

impl<'de> DeserializeSeed<'de> for Lean {
    type Value = ChangeJson;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Lean {
    type Value = ChangeJson;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("struct ChangeJson")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut actions: Option<Vec<String>> = None;
        let mut after: Option<Option<Value>> = None;
        let mut after_unknown: Option<Option<Value>> = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "actions" if actions.is_some() => return Err(duplicate("actions")),
                "actions" => actions = Some(map.next_value()?),
                "after" if after.is_some() => return Err(duplicate("after")),
                "after" if self.skip_after => {
                    map.next_value::<IgnoredAny>()?;
                    after = Some(None);
                }
                "after" => after = Some(map.next_value()?),
                "after_unknown" if after_unknown.is_some() => {
                    return Err(duplicate("after_unknown"));
                }
                "after_unknown" => after_unknown = Some(map.next_value()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(ChangeJson {
            actions: actions.unwrap_or_default(),
            after: after.flatten(),
            after_unknown: after_unknown.flatten(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_after_of_a_planned_instance_is_not_kept() {
        let text = r#"{
            "planned_values": {"root_module": {"resources": [
                {"address": "aws_subnet.a", "type": "aws_subnet", "name": "a", "values": {"id": "subnet-1"}}
            ]}},
            "resource_changes": [
                {"address": "aws_subnet.a", "type": "aws_subnet", "name": "a",
                 "change": {"actions": ["create"], "after": {"id": "subnet-1"}, "after_unknown": {"arn": true}}},
                {"address": "aws_subnet.b", "type": "aws_subnet", "name": "b",
                 "change": {"actions": ["create"], "after": {"id": "subnet-2"}}}
            ]
        }"#;
        let lean = plan(&mut serde_json::Deserializer::from_str(text)).unwrap();
        let full: PlanJson = serde_json::from_str(text).unwrap();
        assert!(full.resource_changes[0].change.after.is_some());
        assert_eq!(lean.resource_changes[0].change.after, None);
        assert_eq!(
            lean.resource_changes[0].change.after_unknown,
            full.resource_changes[0].change.after_unknown
        );
        // Not in planned_values: its `after` is what the index reads.
        assert_eq!(
            lean.resource_changes[1].change.after,
            full.resource_changes[1].change.after
        );
        let duplicated = r#"{"planned_values": {}, "planned_values": {}}"#;
        assert!(plan(&mut serde_json::Deserializer::from_str(duplicated)).is_err());
    }
}
