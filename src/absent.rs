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
    /// (`absent-command` in `check.ftl`, in `lang`).
    pub fn explain(self, lang: stca2_words::Lang) -> ExitCode {
        let (name, part): (&str, &str) = match self {
            #[cfg(not(feature = "backoffice"))]
            Command::Serve(_) => ("serve", "backoffice"),
            #[cfg(not(feature = "backoffice"))]
            Command::Token(_) => ("token", "backoffice"),
            #[cfg(not(feature = "backoffice"))]
            Command::Export(_) => ("export", "backoffice"),
            #[cfg(not(feature = "lab"))]
            Command::Lab(_) => ("lab", "lab"),
            #[cfg(not(feature = "lab"))]
            Command::Demo(_) => ("demo", "lab"),
        };
        let shop = if cfg!(any(feature = "backoffice", feature = "lab")) {
            "no"
        } else {
            "yes"
        };
        eprintln!(
            "stca2-probe: {}",
            stca2_words::Words::new(lang).text(
                "absent-command",
                Some(&stca2_words::args!("name" => name, "part" => part, "shop" => shop)),
            )
        );
        ExitCode::from(stca2_engine::cli::EXIT_USAGE)
    }
}
