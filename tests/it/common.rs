//! Shared fixtures: workspaces pointed at the fixture data and a scratch output folder.

use std::path::{Path, PathBuf};

use sextant::clock::Clock;
use sextant::config::{Overrides, Workspace};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A workspace at the repo root, reading `tests/fixtures/<data>` and writing to `out`.
pub fn workspace(data: &str, out: &Path) -> Workspace {
    let overrides = Overrides {
        data_root: Some(repo().join("tests/fixtures").join(data).display().to_string()),
        output_root: Some(out.display().to_string()),
    };
    Workspace::from_str(&repo(), &repo().join("config/sextant.yaml"), "", &overrides, &|_| None).expect("workspace")
}

pub fn clock() -> Clock {
    Clock::Fixed(chrono::DateTime::parse_from_rfc3339("2026-11-05T08:00:00Z").unwrap().to_utc())
}

/// Renders diagnostics as the terminal shows them, without colour, for snapshots.
pub fn render(diagnostics: &[sextant::diag::Diagnostic]) -> String {
    sextant::diag::render_all(diagnostics, false)
}
