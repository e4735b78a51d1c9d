//! What one upload to the back office may hold. Probes split their spool by
//! these numbers; the back office refuses what exceeds them (413).

/// The largest request body the back office reads, in bytes.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// The most reports one upload (`{"reports": [...]}`) may carry.
pub const MAX_BATCH: usize = 1000;
