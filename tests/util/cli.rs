//! The binary as a user runs it, and the files it reads.

use std::io::Write;
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// The `stca2-probe` binary with the repository's lab guard (as
/// .cargo/config.toml sets it for `cargo run`), no colour, and the C
/// locale (English, whatever the machine's; the language tests set their
/// own).
pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_stca2-probe"));
    c.env("STCA2_PROBE_ALLOW", "127.0.0.0/8,10.0.0.0/8");
    c.env("NO_COLOR", "1");
    c.env("LC_ALL", "C");
    c
}

/// Writes `text` to `dir/name` and returns the path as a string.
pub fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::File::create(&p)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    p.to_string_lossy().into_owned()
}

/// A listener on the refused address must see no connection at all.
pub fn assert_no_connection(listener: &TcpListener) {
    listener.set_nonblocking(true).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        Ok((_, peer)) => panic!("the refused address was contacted from {peer}"),
        Err(e) => panic!("accept: {e}"),
    }
}
