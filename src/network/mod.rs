//! Fargate readiness: can the cluster's tasks reach ECR, S3, CloudWatch Logs
//! and their secrets from their subnets? Discovery (`gather`) fills a
//! [`snapshot::NetworkSnapshot`]; the rules (`rules`) are pure functions of it.

pub mod endpoints;
pub mod facts;
pub mod gather;
pub mod needs;
pub mod paths;
pub mod rules;
pub mod run;
pub mod snapshot;
