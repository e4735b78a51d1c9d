//! The back office: ingests probe reports, serves filters, recommendations and exports.
