//! Integration tests of banca-handlers against real stand-ins: Redis (`BANCA_REDIS_URL`),
//! moto (`AWS_ENDPOINT_URL`) and the in-process simulators of the existing systems. Every
//! handler is driven through its real Lambda event shape.
//!
//! One test binary (one link) for all of them; each test uses unique queue/table/bucket names
//! and Redis key prefixes, so they run in parallel.

// Fixture helpers outside `#[test]` functions panic on setup failure on purpose: a broken
// stand-in must fail the test loudly (clippy's allow-unwrap-in-tests only covers test fns).
#![allow(clippy::unwrap_used)]

mod audit;
mod authorizer;
mod binaries;
mod common;
mod fake_runtime;
mod notify;
mod onboarding;
mod otp;
mod report;
mod signup;
mod summary;
