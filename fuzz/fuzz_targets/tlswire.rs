//! Fuzzes the TLS wire parser with arbitrary server (and client) bytes,
//! fed in arbitrary chunks: it must never panic, allocate without bound or
//! loop; every outcome is a `Progress` or a classified `WireError`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stca2_wire::{self as tlswire, ClientHelloReader, Progress, ServerFlight};

fuzz_target!(|data: &[u8]| {
    // First byte picks the chunk size, so record and message boundaries
    // land everywhere.
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(split).max(1);
    let mut flight = ServerFlight::new();
    let mut fed = 0usize;
    for piece in rest.chunks(chunk) {
        fed += piece.len();
        match flight.feed(piece) {
            // Never more than the total cap without an outcome.
            Ok(Progress::NeedMore) => assert!(fed <= tlswire::MAX_TOTAL_BYTES),
            end => {
                // Outcomes and errors are sticky.
                assert_eq!(flight.feed(rest), end);
                break;
            }
        }
    }
    if let Some(certs) = &flight.certificates {
        assert!(certs.len() <= tlswire::MAX_CERTIFICATES);
    }

    let mut hello = ClientHelloReader::new();
    for piece in rest.chunks(chunk) {
        if !matches!(hello.feed(piece), Ok(None)) {
            break;
        }
    }
    let _ = tlswire::ServerHello::parse(rest);
    let _ = tlswire::parse_certificate(rest);
    let _ = tlswire::CertificateRequest::parse(rest, tlswire::TLS1_2);
    let _ = tlswire::parse_client_hello(rest);
});
