//! `banca`: synthesize, check, deploy and operate the bank's platform. This binary parses and
//! renders; the logic lives in the libraries (banca-stacks, banca-synth, banca-deploy).
//!
//! Exit status: 0 ok, 1 differences/drift/findings, 2 error (see `banca_synth::cli::ExitStatus`).

use std::path::PathBuf;
use std::process::ExitCode;

use banca_stacks::config::Config;
use banca_stacks::diagram::{Format, View, diagram};
use banca_stacks::pipeline::{self, Handlers, PipelineError};
use banca_synth::assembly::AssemblyOptions;
use banca_synth::cli::{ExitStatus, OutputArgs, Printer};
use clap::{Parser, Subcommand};

/// Infrastructure as code for the bank's internet-banking platform.
#[derive(Debug, Parser)]
#[command(name = "banca", version, about)]
struct Cli {
    /// The configuration file.
    #[arg(long, short = 'c', global = true, default_value = "banca.yaml")]
    config: PathBuf,
    #[command(flatten)]
    output: OutputArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Synthesize every stack into a cloud assembly (CDK format) with bundled handlers.
    Synth {
        /// Output directory.
        #[arg(long, short = 'o', default_value = "cdk.out")]
        output: PathBuf,
        /// Also write each template as YAML.
        #[arg(long)]
        yaml: bool,
        /// The workspace whose runtime/ holds the handlers (default: this binary's sources).
        #[arg(long)]
        workspace: Option<PathBuf>,
    },
    /// List the stacks: name, region, resources, dependencies.
    List,
    /// Run the compliance rules only; exit 1 on unsuppressed findings.
    Check,
    /// Print the JSON Schema of banca.yaml.
    Schema,
    /// Bootstrap a region for deployments (CDK-compatible toolkit stack).
    #[cfg(feature = "deploy")]
    Bootstrap(banca_deploy::commands::BootstrapArgs),
    /// Compare deployed stacks with the assembly; predicts replacements, flags broadening.
    #[cfg(feature = "deploy")]
    Diff(banca_deploy::commands::DiffArgs),
    /// Deploy stacks through change sets, in dependency order.
    #[cfg(feature = "deploy")]
    Deploy(banca_deploy::commands::DeployArgs),
    /// Detect resource and template drift.
    #[cfg(feature = "deploy")]
    Drift(banca_deploy::commands::DriftArgs),
    /// Delete stacks (Retain resources stay).
    #[cfg(feature = "deploy")]
    Destroy(banca_deploy::commands::DestroyArgs),
    /// Disaster recovery: bootstrap the standby region, fail over, status.
    #[cfg(feature = "deploy")]
    #[command(subcommand)]
    Dr(banca_deploy::dr::DrCommand),
    /// Print a diagram generated from the model.
    Diagram {
        /// Output syntax.
        #[arg(long, value_enum, default_value = "mermaid")]
        format: Format,
        /// Which view.
        #[arg(long, value_enum, default_value = "deployment")]
        view: View,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let printer = Printer::new(&cli.output);
    // Building ~1,000 resources keeps many builders alive at once; a debug build needs more
    // than the main thread's default stack, so the work runs on a thread with room.
    let status = std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || run(&cli, &printer))
        .map(|h| h.join().unwrap_or(ExitStatus::Error))
        .unwrap_or(ExitStatus::Error);
    ExitCode::from(status.code())
}

fn load(cli: &Cli, printer: &Printer) -> Option<Config> {
    match Config::load(&cli.config) {
        Ok(c) => Some(c),
        Err(e) => {
            printer.error(format!("{}: {e}", cli.config.display()));
            None
        }
    }
}

fn report(printer: &Printer, e: &PipelineError) -> ExitStatus {
    printer.error(e.to_string());
    ExitStatus::Error
}

#[cfg(feature = "deploy")]
fn run_deploy(cli: &Cli, printer: &Printer) -> Option<ExitStatus> {
    use banca_deploy::{commands, dr};
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            printer.error(format!("cannot start the async runtime: {e}"));
            return Some(ExitStatus::Error);
        }
    };
    runtime.block_on(async {
        Some(match &cli.command {
            Command::Bootstrap(a) => commands::bootstrap(a, printer).await,
            Command::Diff(a) => commands::diff(a, printer).await,
            Command::Deploy(a) => commands::deploy(a, printer).await,
            Command::Drift(a) => commands::drift(a, printer).await,
            Command::Destroy(a) => commands::destroy(a, printer).await,
            Command::Dr(a) => dr::run(a, printer).await,
            _ => return None,
        })
    })
}

#[cfg(not(feature = "deploy"))]
fn run_deploy(_: &Cli, _: &Printer) -> Option<ExitStatus> {
    None
}

fn run(cli: &Cli, printer: &Printer) -> ExitStatus {
    if let Some(status) = run_deploy(cli, printer) {
        return printer.finish(status);
    }
    let status = match &cli.command {
        Command::Schema => {
            printer.data(serde_json::to_string_pretty(&Config::json_schema()).unwrap_or_default());
            ExitStatus::Success
        }
        Command::Synth {
            output,
            yaml,
            workspace,
        } => {
            let Some(config) = load(cli, printer) else {
                return ExitStatus::Error;
            };
            let root = workspace
                .clone()
                .unwrap_or_else(pipeline::default_workspace_root);
            let target_dir = pipeline::default_target_dir(&root);
            let handlers = Handlers::Bundle {
                workspace_root: root,
                target_dir,
            };
            let opts = AssemblyOptions {
                yaml: *yaml,
                ..AssemblyOptions::default()
            };
            printer.note("bundling handlers and synthesizing...");
            match pipeline::synth(&config, &handlers, output, &opts) {
                Ok(r) => {
                    for s in &r.stacks {
                        if printer.is_json() {
                            printer.record("stack", s);
                        } else {
                            printer.data(&s.name);
                        }
                    }
                    if let Some(b) = &r.bundle {
                        for h in &b.handlers {
                            printer.note(format!(
                                "  {:<20} {:>9} bytes zipped ({} bytes bootstrap)",
                                h.name, h.zip_bytes, h.binary_bytes
                            ));
                        }
                    }
                    let t = r.timings;
                    printer.note(format!(
                        "{} stacks, {} resources -> {} (bundle {} ms{}, build {} ms, synth {} ms, write {} ms)",
                        r.stacks.len(),
                        r.stacks.iter().map(|s| s.resources).sum::<usize>(),
                        output.display(),
                        t.bundle_ms,
                        if r.bundle.as_ref().is_some_and(|b| !b.rebuilt) { ", cached" } else { "" },
                        t.build_ms,
                        t.synth_ms,
                        t.write_ms
                    ));
                    if printer.is_json() {
                        printer.record("timings", &t);
                    }
                    ExitStatus::Success
                }
                Err(e) => report(printer, &e),
            }
        }
        Command::List | Command::Check | Command::Diagram { .. } => {
            let Some(config) = load(cli, printer) else {
                return ExitStatus::Error;
            };
            let assets = match pipeline::assets(&Handlers::Unbundled) {
                Ok(a) => a.lambda,
                Err(e) => return report(printer, &PipelineError::Bundle(e)),
            };
            match pipeline::synthesize(&config, &assets) {
                Ok(out) => match &cli.command {
                    Command::List => {
                        for s in pipeline::summaries(&out) {
                            if printer.is_json() {
                                printer.record("stack", &s);
                            } else {
                                let deps = if s.dependencies.is_empty() {
                                    "-".to_owned()
                                } else {
                                    s.dependencies.join(",")
                                };
                                printer.data(format!(
                                    "{}\t{}\t{}\t{}",
                                    s.name, s.region, s.resources, deps
                                ));
                            }
                        }
                        ExitStatus::Success
                    }
                    Command::Diagram { format, view } => {
                        printer.data(diagram(&out, *view, *format));
                        ExitStatus::Success
                    }
                    _ => {
                        let suppressed: usize = out.stacks.iter().map(|s| s.suppressed.len()).sum();
                        printer.note(format!(
                            "compliance: 0 findings ({suppressed} suppressed with a reason)"
                        ));
                        ExitStatus::Success
                    }
                },
                Err(banca_constructs::SynthError::Compliance(findings))
                    if matches!(cli.command, Command::Check) =>
                {
                    for f in &findings {
                        if printer.is_json() {
                            printer.record("finding", &serde_json::json!({"rule": f.rule, "path": f.path, "message": f.message}));
                        } else {
                            printer.data(f.to_string());
                        }
                    }
                    printer.note(format!(
                        "compliance: {} unsuppressed finding(s)",
                        findings.len()
                    ));
                    ExitStatus::Failure
                }
                Err(e) => report(printer, &PipelineError::Synth(e)),
            }
        }
        #[cfg(feature = "deploy")]
        _ => ExitStatus::Error,
    };
    printer.finish(status)
}
