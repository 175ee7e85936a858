//! Decodes every file under a folder into UTF-8 text.
//!
//! `decode_dir IN_DIR OUT_DIR` walks IN_DIR, decodes each file with
//! `Decoder::new()` and writes the text at the same relative path under
//! OUT_DIR. Files refused as binary are reported on stderr and not written.

use std::path::{Path, PathBuf};

use chaff::decode::Decoder;

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> =
        std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.path());
    for entry in entries {
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            walk(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: decode_dir IN_DIR OUT_DIR");
        std::process::exit(2);
    }
    let (input, output) = (Path::new(&args[1]), Path::new(&args[2]));
    let mut files = Vec::new();
    walk(input, &mut files)?;
    let decoder = Decoder::new();
    let verbose = std::env::var_os("DECODE_DIR_VERBOSE").is_some();
    let (mut written, mut refused) = (0usize, 0usize);
    for path in files {
        let bytes = std::fs::read(&path)?;
        let rel = path.strip_prefix(input).expect("walked under input");
        match decoder.decode(&bytes) {
            Ok(doc) => {
                if verbose {
                    println!(
                        "{}\t{}\t{}\t{}",
                        rel.display(),
                        doc.encoding,
                        doc.method.as_str(),
                        doc.lossy
                    );
                }
                let dest = output.join(rel);
                if let Some(parent) = dest.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                std::fs::write(dest, doc.text.as_bytes())?;
                written += 1;
            }
            Err(e) => {
                eprintln!("{}: not text: {e}", path.display());
                refused += 1;
            }
        }
    }
    eprintln!("decoded {written} files, refused {refused}");
    Ok(())
}
