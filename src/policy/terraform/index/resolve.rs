//! Following a reference through the plan's configuration: expressions,
//! module inputs and outputs and variables, to the resource instances they
//! name (or to why they cannot be followed).

use super::*;

impl<'p> Index<'p> {
    /// The stand-in ids of the resources of `kinds` that the expression at
    /// `path` refers to, following module variables and outputs.
    pub(super) fn trace(
        &self,
        inst: &Instance,
        path: &[Step],
        kinds: &[&str],
    ) -> Result<Vec<String>, String> {
        let expressions = expressions_at(inst, path);
        if expressions.is_empty() {
            return Err(format!(
                "`{}` is known only after apply and is not set in the configuration (AWS chooses it)",
                path_text(path)
            ));
        }
        let refs: Vec<String> = expressions.iter().flat_map(|e| references_of(e)).collect();
        let resolution = self.resolve(&inst.module, Some(&inst.module_instance), &refs, 0);
        if let Some(problem) = resolution.problem {
            return Err(format!(
                "`{}` is known only after apply: {problem}",
                path_text(path)
            ));
        }
        let mut targets: Vec<&Target> = resolution
            .targets
            .iter()
            .filter(|t| {
                let kind = self.instances[t.instance].kind();
                kinds.is_empty() || kinds.contains(&kind.as_str())
            })
            .collect();
        if resolution.same_key && inst.key.is_some() {
            let same: Vec<&Target> = targets
                .iter()
                .copied()
                .filter(|t| self.instances[t.instance].key == inst.key)
                .collect();
            if !same.is_empty() {
                targets = same;
            }
        }
        if !targets.is_empty() && !resolution.constants.is_empty() {
            return Err(format!(
                "`{}` is known only after apply, and its expression combines resources with {}: which it keeps is decided at apply",
                path_text(path),
                quoted(&resolution.constants)
            ));
        }
        let mut ids = Vec::new();
        for t in targets {
            let id = self.target_value(t);
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        Ok(ids)
    }

    /// Resolve references made in the module at `module` (instance `module_instance`).
    pub(super) fn resolve(
        &self,
        module: &[String],
        module_instance: Option<&str>,
        refs: &[String],
        depth: usize,
    ) -> Resolution {
        let mut out = Resolution::default();
        if depth > MAX_DEPTH {
            out.problem = Some("its references nest too deep to follow".into());
            return out;
        }
        let mut resources: BTreeMap<ResourceName, Vec<ResourceUse>> = BTreeMap::new();
        for r in refs {
            match parse_reference(r) {
                Subject::Resource {
                    data,
                    resource_type,
                    name,
                    key,
                    attr,
                } => {
                    resources
                        .entry((data, resource_type, name))
                        .or_default()
                        .push((key, attr));
                }
                Subject::Variable(name) => {
                    self.resolve_variable(module, module_instance, &name, depth, &mut out)
                }
                Subject::Local(name) => {
                    out.problem = Some(format!(
                        "it depends on `local.{name}`, and a plan does not record the expressions of local values"
                    ));
                }
                Subject::ModuleOutput { call, output } => {
                    self.resolve_output(module, &call, &output, depth, &mut out);
                }
                Subject::SameKey => out.same_key = true,
                Subject::Module | Subject::Ignored => {}
                Subject::Constant(text) => out.constants.push(text),
            }
        }
        for ((data, resource_type, name), uses) in resources {
            let config_address = if data {
                format!("data.{resource_type}.{name}")
            } else {
                format!("{resource_type}.{name}")
            };
            let Some(candidates) = self.by_config.get(&(module.to_vec(), config_address)) else {
                continue;
            };
            // Prefer instances of the referring module instance.
            let local: Vec<usize> = candidates
                .iter()
                .copied()
                .filter(|&i| Some(self.instances[i].module_instance.as_str()) == module_instance)
                .collect();
            let candidates = if local.is_empty() {
                candidates.clone()
            } else {
                local
            };
            let attr = uses.iter().find_map(|(_, a)| a.clone());
            let keys: Vec<&Value> = uses.iter().filter_map(|(k, _)| k.as_ref()).collect();
            for i in candidates {
                let inst_key = self.instances[i].key.as_ref();
                if keys.is_empty()
                    || inst_key.is_some_and(|k| keys.iter().any(|want| same_key(want, k)))
                {
                    out.targets.insert(Target {
                        instance: i,
                        attr: attr.clone(),
                    });
                }
            }
        }
        out
    }

    pub(super) fn resolve_variable(
        &self,
        module: &[String],
        module_instance: Option<&str>,
        name: &str,
        depth: usize,
        out: &mut Resolution,
    ) {
        let Some((call, parent)) = module.split_last() else {
            out.constants.push(format!("var.{name}"));
            return;
        };
        let call_expression = self
            .config_module(parent)
            .and_then(|m| m.module_calls.get(call))
            .and_then(|c| c.expressions.get(name));
        let Some(expression) = call_expression else {
            // Not set by the caller: the variable's default, a constant.
            out.constants.push(format!("var.{name}"));
            return;
        };
        let refs = references_of(expression);
        if refs.is_empty() {
            out.constants.push(format!("var.{name}"));
            return;
        }
        let parent_instance = module_instance.map(parent_module_instance);
        let inner = self.resolve(parent, parent_instance.as_deref(), &refs, depth + 1);
        merge(out, inner);
    }

    pub(super) fn resolve_output(
        &self,
        module: &[String],
        call: &str,
        output: &str,
        depth: usize,
        out: &mut Resolution,
    ) {
        let mut child = module.to_vec();
        child.push(call.to_string());
        let expression = self
            .config_module(&child)
            .and_then(|m| m.outputs.get(output))
            .and_then(|o| o.expression.as_ref());
        let Some(expression) = expression else {
            out.problem = Some(format!(
                "the plan does not describe output `{output}` of module `{call}`"
            ));
            return;
        };
        let refs = references_of(expression);
        if refs.is_empty() {
            out.constants.push(format!("module.{call}.{output}"));
            return;
        }
        // Every instance of the called module (one unless it has count or for_each).
        let inner = self.resolve(&child, None, &refs, depth + 1);
        merge(out, inner);
    }
}
