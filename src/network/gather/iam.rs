//! IAM: the execution roles' permissions, through the policy simulator.

use std::collections::BTreeMap;

use aws_sdk_iam::error::ProvideErrorMetadata;

use super::Ctx;
use crate::aws::describe_error;
use crate::network::needs::needed_actions;
use crate::network::snapshot::{NetworkSnapshot, RoleSimulation};

/// Each execution role of the snapshot's task definitions, with the actions
/// its tasks need (`network::needs`), sorted and each once.
pub(super) fn roles_to_simulate(snapshot: &NetworkSnapshot) -> BTreeMap<String, Vec<&'static str>> {
    snapshot
        .task_definitions
        .values()
        .filter_map(|t| t.execution_role_arn.clone().map(|r| (r, needed_actions(t))))
        .fold(BTreeMap::new(), |mut m, (r, actions)| {
            let e: &mut Vec<&'static str> = m.entry(r).or_default();
            e.extend(actions);
            e.sort_unstable();
            e.dedup();
            m
        })
}

/// What the IAM policy simulator decides for `role` on each of `actions`; nothing to simulate when a role needs no action.
pub(super) async fn simulate(ctx: &Ctx, role: &str, actions: &[&'static str]) -> RoleSimulation {
    if actions.is_empty() {
        return RoleSimulation::default();
    }
    ctx.call();
    let result = ctx
        .c
        .iam
        .simulate_principal_policy()
        .policy_source_arn(role)
        .set_action_names(Some(actions.iter().map(|a| a.to_string()).collect()))
        .send()
        .await;
    match result {
        Ok(o) => RoleSimulation {
            decisions: o
                .evaluation_results()
                .iter()
                .map(|r| {
                    (
                        r.eval_action_name().to_string(),
                        r.eval_decision().as_str().to_string(),
                    )
                })
                .collect(),
            skipped: None,
        },
        Err(e) => RoleSimulation {
            decisions: BTreeMap::new(),
            skipped: Some(match (e.code(), e.message()) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                _ => describe_error(&e),
            }),
        },
    }
}
