//! The command line of `gridwalk-bench`, parsed by hand (three flags do not need a CLI crate).

/// Usage text, printed for `--help` and after a command-line error.
pub const USAGE: &str = "\
usage: gridwalk-bench [--quick] [--only NAME]... [--list]
  --quick       run every group small (the whole run takes about a minute)
  --only NAME   run only group NAME (repeatable; also --only=NAME)
  --list        print the registered group names and exit
  --help        print this text and exit
Figures are printed one a line as `figure: <name> <value> <unit>`.";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Args {
    pub quick: bool,
    pub only: Vec<String>,
    pub list: bool,
    pub help: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArgsError {
    #[error("{0} needs a group name")]
    MissingValue(&'static str),
    #[error("unknown argument '{0}'")]
    Unknown(String),
}

/// Parses the arguments after the program name.
pub fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Args, ArgsError> {
    let mut parsed = Args::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => parsed.quick = true,
            "--list" => parsed.list = true,
            "--help" | "-h" => parsed.help = true,
            "--only" => match args.next() {
                Some(name) if !name.is_empty() && !name.starts_with("--") => parsed.only.push(name),
                _ => return Err(ArgsError::MissingValue("--only")),
            },
            other => match other.strip_prefix("--only=") {
                Some("") => return Err(ArgsError::MissingValue("--only")),
                Some(name) => parsed.only.push(name.to_owned()),
                None => return Err(ArgsError::Unknown(other.to_owned())),
            },
        }
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, ArgsError> {
        parse_args(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn parses_flags_and_repeated_only() {
        assert_eq!(parse(&[]), Ok(Args::default()));
        let a = parse(&["--quick", "--only", "synth", "--only=archive"]).expect("valid");
        assert!(a.quick && !a.list && !a.help);
        assert_eq!(a.only, vec!["synth", "archive"]);
        assert!(parse(&["--list"]).expect("valid").list);
        assert!(parse(&["-h"]).expect("valid").help);
    }

    #[test]
    fn refuses_missing_values_and_unknown_flags() {
        assert_eq!(parse(&["--only"]), Err(ArgsError::MissingValue("--only")));
        assert_eq!(
            parse(&["--only", "--quick"]),
            Err(ArgsError::MissingValue("--only"))
        );
        assert_eq!(parse(&["--only="]), Err(ArgsError::MissingValue("--only")));
        assert_eq!(parse(&["--fast"]), Err(ArgsError::Unknown("--fast".into())));
        assert_eq!(parse(&["synth"]), Err(ArgsError::Unknown("synth".into())));
    }
}
