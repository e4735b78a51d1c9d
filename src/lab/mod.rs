//! The lab: simulated gateways on loopback with a generated PKI.
pub mod legacy;
