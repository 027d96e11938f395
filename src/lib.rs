//! ecr-fargate-preflight: answers, before a deploy, whether a buildx
//! multi-platform push to ECR will succeed with a given role, and names the
//! exact missing IAM action when it will not.
//!
//! Data flows one way: [`cli`] → a command ([`check`], [`audit`], [`merge`])
//! → each area's `run` ([`push::run`], [`network::run`], [`policy::run`]:
//! gather → facts → pure judges) → [`report`] renderers through [`output`].

pub mod action;
pub mod audit;
pub mod aws;
pub mod build;
pub mod catalog;
pub mod check;
pub mod cli;
pub mod config;
pub mod console;
pub mod deadline;
pub mod error;
pub mod files;
pub mod github;
pub mod limits;
pub mod merge;
pub mod network;
pub mod output;
pub mod policy;
pub mod push;
pub mod report;
pub mod rules;
pub mod trust;
pub mod validate;
