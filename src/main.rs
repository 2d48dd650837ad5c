use std::process::ExitCode;

fn main() -> ExitCode {
    portico::cli::main()
}
