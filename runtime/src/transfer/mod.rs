//! The transfer processor: executes every `TransferRequested` exactly once on the core
//! platform, notifies the customer at least once, and survives crashes, duplicates and
//! ambiguous answers at any point.
//!
//! * [`machine`]: the pure state machine `(row, input) -> (row', effect)` and the documented
//!   states (seed vocabulary plus lease, fence, attempts, payload hash and `REVIEW`).
//! * [`store`]: the `TransferStore` port; MySQL and SQLite adapters.
//! * [`ports`]: the core platform (HTTP) and notifier (SNS) ports and adapters.
//! * [`processor`]: the async shell that runs one message through the machine.
//! * [`batch`]: SQS batches (Lambda event or long-polling), partial batch responses.
//! * [`config`]: configuration from the environment (Lambda and the poller).

pub mod batch;
pub mod config;
pub mod machine;
pub mod ports;
pub mod processor;
pub mod store;
