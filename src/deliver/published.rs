//! What deliveries read back from a published run: its KPIs and findings, its files
//! (checked against the checksums in `run.json`), and the links to its reports.

use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::DeliverError;
use crate::clock::Clock;
use crate::config::{Root, Workspace};
use crate::kpi::findings::{Finding, FindingsReport};
use crate::kpi::{KpiReport, KpiResult};
use crate::period::Period;
use crate::report::i18n;
use crate::report::model::Locale;
use crate::spec::Pipeline;
use crate::store::OutputStore;
use crate::store::manifest::RunManifest;

/// A published run as deliveries see it.
pub(super) struct PublishedRun<'a> {
    pub ws: &'a Workspace,
    pub store: &'a OutputStore,
    pub manifest: &'a RunManifest,
    pub period: Period,
    /// `kpis.json` and `findings.json`: an error when the pipeline has KPIs and they
    /// cannot be read (then the report email and webhooks fail, bursting still goes).
    pub results: Result<(Vec<KpiResult>, Vec<Finding>), String>,
}

/// A report of the run, in one language, and where to read it.
#[derive(Debug, Clone, serde::Serialize)]
pub(super) struct ReportLink {
    pub name: String,
    /// The report's title in the link's language.
    pub title: String,
    /// `html` or `pdf`.
    pub format: String,
    pub url: String,
}

impl<'a> PublishedRun<'a> {
    pub async fn load(
        ws: &'a Workspace,
        pipeline: &Pipeline,
        store: &'a OutputStore,
        manifest: &'a RunManifest,
        clock: &Clock,
    ) -> PublishedRun<'a> {
        let today = clock.today(&ws.timezone);
        let period = Period::parse(&manifest.period, pipeline.grain, pipeline.fiscal_year_start, today)
            .unwrap_or_else(|_| Period::containing(today, pipeline.grain, pipeline.fiscal_year_start));
        let mut run = PublishedRun { ws, store, manifest, period, results: Ok((Vec::new(), Vec::new())) };
        if !pipeline.kpis.is_empty() {
            run.results = run.kpis_and_findings().await;
        }
        run
    }

    async fn kpis_and_findings(&self) -> Result<(Vec<KpiResult>, Vec<Finding>), String> {
        let kpis = self.file("kpis.json").await.map_err(|e| e.to_string())?;
        let kpis: KpiReport = serde_json::from_slice(&kpis).map_err(|e| format!("kpis.json is not readable: {e}"))?;
        // Findings are a nicety of the message: without them the scorecard still goes.
        let findings = match self.file("findings.json").await {
            Ok(b) => serde_json::from_slice::<FindingsReport>(&b).map(|f| f.findings).unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        Ok((kpis.kpis, findings))
    }

    /// The run's folder, relative to the output root.
    pub fn dir(&self) -> String {
        format!("{}/{}", self.manifest.pipeline, self.manifest.period)
    }

    /// Whether the run published `path` (relative to its folder).
    pub fn has(&self, path: &str) -> bool {
        self.manifest.outputs.iter().any(|o| o.path == path)
    }

    /// The published file `path` (relative to the run's folder), checked against the
    /// checksum the run recorded for it.
    ///
    /// # Errors
    /// When the run did not publish it, it cannot be read, or its bytes changed since.
    pub async fn file(&self, path: &str) -> Result<Bytes, DeliverError> {
        let Some(output) = self.manifest.outputs.iter().find(|o| o.path == path) else {
            return Err(DeliverError::Published {
                message: format!("run {} published no {path} in {}/", self.manifest.run_id, self.dir()),
            });
        };
        let key = format!("{}/{path}", self.dir());
        let bytes = self.store.get(&key).await?.ok_or_else(|| DeliverError::Published {
            message: format!("{key} is missing from {}", self.store.root()),
        })?;
        if hex::encode(Sha256::digest(&bytes)) != output.sha256 {
            return Err(DeliverError::Published {
                message: format!("{key} changed since run {} published it (checksum differs)", self.manifest.run_id),
            });
        }
        Ok(bytes)
    }

    /// Where a reader opens `path` of the run: under `public_url` when the workspace sets
    /// it, else the output store's own location.
    pub fn url(&self, path: &str) -> String {
        let rel = format!("{}/{path}", self.dir());
        if let Some(base) = &self.ws.public_url {
            return format!("{}/{}", base.as_str().trim_end_matches('/'), encode_path(&rel));
        }
        match &self.ws.output_root {
            Root::Local(dir) => match url::Url::from_file_path(dir.join(&rel)) {
                Ok(u) => u.to_string(),
                Err(()) => dir.join(&rel).display().to_string(),
            },
            Root::Url(u) => format!("{}/{}", u.as_str().trim_end_matches('/'), encode_path(&rel)),
        }
    }

    /// The reports of `pipeline` in `locale`, each linked as HTML when published so (readable
    /// on a phone), else as PDF; a report without that language is linked in another one.
    pub fn report_links(&self, pipeline: &Pipeline, locale: Locale) -> Vec<ReportLink> {
        let mut links = Vec::new();
        for report in &pipeline.reports {
            let locales = [locale.code(), Locale::En.code(), Locale::ZhCn.code()];
            let found = locales.iter().find_map(|l| {
                ["html", "pdf"].iter().find_map(|f| {
                    let path = format!("{}.{l}.{f}", report.name);
                    self.has(&path).then_some((path, *f))
                })
            });
            if let Some((path, format)) = found {
                links.push(ReportLink {
                    name: report.name.clone(),
                    title: report.title.get(locale == Locale::ZhCn).to_string(),
                    format: format.to_string(),
                    url: self.url(&path),
                });
            }
        }
        links
    }

    /// "October 2026" / "2026年10月".
    pub fn period_label(&self, locale: Locale) -> String {
        i18n::period_label(&self.period, locale)
    }
}

/// Percent-encodes each segment of a `/`-separated path for a URL.
fn encode_path(path: &str) -> String {
    path.split('/')
        .map(|s| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>().replace('+', "%20"))
        .collect::<Vec<_>>()
        .join("/")
}
