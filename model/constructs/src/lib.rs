//! banca-constructs: secure-by-default building blocks for banca's CloudFormation stacks.
//!
//! An [`App`] holds stages (an account and a region each); a stage holds stacks; a stack holds
//! constructs. Constructs are L2 intent APIs over CloudFormation resources whose `Default`
//! props are the secure choice (customer-managed keys, TLS-only policies, DLQs, log retention,
//! Retain on stateful resources). References between constructs are [`Token`]s that synth
//! resolves to `Ref`/`Fn::GetAtt` in one stack, to an export and `Fn::ImportValue` between
//! stacks of one region, and to `Fn::GetStackOutput` between regions; stack dependencies
//! follow from them. Grants add least-privilege statements to roles. At synth, mutating
//! aspects run, then read-only ones, then the compliance rules ([`compliance::RULES`]); a
//! finding fails synth unless suppressed with a reason.
//!
//! ```
//! use banca_constructs::{App, Environment, StackProps};
//! use banca_constructs::sqs::{Queue, QueueProps};
//!
//! let app = App::new("banca");
//! let primary = app.stage("primary", Environment::new("111111111111", "us-east-1")).unwrap();
//! let messaging = app.stack(primary, "messaging", StackProps::default()).unwrap();
//! let queue = Queue::new(&messaging, "Transfers", QueueProps::default()).unwrap();
//! let out = app.synth().unwrap();
//! let stack = out.stack("banca-primary-messaging").unwrap();
//! assert!(stack.template.resources.contains_key(queue.resource().logical_id()));
//! ```
//!
//! Invariants: no I/O; the same tree synthesizes to the same bytes; no Allow statement banca
//! writes has a wildcard action (only the TLS-only Deny statements name `sqs:*`, `s3:*`), and
//! `*` resources appear only for actions without resource-level permissions
//! ([`iam::actions::NO_RESOURCE_LEVEL`]) and in key policies (where `*` means the key).
#![warn(missing_docs)]

pub mod analytics;
pub mod apigateway;
pub mod aspects;
pub mod compliance;
pub mod compute;
pub mod data;
pub mod dynamodb;
pub mod ec2;
pub mod edge;
pub mod error;
pub mod iam;
pub mod kms;
pub mod lambda;
pub mod logs;
pub mod ops;
pub mod s3;
pub mod secrets;
pub mod sfn;
pub mod sns;
pub mod sqs;
pub mod synth;
pub mod tree;
pub mod waf;

pub use error::SynthError;
pub use synth::{SynthOutput, SynthStack};
pub use tree::{
    App, DEFAULT_QUALIFIER, Environment, LambdaAsset, ResourceNode, ResourceRef, Scope, StackId,
    StackProps, StageId, Token,
};
