//! Subcommands this build leaves out. The shop build (`--no-default-features
//! --features shop`: `check` and `daemon`) has no back office and no lab; asked for one of their
//! commands, it says which build has it instead of "unrecognized subcommand".

use std::process::ExitCode;

use clap::Subcommand;

/// The commands of the parts this build was made without (hidden from --help).
#[derive(Subcommand)]
pub enum Command {
    #[cfg(not(feature = "backoffice"))]
    #[command(hide = true, disable_help_flag = true)]
    Serve(Rest),
    #[cfg(not(feature = "backoffice"))]
    #[command(hide = true, disable_help_flag = true)]
    Token(Rest),
    #[cfg(not(feature = "backoffice"))]
    #[command(hide = true, disable_help_flag = true)]
    Export(Rest),
    #[cfg(not(feature = "lab"))]
    #[command(hide = true, disable_help_flag = true)]
    Lab(Rest),
    #[cfg(not(feature = "lab"))]
    #[command(hide = true, disable_help_flag = true)]
    Demo(Rest),
}

/// Whatever followed the command: not parsed, since it cannot run here.
#[derive(clap::Args)]
pub struct Rest {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    _args: Vec<std::ffi::OsString>,
}

impl Command {
    /// Says where the command lives, and exits 2.
    pub fn explain(self) -> ExitCode {
        let (name, part): (&str, &str) = match self {
            #[cfg(not(feature = "backoffice"))]
            Command::Serve(_) => ("serve", "the back office"),
            #[cfg(not(feature = "backoffice"))]
            Command::Token(_) => ("token", "the back office"),
            #[cfg(not(feature = "backoffice"))]
            Command::Export(_) => ("export", "the back office"),
            #[cfg(not(feature = "lab"))]
            Command::Lab(_) => ("lab", "the lab"),
            #[cfg(not(feature = "lab"))]
            Command::Demo(_) => ("demo", "the lab"),
        };
        eprintln!(
            "stca2-probe: `{name}` is part of {part}, which this build of stca2-probe was made \
             without{shop}. Run it from the full build, on the back-office server or a \
             workstation: `cargo build --release` (default features), or the stca2-probe \
             package built that way.",
            shop = if cfg!(any(feature = "backoffice", feature = "lab")) {
                ""
            } else {
                " (this is the shop build: `check` and `daemon`)"
            }
        );
        ExitCode::from(stca2_engine::cli::EXIT_USAGE)
    }
}
