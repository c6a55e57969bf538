//! banca-deploy: everything in banca that talks to AWS. It reads a CDK cloud assembly
//! (`cdk.out/`, from `banca synth` or `cdk synth`) and bootstraps, diffs, deploys, checks drift,
//! destroys, and runs the disaster-recovery region.
//!
//! Each command is a clap `Args` struct plus an async `run(&Args, &Printer) -> ExitStatus` in
//! [`commands`]; the `banca` binary nests them as subcommands and prints through one
//! [`banca_synth::cli::Printer`]. The pure parts (the [`assembly`] reader, the [`diff`] engine,
//! the [`plan`]ner, [`progress`] rendering, the [`bootstrap`] template) are usable alone:
//!
//! ```
//! use banca_deploy::diff::{diff_templates, Replacement};
//! use banca_model::template::Template;
//!
//! let old = Template::parse(r#"{"Resources": {"Q": {"Type": "AWS::SQS::Queue",
//!     "Properties": {"QueueName": "transfers"}}}}"#).unwrap();
//! let new = Template::parse(r#"{"Resources": {"Q": {"Type": "AWS::SQS::Queue",
//!     "Properties": {"QueueName": "transfers-v2"}}}}"#).unwrap();
//! let diff = diff_templates(Some(&old), &new);
//! assert_eq!(diff.resources[0].replacement, Replacement::Always);
//! ```
//!
//! Invariants:
//! - AWS is reached only through [`aws::Aws`], built from aws-config's standard chain, so
//!   `AWS_ENDPOINT_URL` points every call at moto in tests; tests swap in recorded responses.
//! - Every wait is bounded ([`cfn::Waiting`]: a poll interval and a timeout) and every
//!   pagination has a page limit.
//! - An unchanged stack makes no change set; an empty change set is deleted, never executed.

#![warn(missing_docs)]

pub mod assembly;
pub mod aws;
pub mod bootstrap;
pub mod cfn;
pub mod commands;
pub mod deploy;
pub mod destroy;
pub mod diff;
pub mod dr;
pub mod drift;
mod error;
pub mod plan;
pub mod progress;

pub use error::Error;
