//! banca-handlers: the customer-facing Lambda handlers of the internet-banking platform, each a
//! thin `bootstrap` binary (`src/bin/`) over the pure logic and adapters in this library.
//!
//! | binary | event | module |
//! |---|---|---|
//! | notify-email | SQS (SNS fan-out) | [`notify::email`] |
//! | notify-sms | SQS (SNS fan-out) | [`notify::sms`] |
//! | otp-generate, otp-validate | API Gateway proxy | [`otp`] |
//! | authorizer | API Gateway REQUEST/TOKEN authorizer | [`authorizer`] |
//! | signup | API Gateway proxy (/signin) | [`signup`] |
//! | onboarding-trigger | S3 ObjectCreated | [`onboarding`] (+ [`face`] for the state machine) |
//! | audit-collector | SQS | [`audit`] |
//! | user-summary | API Gateway proxy (/me/summary) | [`summary`] |
//! | movements-report | SQS | [`report`] |
//!
//! ```
//! // Every template renders from the embedded copies of `templates/`.
//! use banca_handlers::templates::Templates;
//! use banca_contracts::{fields::Locale, notification::TemplateName};
//! let t = Templates::load().unwrap();
//! let sms = t.sms(TemplateName::OtpCode, Locale::En, &serde_json::json!({"code": "123456", "ttlMinutes": 3})).unwrap();
//! assert!(sms.contains("123456"));
//! ```
//!
//! Invariants: no handler logs a secret, an OTP code, a password or a token; every loop and
//! retry is bounded by a named constant; time comes from a `Clock` (tests control it);
//! money is `banca_contracts::money::Amount`, never a float.
#![warn(missing_docs)]

pub mod apigw;
pub mod audit;
pub mod authorizer;
pub mod boot;
pub mod clients;
pub mod config;
pub mod face;
pub mod notify;
pub mod onboarding;
pub mod otp;
pub mod report;
pub mod signup;
pub mod summary;
pub mod templates;
pub mod time;
