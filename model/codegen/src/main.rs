//! `cargo run -p banca-codegen [-- --check]`: regenerates `model/src/l1/` from `model/schemas/`.
//! With `--check`, writes nothing and exits 1 when the committed code differs.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    let check = std::env::args().any(|a| a == "--check");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    match run(&root, check) {
        Ok(stale) if check && !stale.is_empty() => {
            eprintln!(
                "banca-codegen: generated code is stale: {}\nhint: cargo run -p banca-codegen",
                stale.join(", ")
            );
            ExitCode::from(1)
        }
        Ok(stale) => {
            eprintln!(
                "banca-codegen: {} files {}",
                stale.len(),
                if check { "stale" } else { "rewritten" }
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("banca-codegen: error: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(model: &Path, check: bool) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let set = banca_codegen::load(&model.join("schemas"))?;
    let files = banca_codegen::generate(&set)?;
    let out: PathBuf = model.join("src").join("l1");
    let mut stale = Vec::new();
    for (name, code) in &files {
        let path = out.join(name);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(code.as_str()) {
            stale.push(name.clone());
            if !check {
                std::fs::create_dir_all(&out)?;
                std::fs::write(&path, code)?;
            }
        }
    }
    // Files of services no longer generated.
    for entry in std::fs::read_dir(&out)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name.ends_with(".rs") && !files.contains_key(&name) {
            stale.push(name.clone());
            if !check {
                std::fs::remove_file(out.join(&name))?;
            }
        }
    }
    Ok(stale)
}
