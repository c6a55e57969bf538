//! `storage`: the customers' photo bucket (versioned, KMS, TLS-only, public access blocked,
//! access logs). The primary's replicates every object to the dr bucket; both send object
//! events to EventBridge for the onboarding workflow.
//!
//! A stack of its own because the dr bucket must exist before the primary bucket's replication
//! rule, while the dr read replica (in `data`) must come after the primary database.

use banca_constructs::SynthError;
use banca_constructs::s3::{Bucket, BucketProps, Replication};

use super::Region;
use super::security::Security;

/// The photo bucket of one region.
pub(crate) struct Storage {
    pub photos: Bucket,
}

/// Builds the stack; `replicate_to` is the dr storage (primary only).
pub(crate) fn build(
    r: &Region<'_>,
    sec: &Security,
    replicate_to: Option<&Storage>,
) -> Result<Storage, SynthError> {
    let s = r.stack("storage", "customer photo bucket")?;
    let photos = Bucket::new(
        &s,
        "Photos",
        BucketProps {
            encryption_key: Some(sec.data_key.clone()),
            replication: replicate_to.map(|d| Replication {
                destination: Box::new(d.photos.clone()),
            }),
            event_bridge: true,
            ..BucketProps::default()
        },
    )?;
    Ok(Storage { photos })
}
