//! ECS: task definitions (with their containers), services, and ECR
//! pull-through cache rules.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Mapper, SECURITY_GROUPS, SUBNETS};
use crate::network::snapshot::{Container, TaskDefinition, Workload, WorkloadKind};
use crate::policy::terraform::index::{Field, Got, Instance, Step, key};

impl<'a, 'p> Mapper<'a, 'p> {
    pub(super) fn task_definitions(&mut self) {
        let ix = self.ix;
        for inst in self.instances(&["aws_ecs_task_definition"]) {
            let key_id = match inst.known_str("arn") {
                Some(arn) => arn.to_string(),
                None => inst.address.clone(),
            };
            self.notes.id(&key_id, &inst.address);
            self.notes.id(&inst.address, &inst.address);
            let family = ix.string(inst, &key("family")).value().unwrap_or_default();
            let revision = ix
                .integer(inst, &key("revision"))
                .value()
                .and_then(|r| i32::try_from(r).ok())
                .unwrap_or(0);
            let execution_role_arn = self.execution_role_arn(inst);
            let containers = match ix.string(inst, &key("container_definitions")) {
                Got::Value(text) => match parse_containers(&text) {
                    Ok(c) => c,
                    Err(e) => {
                        self.note(inst, "container_definitions", format!("not valid container definitions ({e}): the task definition is not checked"));
                        continue;
                    }
                },
                Got::Absent => Vec::new(),
                Got::Unknown(why) => {
                    self.note(
                        inst,
                        "container_definitions",
                        format!("{why} (it interpolates a value unknown until apply): what the containers need is unknown, so the endpoint checks skip the services that use this task definition"),
                    );
                    continue;
                }
            };
            let operating_system = ix
                .string(
                    inst,
                    &[
                        Step::Key("runtime_platform"),
                        Step::Index(0),
                        Step::Key("operating_system_family"),
                    ],
                )
                .value();
            let efs_file_systems = self.efs_file_systems(inst);
            self.s.task_definitions.insert(
                key_id.clone(),
                TaskDefinition {
                    arn: key_id,
                    family,
                    revision,
                    execution_role_arn,
                    operating_system,
                    containers,
                    efs_file_systems,
                },
            );
        }
    }

    /// A task definition's `execution_role_arn`; one unknown until apply is
    /// set all the same (a stand-in), so it does not read as missing.
    fn execution_role_arn(&mut self, inst: &Instance) -> Option<String> {
        match self.ix.reference(
            inst,
            &key("execution_role_arn"),
            &["aws_iam_role", "data.aws_iam_role"],
        ) {
            Got::Value(v) => Some(v),
            Got::Absent => None,
            Got::Unknown(why) => {
                self.note(inst, "execution_role_arn", why);
                // Set, but to something unknown: not "missing".
                Some(format!("{}.execution_role_arn", inst.address))
            }
        }
    }

    /// The EFS file systems a task definition's volumes mount.
    fn efs_file_systems(&mut self, inst: &Instance) -> Vec<String> {
        let ix = self.ix;
        let mut efs_file_systems = Vec::new();
        if let Field::Known(Value::Array(volumes)) = inst.field(&key("volume")) {
            for n in 0..volumes.len() {
                let path = [
                    Step::Key("volume"),
                    Step::Index(n),
                    Step::Key("efs_volume_configuration"),
                    Step::Index(0),
                    Step::Key("file_system_id"),
                ];
                match ix.reference(
                    inst,
                    &path,
                    &["aws_efs_file_system", "data.aws_efs_file_system"],
                ) {
                    Got::Value(fs) => efs_file_systems.push(fs),
                    Got::Absent => {}
                    Got::Unknown(why) => self.note(
                        inst,
                        &format!("volume[{n}].efs_volume_configuration[0].file_system_id"),
                        why,
                    ),
                }
            }
        }
        efs_file_systems
    }

    pub(super) fn workloads(&mut self) {
        let ix = self.ix;
        for inst in self.instances(&["aws_ecs_service"]) {
            let Some(name) = self.take(inst, "name", ix.string(inst, &key("name"))) else {
                continue;
            };
            let cluster = self.service_cluster(inst);
            let capacity_providers = capacity_providers(inst);
            let launch_type = self.launch_type(inst, &capacity_providers);
            let fargate = launch_type.as_deref() == Some("FARGATE")
                || (launch_type.is_none()
                    && capacity_providers.iter().any(|c| c.starts_with("FARGATE")));
            let platform_version = match ix.string(inst, &key("platform_version")) {
                Got::Value(v) => Some(v),
                // ECS runs Fargate tasks on LATEST unless told otherwise.
                _ if fargate => Some("LATEST".into()),
                _ => None,
            };
            let subnets = self.service_subnets(inst, fargate);
            let security_groups = self.service_security_groups(inst, &subnets);
            let assign_public_ip = ix
                .boolean(inst, &net("assign_public_ip"))
                .value()
                .unwrap_or(false);
            let enable_execute_command = ix
                .boolean(inst, &key("enable_execute_command"))
                .value()
                .unwrap_or(false);
            let task_definition = match ix.reference(
                inst,
                &key("task_definition"),
                &["aws_ecs_task_definition", "data.aws_ecs_task_definition"],
            ) {
                Got::Value(t) => self.task_definition_key(inst, &t),
                got => self.take(inst, "task_definition", got).unwrap_or_default(),
            };
            let workload = Workload {
                name,
                cluster,
                kind: WorkloadKind::Service,
                launch_type,
                capacity_providers,
                platform_version,
                subnets,
                security_groups,
                assign_public_ip,
                enable_execute_command,
                task_definition,
            };
            let resource = crate::network::facts::workload_resource(&self.s, &workload);
            self.notes.id(&resource, &inst.address);
            self.notes.id(&inst.address, &inst.address);
            self.s.workloads.push(workload);
        }
    }

    /// The cluster a service names; `default` when it names none.
    fn service_cluster(&mut self, inst: &Instance) -> String {
        match self.ix.reference(
            inst,
            &key("cluster"),
            &["aws_ecs_cluster", "data.aws_ecs_cluster"],
        ) {
            Got::Value(c) => c,
            Got::Absent => "default".into(),
            got => self
                .take(inst, "cluster", got)
                .unwrap_or_else(|| inst.address.clone()),
        }
    }

    /// A service's `launch_type`; when unknown until apply, its capacity
    /// providers (or the cluster's default strategy) decide.
    fn launch_type(&mut self, inst: &Instance, capacity_providers: &[String]) -> Option<String> {
        match self.ix.string(inst, &key("launch_type")) {
            Got::Value(v) => Some(v),
            Got::Absent => None,
            Got::Unknown(_) if !capacity_providers.is_empty() => None,
            Got::Unknown(why) => {
                self.note(
                    inst,
                    "launch_type",
                    format!("{why}: the cluster's default capacity provider strategy decides"),
                );
                None
            }
        }
    }

    /// The subnets of a service's network configuration.
    fn service_subnets(&mut self, inst: &Instance, fargate: bool) -> Vec<String> {
        match self.ix.references(inst, &net("subnets"), SUBNETS) {
            Got::Value(v) => v,
            Got::Absent => {
                if fargate {
                    self.note(
                        inst,
                        "network_configuration",
                        "no network configuration: a Fargate service needs one",
                    );
                }
                Vec::new()
            }
            Got::Unknown(why) => {
                self.note(
                    inst,
                    "network_configuration[0].subnets",
                    format!("{why}: the service's subnets are not checked"),
                );
                Vec::new()
            }
        }
    }

    /// The security groups of a service's network configuration; not set,
    /// the default security group of its subnets' VPC, as ECS does.
    fn service_security_groups(&mut self, inst: &Instance, subnets: &[String]) -> Vec<String> {
        let ix = self.ix;
        match ix.references(inst, &net("security_groups"), SECURITY_GROUPS) {
            Got::Value(v) if !v.is_empty() => v,
            Got::Unknown(why) if ix.configured(inst, &net("security_groups")) => {
                self.note(
                    inst,
                    "network_configuration[0].security_groups",
                    format!("{why}: the task security group checks are skipped"),
                );
                Vec::new()
            }
            // Not set: ECS uses the VPC's default security group.
            _ => {
                let vpc = subnets
                    .iter()
                    .find_map(|s| self.s.subnets.get(s))
                    .map(|s| s.vpc_id.clone());
                match vpc {
                    Some(vpc) if !subnets.is_empty() => {
                        vec![self.default_security_group_of(inst, &vpc)]
                    }
                    _ => Vec::new(),
                }
            }
        }
    }

    /// The key of a task definition in the snapshot, from what a service names:
    /// an ARN, `family:revision`, `family`, or a stand-in address.
    fn task_definition_key(&mut self, inst: &Instance, named: &str) -> String {
        if self.s.task_definitions.contains_key(named) {
            return named.to_string();
        }
        let found = self.s.task_definitions.values().find(|t| {
            t.family == named
                || format!("{}:{}", t.family, t.revision) == named
                || named.ends_with(&format!(":task-definition/{}:{}", t.family, t.revision))
        });
        match found {
            Some(t) => t.arn.clone(),
            None => {
                if self.ix.by_snapshot_id(named).is_none() {
                    self.note(
                        inst,
                        "task_definition",
                        format!("task definition `{named}` is not in the plan: what its containers need is unknown, so the endpoint checks skip this service"),
                    );
                }
                named.to_string()
            }
        }
    }

    pub(super) fn pull_through_cache(&mut self) {
        let ix = self.ix;
        for inst in self.instances(&["aws_ecr_pull_through_cache_rule"]) {
            if let Some(prefix) = self.take(
                inst,
                "ecr_repository_prefix",
                ix.string(inst, &key("ecr_repository_prefix")),
            ) {
                self.s.pull_through_cache_prefixes.push(prefix);
            }
        }
    }
}

/// The path of `name` in a service's `network_configuration` block.
fn net(name: &'static str) -> [Step<'static>; 3] {
    [
        Step::Key("network_configuration"),
        Step::Index(0),
        Step::Key(name),
    ]
}

/// The capacity providers of a service's `capacity_provider_strategy`.
fn capacity_providers(inst: &Instance) -> Vec<String> {
    match inst.field(&key("capacity_provider_strategy")) {
        Field::Known(Value::Array(items)) => items
            .iter()
            .filter_map(|i| i.get("capacity_provider").and_then(Value::as_str))
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// The containers of a `container_definitions` JSON string.
fn parse_containers(text: &str) -> Result<Vec<Container>, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let Value::Array(items) = value else {
        return Err("expected a JSON array".into());
    };
    let str_at = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let mut out = Vec::new();
    for item in &items {
        if !item.is_object() {
            return Err("expected an array of objects".into());
        }
        let list = |k: &str, field: &str| -> Vec<String> {
            item.get(k)
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|x| str_at(x, field)).collect())
                .unwrap_or_default()
        };
        let log = item.get("logConfiguration").filter(|l| l.is_object());
        out.push(Container {
            name: str_at(item, "name").unwrap_or_default(),
            image: str_at(item, "image").unwrap_or_default(),
            secrets: list("secrets", "valueFrom"),
            repository_credentials: item
                .get("repositoryCredentials")
                .and_then(|r| str_at(r, "credentialsParameter")),
            log_driver: log.and_then(|l| str_at(l, "logDriver")),
            log_options: log
                .and_then(|l| l.get("options"))
                .and_then(Value::as_object)
                .map(|o| {
                    o.iter()
                        .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                        .collect::<BTreeMap<_, _>>()
                })
                .unwrap_or_default(),
            firelens: item
                .get("firelensConfiguration")
                .is_some_and(|f| !f.is_null()),
            environment_files: list("environmentFiles", "value"),
        });
    }
    Ok(out)
}
