//! banca-model: a typed model of AWS CloudFormation.
#![warn(missing_docs)]

pub mod generated_support;
pub mod intrinsic;
pub mod l1;
pub mod resource;
pub mod template;
pub mod validate;
pub mod value;
