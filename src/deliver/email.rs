//! Email through SMTP (lettre): the settings from the environment, the report email with
//! the PDFs attached, and the failure notice to the pipeline's owners.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::json;

use super::body::{self, FailedCheck, FailureMail, ReportMail};
use super::published::PublishedRun;
use super::{DeliverError, DeliverOptions, Delivery, Env, Markers, locale_of, resolve, with_retry};
use crate::clock::Clock;
use crate::config::Workspace;
use crate::diag::Diagnostic;
use crate::report::model::Locale;
use crate::retry::RetryPolicy;
use crate::spec::Pipeline;
use crate::spec::schedule::EmailSpec;
use crate::store::manifest::{DeliveryRecord, DeliveryStatus, RunManifest};

/// How the connection to the SMTP server is secured (`SEXTANT_SMTP_TLS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SmtpTls {
    /// `starttls` (the default): plain connection upgraded by STARTTLS, which is required.
    StartTls,
    /// `tls`: TLS from the first byte (SMTPS, port 465).
    Tls,
    /// `none`: no encryption, for a relay on a trusted network or a test server.
    None,
}

/// The SMTP settings, from `SEXTANT_SMTP_*`.
#[derive(Debug, Clone)]
pub(super) struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub credentials: Option<(String, String)>,
    pub from: Mailbox,
}

impl SmtpSettings {
    /// Reads `SEXTANT_SMTP_HOST`, `_PORT`, `_TLS`, `_USERNAME`, `_PASSWORD` and `_FROM`.
    ///
    /// # Errors
    /// [`DeliverError::SmtpSetting`] naming the variable that is missing or wrong.
    pub fn from_env(env: Env<'_>) -> Result<SmtpSettings, DeliverError> {
        let var = |name: &str| env(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let host = var("SEXTANT_SMTP_HOST").ok_or(DeliverError::SmtpSetting {
            variable: "SEXTANT_SMTP_HOST",
            message: "no SMTP server configured".into(),
        })?;
        let tls = match var("SEXTANT_SMTP_TLS").as_deref() {
            None | Some("starttls") => SmtpTls::StartTls,
            Some("tls") => SmtpTls::Tls,
            Some("none") => SmtpTls::None,
            Some(other) => {
                return Err(DeliverError::SmtpSetting {
                    variable: "SEXTANT_SMTP_TLS",
                    message: format!("unknown TLS mode `{other}`: use starttls (the default), tls or none"),
                });
            }
        };
        let port = match var("SEXTANT_SMTP_PORT") {
            None => match tls {
                SmtpTls::StartTls => 587,
                SmtpTls::Tls => 465,
                SmtpTls::None => 25,
            },
            Some(p) => p.parse().map_err(|_| DeliverError::SmtpSetting {
                variable: "SEXTANT_SMTP_PORT",
                message: format!("`{p}` is not a port number"),
            })?,
        };
        let credentials = match (var("SEXTANT_SMTP_USERNAME"), env("SEXTANT_SMTP_PASSWORD")) {
            (None, _) => None,
            (Some(user), Some(password)) if !password.is_empty() => Some((user, password)),
            (Some(_), _) => {
                return Err(DeliverError::SmtpSetting {
                    variable: "SEXTANT_SMTP_PASSWORD",
                    message: "SEXTANT_SMTP_USERNAME is set without a password".into(),
                });
            }
        };
        let from_text = var("SEXTANT_SMTP_FROM").ok_or(DeliverError::SmtpSetting {
            variable: "SEXTANT_SMTP_FROM",
            message: "no sender address configured".into(),
        })?;
        let from = from_text.parse::<Mailbox>().map_err(|e| DeliverError::SmtpSetting {
            variable: "SEXTANT_SMTP_FROM",
            message: format!("`{from_text}` is not an email address ({e}); write e.g. Sextant <reports@example.com>"),
        })?;
        Ok(SmtpSettings { host, port, tls, credentials, from })
    }
}

/// A configured SMTP transport and sender.
pub(super) struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// `host:port`, for messages.
    server: String,
}

impl Mailer {
    /// The mailer the `SEXTANT_SMTP_*` variables describe. Nothing is connected yet.
    ///
    /// # Errors
    /// When a setting is missing or wrong.
    pub fn from_env(env: Env<'_>) -> Result<Mailer, DeliverError> {
        let s = SmtpSettings::from_env(env)?;
        let server = format!("{}:{}", s.host, s.port);
        let tls_error = |e: lettre::transport::smtp::Error| DeliverError::SmtpSetting {
            variable: "SEXTANT_SMTP_TLS",
            message: format!("cannot set up TLS for {}: {e}", s.host),
        };
        let builder = match s.tls {
            SmtpTls::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&s.host).map_err(tls_error)?,
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&s.host).map_err(tls_error)?,
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host),
        };
        let mut builder = builder.port(s.port).timeout(Some(Duration::from_secs(30)));
        if let Some((user, password)) = s.credentials {
            builder = builder.credentials(Credentials::new(user, password));
        }
        Ok(Mailer { transport: builder.build(), from: s.from, server })
    }

    pub fn from(&self) -> &Mailbox {
        &self.from
    }

    /// Sends `message`, retrying transient failures under `policy`.
    pub async fn send(&self, message: &Message, policy: RetryPolicy, what: &str) -> (Result<(), DeliverError>, u32) {
        with_retry(policy, what, |_| async {
            self.transport.send(message.clone()).await.map(|_| ()).map_err(|e| smtp_error(&self.server, &e))
        })
        .await
    }
}

/// A lettre error as the record says it, and whether trying again may help: SMTP 4xx,
/// refused connections, network errors and timeouts may; 5xx, TLS and client errors not.
fn smtp_error(server: &str, e: &lettre::transport::smtp::Error) -> DeliverError {
    let transient = e.is_transient() || e.is_timeout() || !(e.is_permanent() || e.is_client() || e.is_tls());
    let mut message = e.to_string();
    if message.contains("STARTTLS is not supported") {
        message
            .push_str(" (set SEXTANT_SMTP_TLS=tls for SMTPS, or none for a server without TLS on a trusted network)");
    } else if message.contains("No compatible authentication mechanism") {
        message.push_str(" (the server offers no login: unset SEXTANT_SMTP_USERNAME, or use its TLS port)");
    }
    DeliverError::Smtp { server: server.to_string(), message, transient }
}

/// Parses one (resolved) address of the `deliver:` block.
pub(super) fn mailbox(address: &str, used_in: &str) -> Result<Mailbox, DeliverError> {
    address
        .trim()
        .parse::<Mailbox>()
        .map_err(|_| DeliverError::BadAddress { address: address.to_string(), used_in: used_in.to_string() })
}

/// The recipients of one message that still need it, and the records of the others.
pub(super) struct Recipients {
    /// (delivery, mailbox, whether on the Cc line).
    pub pending: Vec<(Delivery, Mailbox, bool)>,
    pub records: Vec<DeliveryRecord>,
}

/// Resolves `to` and `cc`, dropping repeated addresses; recipients who already got this
/// `report` (and `resend` is off) get an `already_sent` record, unusable ones a failed one.
pub(super) async fn recipients(
    channel: &'static str,
    report: &str,
    lists: [(&[String], &str, bool); 2],
    markers: Option<&Markers<'_>>,
    env: Env<'_>,
    clock: &Clock,
) -> Recipients {
    let mut out = Recipients { pending: Vec::new(), records: Vec::new() };
    let mut seen = std::collections::BTreeSet::new();
    for (list, used_in, cc) in lists {
        for raw in list {
            let unresolved =
                Delivery { channel, report: report.to_string(), recipient: raw.clone(), identity: raw.clone() };
            let mbox = match resolve(raw, env, used_in).and_then(|a| mailbox(&a, used_in)) {
                Ok(m) => m,
                Err(e) => {
                    out.records.push(unresolved.failed(&e, 0, clock));
                    continue;
                }
            };
            let address = mbox.email.to_string();
            if !seen.insert(address.to_lowercase()) {
                continue;
            }
            let d = Delivery { recipient: address.clone(), identity: address.to_lowercase(), ..unresolved };
            match markers {
                None => out.pending.push((d, mbox, cc)),
                Some(m) => match m.already_sent(&d).await {
                    Ok(false) => out.pending.push((d, mbox, cc)),
                    Ok(true) => out.records.push(d.record(DeliveryStatus::AlreadySent, 0, None, clock)),
                    Err(e) => out.records.push(d.failed(&e.into(), 0, clock)),
                },
            }
        }
    }
    out
}

/// An email with an HTML body, its plain-text alternative and attachments.
pub(super) fn message(
    from: &Mailbox,
    recipients: &[(Mailbox, bool)],
    subject: &str,
    body: body::MailBody,
    attachments: Vec<(String, bytes::Bytes)>,
    clock: &Clock,
) -> Result<Message, DeliverError> {
    let mut builder = Message::builder().from(from.clone()).subject(subject).date(clock.now().into());
    for (mbox, cc) in recipients {
        builder = if *cc { builder.cc(mbox.clone()) } else { builder.to(mbox.clone()) };
    }
    let alternative = MultiPart::alternative_plain_html(body.text, body.html);
    let built = if attachments.is_empty() {
        builder.multipart(alternative)
    } else {
        let mut mixed = MultiPart::mixed().multipart(alternative);
        for (name, bytes) in attachments {
            let part: SinglePart = Attachment::new(name).body(bytes.to_vec(), pdf_type());
            mixed = mixed.singlepart(part);
        }
        builder.multipart(mixed)
    };
    built.map_err(|e| DeliverError::Template { template: "email message".into(), message: e.to_string() })
}

fn pdf_type() -> ContentType {
    ContentType::parse("application/pdf").unwrap_or(ContentType::TEXT_PLAIN)
}

/// Sends one message to `pending` and records the outcome for each of them.
async fn send_and_record(
    mailer: &Mailer,
    message: &Message,
    pending: Vec<(Delivery, Mailbox, bool)>,
    markers: Option<&Markers<'_>>,
    options: &DeliverOptions,
    what: &str,
) -> Vec<DeliveryRecord> {
    let (result, attempts) = mailer.send(message, options.retry, what).await;
    let mut records = Vec::new();
    for (d, _, _) in pending {
        records.push(match (&result, markers) {
            (Ok(()), Some(m)) => m.sent(&d, attempts).await,
            (Ok(()), None) => d.record(DeliveryStatus::Sent, attempts, None, &options.clock),
            (Err(e), _) => d.failed(e, attempts, &options.clock),
        });
    }
    records
}

/// Fails every pending recipient with `e`.
fn fail_all(pending: Vec<(Delivery, Mailbox, bool)>, e: &DeliverError, clock: &Clock) -> Vec<DeliveryRecord> {
    pending.into_iter().map(|(d, _, _)| d.failed(e, 0, clock)).collect()
}

/// The report email: one message to every recipient who has not had it yet, with the PDFs
/// of the chosen reports in the email's language attached.
pub(super) async fn deliver_report(
    ws: &Workspace,
    pipeline: &Pipeline,
    run: &PublishedRun<'_>,
    spec: &EmailSpec,
    mailer: &Result<Mailer, DeliverError>,
    markers: &Markers<'_>,
    env: Env<'_>,
) -> Vec<DeliveryRecord> {
    let options = markers.options;
    let clock = &options.clock;
    let locale = locale_of(spec.locale.as_deref(), ws);
    let report = if spec.reports.is_empty() { pipeline.name.clone() } else { spec.reports.join("+") };
    let lists = [(&spec.to[..], "deliver.email.to", false), (&spec.cc[..], "deliver.email.cc", true)];
    let Recipients { pending, mut records } = recipients("email", &report, lists, Some(markers), env, clock).await;
    if pending.is_empty() {
        return records;
    }
    let mailer = match mailer {
        Ok(m) => m,
        Err(e) => {
            records.extend(fail_all(pending, e, clock));
            return records;
        }
    };
    let message = match report_message(pipeline, run, spec, locale, mailer.from(), &pending, clock).await {
        Ok(m) => m,
        Err(e) => {
            records.extend(fail_all(pending, &e, clock));
            return records;
        }
    };
    let what = format!("email of {report} {}", run.manifest.period);
    records.extend(send_and_record(mailer, &message, pending, Some(markers), options, &what).await);
    records
}

async fn report_message(
    pipeline: &Pipeline,
    run: &PublishedRun<'_>,
    spec: &EmailSpec,
    locale: Locale,
    from: &Mailbox,
    pending: &[(Delivery, Mailbox, bool)],
    clock: &Clock,
) -> Result<Message, DeliverError> {
    let zh = locale == Locale::ZhCn;
    let (kpis, findings) = run.results.as_ref().map_err(|m| DeliverError::Published { message: m.clone() })?;
    let chosen: Vec<_> = pipeline.reports.iter().filter(|r| spec.reports.contains(&r.name)).collect();
    let title = chosen.first().map_or_else(|| pipeline.name.clone(), |r| r.title.get(zh).to_string());
    let period_label = run.period_label(locale);
    let vars = json!({ "pipeline": pipeline.name, "period": period_label, "period_code": run.manifest.period,
                       "title": title });
    let subject = body::subject(spec.subject.get(zh), &vars)?;
    let mut attachments = Vec::new();
    for r in chosen.iter().filter(|r| r.formats.iter().any(|f| f == "pdf")) {
        // The email's language, else the report's only language(s): a report written in
        // English only is still sent to a Chinese email.
        let mut names = vec![format!("{}.{}.pdf", r.name, locale.code())];
        names.extend(r.locales.iter().map(|l| format!("{}.{l}.pdf", r.name)));
        let name = names.iter().find(|n| run.has(n)).unwrap_or(&names[0]).clone();
        attachments.push((name.clone(), run.file(&name).await?));
    }
    let links: Vec<_> =
        run.report_links(pipeline, locale).into_iter().filter(|l| spec.reports.contains(&l.name)).collect();
    let rows = body::scorecard(kpis, &run.period, locale);
    let names: Vec<String> = attachments.iter().map(|(n, _)| n.clone()).collect();
    let body = body::report_mail(&ReportMail {
        locale,
        subject: &subject,
        title: &title,
        period_label: &period_label,
        run_id: &run.manifest.run_id,
        as_of: &run.manifest.as_of,
        rows: &rows,
        findings,
        links: &links,
        attachments: &names,
    })?;
    let to: Vec<(Mailbox, bool)> = pending.iter().map(|(_, m, cc)| (m.clone(), *cc)).collect();
    message(from, &to, &subject, body, attachments, clock)
}

/// Sends `pipeline.owners` the notice that `manifest`'s run failed. Not deduplicated:
/// every failed attempt is news.
pub(super) async fn notify_failure(
    ws: &Workspace,
    pipeline: &Pipeline,
    manifest: &RunManifest,
    problems: &[Diagnostic],
    options: &DeliverOptions,
    env: Env<'_>,
) -> Vec<DeliveryRecord> {
    let clock = &options.clock;
    if pipeline.owners.is_empty() {
        let d = Delivery {
            channel: "failure_notice",
            report: "failure".into(),
            recipient: "-".into(),
            identity: "".into(),
        };
        let e = DeliverError::NoOwners { pipeline: pipeline.name.clone() };
        return vec![d.failed(&e, 0, clock)];
    }
    let lists = [(&pipeline.owners[..], "owners", false), (&[][..], "owners", false)];
    let Recipients { pending, mut records } = recipients("failure_notice", "failure", lists, None, env, clock).await;
    if pending.is_empty() {
        return records;
    }
    let mailer = match Mailer::from_env(env) {
        Ok(m) => m,
        Err(e) => {
            records.extend(fail_all(pending, &e, clock));
            return records;
        }
    };
    let locale = locale_of(None, ws);
    let zh = locale == Locale::ZhCn;
    let (p, period) = (&pipeline.name, &manifest.period);
    let subject = if zh {
        format!("sextant：{p} {period} 运行失败，报告未发送")
    } else {
        format!("sextant: {p} {period} failed — report not sent")
    };
    let checks: Vec<FailedCheck> = manifest
        .checks
        .iter()
        .filter(|c| c.blocks())
        .map(|c| FailedCheck { name: c.name.clone(), violations: c.violations, message: c.message.clone() })
        .collect();
    let details = crate::diag::render_all(problems, false);
    let ledger = format!(
        "{}/{}",
        ws.output_root.to_string().trim_end_matches('/'),
        crate::store::ledger::attempt_key(p, period, &manifest.run_id)
    );
    let in_pipelines =
        pipeline.path.strip_prefix(ws.root.join("pipelines")).or_else(|_| pipeline.path.strip_prefix("pipelines"));
    let command_arg = match in_pipelines {
        Ok(rest) if rest == std::path::Path::new(&format!("{p}.yaml")) => p.clone(),
        _ => pipeline.path.display().to_string(),
    };
    let body = body::failure_mail(&FailureMail {
        locale,
        subject: &subject,
        pipeline: p,
        period,
        run_id: &manifest.run_id,
        checks: &checks,
        errors: &manifest.errors,
        details: details.trim_end(),
        ledger: &ledger,
        command_arg: &command_arg,
    });
    let to: Vec<(Mailbox, bool)> = pending.iter().map(|(_, m, cc)| (m.clone(), *cc)).collect();
    let message = body.and_then(|b| message(mailer.from(), &to, &subject, b, Vec::new(), clock));
    match message {
        Ok(m) => {
            let what = format!("failure notice of {p} {period}");
            records.extend(send_and_record(&mailer, &m, pending, None, options, &what).await)
        }
        Err(e) => records.extend(fail_all(pending, &e, clock)),
    }
    records
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &'static [(&'static str, &'static str)]) -> Result<SmtpSettings, DeliverError> {
        let env = move |name: &str| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string());
        SmtpSettings::from_env(&env)
    }

    #[test]
    fn smtp_settings_default_by_tls_mode_and_name_what_is_missing() {
        let s = settings(&[("SEXTANT_SMTP_HOST", "smtp.example.com"), ("SEXTANT_SMTP_FROM", "r@example.com")]).unwrap();
        assert_eq!((s.port, s.tls, s.credentials.is_none()), (587, SmtpTls::StartTls, true));
        let s = settings(&[
            ("SEXTANT_SMTP_HOST", "smtp.example.com"),
            ("SEXTANT_SMTP_TLS", "tls"),
            ("SEXTANT_SMTP_USERNAME", "u"),
            ("SEXTANT_SMTP_PASSWORD", "p"),
            ("SEXTANT_SMTP_FROM", "Sextant <r@example.com>"),
        ])
        .unwrap();
        assert_eq!((s.port, s.tls, s.from.name.as_deref()), (465, SmtpTls::Tls, Some("Sextant")));
        let s = settings(&[("SEXTANT_SMTP_HOST", "h"), ("SEXTANT_SMTP_TLS", "none"), ("SEXTANT_SMTP_FROM", "r@x.io")]);
        assert_eq!(s.unwrap().port, 25);
        let e = settings(&[("SEXTANT_SMTP_FROM", "r@example.com")]).unwrap_err().to_string();
        assert_eq!(e, "no SMTP server configured; set SEXTANT_SMTP_HOST");
        let e = settings(&[("SEXTANT_SMTP_HOST", "h")]).unwrap_err().to_string();
        assert_eq!(e, "no sender address configured; set SEXTANT_SMTP_FROM");
        let e = settings(&[("SEXTANT_SMTP_HOST", "h"), ("SEXTANT_SMTP_TLS", "ssl"), ("SEXTANT_SMTP_FROM", "r@x.io")]);
        assert!(e.unwrap_err().to_string().contains("unknown TLS mode `ssl`"));
        let e =
            settings(&[("SEXTANT_SMTP_HOST", "h"), ("SEXTANT_SMTP_USERNAME", "u"), ("SEXTANT_SMTP_FROM", "r@x.io")]);
        assert!(e.unwrap_err().to_string().ends_with("set SEXTANT_SMTP_PASSWORD"));
    }
}
