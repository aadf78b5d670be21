//! Shared helpers for the integration tests: run the real binary in a temporary directory.
#![allow(dead_code)]

pub mod http;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub struct Env {
    pub dir: tempfile::TempDir,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(name: &str) -> PathBuf {
    repo().join("fixtures").join(name)
}

impl Env {
    pub fn new() -> Env {
        Env {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, content).unwrap();
        p
    }

    pub fn index(&self) -> PathBuf {
        self.path("index")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_relist"));
        c.current_dir(self.dir.path())
            .env_remove("RELIST_INDEX")
            .env_remove("RELIST_CONFIG")
            .env_remove("RELIST_BLOCK_THRESHOLD")
            .env_remove("RELIST_REVIEW_THRESHOLD")
            .args(args);
        c
    }

    /// Runs `relist ARGS` in the temporary directory (index: ./index).
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, None, &[])
    }

    pub fn run_with(&self, args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Run {
        let mut c = self.command(args);
        for (k, v) in env {
            c.env(k, v);
        }
        c.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        if let Some(input) = stdin {
            use std::io::Write;
            // The command may exit before reading everything (an error): that is not a test failure.
            let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
        }
        let out: Output = child.wait_with_output().unwrap();
        let run = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        assert!(
            !run.stderr.contains("panicked"),
            "relist panicked: {}",
            run.stderr
        );
        run
    }

    pub fn ingest_fixtures(&self) {
        let r = self.run(&["ingest", fixture("banned.jsonl").to_str().unwrap()]);
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A valid PNG whose header (checksum fixed up) claims `w × h` pixels: a decompression bomb
/// before inflation, from about 80 bytes.
pub fn png_claiming(w: u32, h: u32) -> Vec<u8> {
    let img =
        image::RgbImage::from_fn(4, 4, |x, y| image::Rgb([(x * 60) as u8, (y * 60) as u8, 9]));
    let mut bytes = std::io::Cursor::new(Vec::new());
    img.write_to(&mut bytes, image::ImageFormat::Png).unwrap();
    let mut bytes = bytes.into_inner();
    // Signature (8 bytes), then the IHDR chunk: length (4), type (4), width (4), height (4).
    bytes[16..20].copy_from_slice(&w.to_be_bytes());
    bytes[20..24].copy_from_slice(&h.to_be_bytes());
    let mut crc = flate2::Crc::new();
    crc.update(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.sum().to_be_bytes());
    bytes
}
