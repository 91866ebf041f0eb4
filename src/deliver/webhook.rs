//! Webhooks: a POST of the run's summary, as sextant's own JSON or as the message of a
//! DingTalk (钉钉), Feishu/Lark (飞书) or WeCom (企业微信) group robot.
//!
//! The robots answer HTTP 200 even when they refuse a message; the refusal is an error
//! code in the JSON body (`errcode` for DingTalk and WeCom, `code` for Feishu), which is
//! checked. Records name the webhook's host only: robot URLs carry their access token.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::Sha256;

use super::body::{ScorecardRow, scorecard, status_counts};
use super::published::{PublishedRun, ReportLink};
use super::{DeliverError, Delivery, Env, Markers, locale_of, resolve, with_retry};
use crate::clock::Clock;
use crate::config::Workspace;
use crate::kpi::Status;
use crate::report::model::{Locale, Tone};
use crate::spec::Pipeline;
use crate::spec::schedule::{WebhookFormat, WebhookSpec};
use crate::store::manifest::{DeliveryRecord, DeliveryStatus};

/// WeCom refuses markdown `content` longer than this many bytes.
const WECOM_MAX_BYTES: usize = 4096;

/// DingTalk's signature: `base64(HmacSHA256(key = secret, message = "<timestamp ms>\n<secret>"))`,
/// sent (url-encoded) as the `sign` query parameter next to `timestamp`.
pub fn dingtalk_sign(timestamp_ms: i64, secret: &str) -> String {
    hmac_base64(secret.as_bytes(), format!("{timestamp_ms}\n{secret}").as_bytes())
}

/// Feishu's signature: `base64(HmacSHA256(key = "<timestamp s>\n<secret>", message = ""))`,
/// sent as `sign` in the JSON body next to `timestamp`.
pub fn feishu_sign(timestamp_s: i64, secret: &str) -> String {
    hmac_base64(format!("{timestamp_s}\n{secret}").as_bytes(), b"")
}

fn hmac_base64(key: &[u8], message: &[u8]) -> String {
    // HMAC takes keys of any length, so this cannot fail.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else { return String::new() };
    mac.update(message);
    BASE64.encode(mac.finalize().into_bytes())
}

/// One KPI in the JSON summary.
#[derive(Debug, Clone, Serialize)]
pub(super) struct KpiSummary {
    pub id: String,
    pub label: String,
    pub unit: crate::spec::Unit,
    pub value: Option<f64>,
    pub target: Option<f64>,
    pub attainment: Option<f64>,
    pub status: Status,
    /// The value, target and attainment as the report writes them (`3,267,515`, `97.3%`).
    pub value_text: String,
    pub target_text: String,
    pub attainment_text: String,
    pub status_label: String,
}

/// The body of a `json` webhook.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Summary {
    pub pipeline: String,
    pub period: String,
    pub period_label: String,
    pub run_id: String,
    pub as_of: String,
    pub locale: String,
    /// The first report's title (the pipeline's name without reports).
    pub title: String,
    pub on_track: usize,
    pub at_risk: usize,
    pub off_track: usize,
    pub kpis: Vec<KpiSummary>,
    pub findings: Vec<String>,
    pub reports: Vec<ReportLink>,
}

/// Each KPI's figures beside its scorecard row's formatted text.
fn kpi_summaries(kpis: &[crate::kpi::KpiResult], rows: &[ScorecardRow]) -> Vec<KpiSummary> {
    kpis.iter()
        .zip(rows)
        .map(|(k, r)| KpiSummary {
            id: k.id.clone(),
            label: r.label.clone(),
            unit: k.unit,
            value: k.value,
            target: k.target,
            attainment: k.attainment,
            status: k.status,
            value_text: r.value.clone(),
            target_text: r.target.clone(),
            attainment_text: r.attainment.clone(),
            status_label: r.status_label.clone(),
        })
        .collect()
}

/// The summary of `run` in `locale`.
pub(super) fn summary(pipeline: &Pipeline, run: &PublishedRun<'_>, locale: Locale) -> Result<Summary, DeliverError> {
    let (kpis, findings) = run.results.as_ref().map_err(|m| DeliverError::Published { message: m.clone() })?;
    let zh = locale == Locale::ZhCn;
    let rows = scorecard(kpis, &run.period, locale);
    let count = |tone| rows.iter().filter(|r| r.tone == tone).count();
    Ok(Summary {
        pipeline: pipeline.name.clone(),
        period: run.manifest.period.clone(),
        period_label: run.period_label(locale),
        run_id: run.manifest.run_id.clone(),
        as_of: run.manifest.as_of.clone(),
        locale: locale.code().to_string(),
        title: pipeline.reports.first().map_or_else(|| pipeline.name.clone(), |r| r.title.get(zh).to_string()),
        on_track: count(Tone::OnTrack),
        at_risk: count(Tone::AtRisk),
        off_track: count(Tone::OffTrack),
        kpis: kpi_summaries(kpis, &rows),
        findings: findings.iter().map(|f| if zh { f.zh_cn.clone() } else { f.en.clone() }).collect(),
        reports: run.report_links(pipeline, locale),
    })
}

fn emoji(tone: Tone) -> &'static str {
    match tone {
        Tone::OnTrack => "🟢",
        Tone::AtRisk => "🟡",
        Tone::OffTrack => "🔴",
        Tone::Neutral => "⚪",
    }
}

/// `Revenue 3,267,515 · target 3,359,000 · 97.3%` with the label in bold.
fn kpi_line(r: &ScorecardRow, zh: bool) -> String {
    let mut line = format!("**{}** {}", r.label, r.value);
    if r.target != "—" {
        let word = if zh { "目标" } else { "target" };
        line.push_str(&format!(" · {word} {} · {}", r.target, r.attainment));
    }
    line
}

/// A link in markdown, or the bare location when it is not a web address (a `file://`
/// or `s3://` location that a chat client would not open).
fn md_link(l: &ReportLink) -> String {
    let text = format!("{} ({})", l.title, l.format.to_uppercase());
    if l.url.starts_with("http://") || l.url.starts_with("https://") {
        format!("[{text}]({})", l.url)
    } else {
        format!("{text}: {}", l.url)
    }
}

fn counts_line(rows: &[ScorecardRow], locale: Locale, bold: bool) -> String {
    status_counts(rows, locale)
        .into_iter()
        .map(|(tone, n, label)| {
            let n = if bold { format!("**{n}**") } else { n.to_string() };
            format!("{} {n} {label}", emoji(tone))
        })
        .collect::<Vec<_>>()
        .join("  ")
}

/// Rows of the summary, as the robots' lines are built from.
fn summary_rows(s: &Summary) -> Vec<ScorecardRow> {
    s.kpis
        .iter()
        .map(|k| ScorecardRow {
            id: k.id.clone(),
            label: k.label.clone(),
            value: k.value_text.clone(),
            target: k.target_text.clone(),
            attainment: k.attainment_text.clone(),
            status: k.status,
            status_label: k.status_label.clone(),
            tone: crate::report::i18n::tone(k.status),
        })
        .collect()
}

/// The DingTalk robot's markdown message.
pub(super) fn dingtalk(s: &Summary, locale: Locale) -> Value {
    let zh = locale == Locale::ZhCn;
    let rows = summary_rows(s);
    let title = format!("{} · {}", s.title, s.period_label);
    let mut text = format!("#### {title}\n\n{}\n\n", counts_line(&rows, locale, true));
    for r in &rows {
        text.push_str(&format!("- {} {}\n", emoji(r.tone), kpi_line(r, zh)));
    }
    if !s.findings.is_empty() {
        text.push('\n');
        for f in &s.findings {
            text.push_str(&format!("> {f}\n>\n"));
        }
    }
    for l in &s.reports {
        text.push_str(&format!("\n{}\n", md_link(l)));
    }
    json!({ "msgtype": "markdown", "markdown": { "title": title, "text": text }, "at": { "isAtAll": false } })
}

/// The WeCom robot's markdown message, cut to 4096 bytes: the findings go first, then the
/// KPIs from the end, with a line saying how many are left out; the links always stay.
pub(super) fn wecom(s: &Summary, locale: Locale) -> Value {
    let zh = locale == Locale::ZhCn;
    let rows = summary_rows(s);
    let colour = |tone| match tone {
        Tone::OnTrack => "info",
        Tone::AtRisk | Tone::OffTrack => "warning",
        Tone::Neutral => "comment",
    };
    let head = format!("## {} · {}\n{}\n", s.title, s.period_label, counts_line(&rows, locale, false));
    let kpi_lines: Vec<String> = rows
        .iter()
        .map(|r| format!("> {} <font color=\"{}\">{}</font>\n", kpi_line(r, zh), colour(r.tone), r.status_label))
        .collect();
    let finding_lines: Vec<String> = s.findings.iter().map(|f| format!("\n{f}")).collect();
    let tail: String = s.reports.iter().map(|l| format!("\n{}", md_link(l))).collect();
    let build = |kpis: usize, findings: bool| {
        let mut text = head.clone();
        text.extend(kpi_lines[..kpis].iter().cloned());
        if kpis < kpi_lines.len() {
            let more = kpi_lines.len() - kpis;
            text.push_str(&if zh {
                format!("> <font color=\"comment\">另有 {more} 项指标见报告</font>\n")
            } else {
                format!("> <font color=\"comment\">{more} more KPIs in the report</font>\n")
            });
        }
        if findings {
            text.extend(finding_lines.iter().cloned());
            text.push('\n');
        }
        text.push_str(&tail);
        text
    };
    let mut text = build(kpi_lines.len(), true);
    if text.len() > WECOM_MAX_BYTES {
        text = build(kpi_lines.len(), false);
    }
    let mut kept = kpi_lines.len();
    while text.len() > WECOM_MAX_BYTES && kept > 0 {
        kept -= 1;
        text = build(kept, false);
    }
    if text.len() > WECOM_MAX_BYTES {
        let mut end = WECOM_MAX_BYTES;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    json!({ "msgtype": "markdown", "markdown": { "content": text } })
}

/// The Feishu/Lark robot's interactive card: a header coloured by the worst status, the
/// KPIs, the findings and a button per report.
pub(super) fn feishu(s: &Summary, locale: Locale) -> Value {
    let zh = locale == Locale::ZhCn;
    let rows = summary_rows(s);
    let header_colour = if s.off_track > 0 {
        "red"
    } else if s.at_risk > 0 {
        "orange"
    } else {
        "green"
    };
    let font = |tone| match tone {
        Tone::OnTrack => "green",
        Tone::AtRisk => "orange",
        Tone::OffTrack => "red",
        Tone::Neutral => "grey",
    };
    let kpis: String = rows
        .iter()
        .map(|r| format!("{} <font color='{}'>{}</font>\n", kpi_line(r, zh), font(r.tone), r.status_label))
        .collect();
    let mut elements = vec![
        json!({ "tag": "markdown", "content": counts_line(&rows, locale, true) }),
        json!({ "tag": "markdown", "content": kpis.trim_end() }),
    ];
    if !s.findings.is_empty() {
        elements.push(json!({ "tag": "hr" }));
        elements.push(json!({ "tag": "markdown", "content": s.findings.join("\n") }));
    }
    let (web, other): (Vec<&ReportLink>, Vec<&ReportLink>) =
        s.reports.iter().partition(|l| l.url.starts_with("http://") || l.url.starts_with("https://"));
    if !web.is_empty() {
        let actions: Vec<Value> = web
            .iter()
            .map(|l| {
                json!({ "tag": "button", "type": "primary", "url": l.url,
                        "text": { "tag": "plain_text", "content": format!("{} ({})", l.title, l.format.to_uppercase()) } })
            })
            .collect();
        elements.push(json!({ "tag": "action", "actions": actions }));
    }
    for l in other {
        elements.push(json!({ "tag": "markdown", "content": md_link(l) }));
    }
    json!({
        "msg_type": "interactive",
        "card": {
            "config": { "wide_screen_mode": true },
            "header": { "title": { "tag": "plain_text", "content": format!("{} · {}", s.title, s.period_label) },
                        "template": header_colour },
            "elements": elements,
        }
    })
}

/// The body of `format`, unsigned.
pub(super) fn payload(format: WebhookFormat, s: &Summary, locale: Locale) -> Value {
    match format {
        WebhookFormat::Json => serde_json::to_value(s).unwrap_or(Value::Null),
        WebhookFormat::Dingtalk => dingtalk(s, locale),
        WebhookFormat::Feishu => feishu(s, locale),
        WebhookFormat::Wecom => wecom(s, locale),
    }
}

/// `host[:port]` of `url`: what records and messages show of a webhook.
fn host_of(url: &url::Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        _ => "(no host)".into(),
    }
}

/// What a record shows of a webhook whose URL could not be used: its host when the
/// written URL has one, the variable when it is one `${VAR}`, else its place in the file.
fn shown(written: &str, place: &str) -> String {
    let w = written.trim();
    match url::Url::parse(w) {
        Ok(u) if u.host_str().is_some() => host_of(&u),
        _ if w.starts_with("${") && w.ends_with('}') && w.matches("${").count() == 1 => w.to_string(),
        _ => place.to_string(),
    }
}

/// The request of one attempt: the URL and body, signed with a fresh timestamp.
fn signed(
    format: WebhookFormat,
    url: &url::Url,
    body: &Value,
    secret: Option<&str>,
    clock: &Clock,
) -> (url::Url, Value) {
    let (mut url, mut body) = (url.clone(), body.clone());
    let Some(secret) = secret else { return (url, body) };
    let now = clock.now();
    match format {
        WebhookFormat::Dingtalk => {
            let ts = now.timestamp_millis();
            url.query_pairs_mut()
                .append_pair("timestamp", &ts.to_string())
                .append_pair("sign", &dingtalk_sign(ts, secret));
        }
        WebhookFormat::Feishu => {
            let ts = now.timestamp();
            body["timestamp"] = Value::String(ts.to_string());
            body["sign"] = Value::String(feishu_sign(ts, secret));
        }
        // WeCom has no signing (the key in the URL is the credential); a JSON receiver
        // gets sextant's own HMAC of the body in a header (see `post`).
        WebhookFormat::Wecom | WebhookFormat::Json => {}
    }
    (url, body)
}

/// One POST, with the answer checked.
async fn post(
    client: &reqwest::Client,
    format: WebhookFormat,
    url: url::Url,
    body: &Value,
    secret: Option<&str>,
    host: &str,
) -> Result<(), DeliverError> {
    let err = |message: String, transient: bool| DeliverError::Webhook { host: host.to_string(), message, transient };
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut request = client.post(url).header("content-type", "application/json; charset=utf-8");
    if let (WebhookFormat::Json, Some(secret)) = (format, secret) {
        let signature = hex::encode(hmac_raw(secret.as_bytes(), &bytes));
        request = request.header("x-sextant-signature", format!("sha256={signature}"));
    }
    let response = request.body(bytes).send().await.map_err(|e| {
        let transient = !(e.is_builder() || e.is_redirect());
        err(e.without_url().to_string(), transient)
    })?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    let snippet: String = text.chars().take(200).collect();
    if !status.is_success() {
        let transient = status.is_server_error() || status.as_u16() == 429 || status.as_u16() == 408;
        return Err(err(format!("answered HTTP {status}: {snippet}"), transient));
    }
    if format == WebhookFormat::Json {
        return Ok(());
    }
    let answer: Value = serde_json::from_str(&text)
        .map_err(|_| err(format!("answered HTTP {status} but not with the robot's JSON: {snippet}"), false))?;
    let code = ["errcode", "code", "StatusCode"].iter().find_map(|k| answer.get(*k).and_then(Value::as_i64));
    match code {
        Some(0) | None => Ok(()),
        Some(code) => {
            let message = ["errmsg", "msg", "StatusMessage"]
                .iter()
                .find_map(|k| answer.get(*k).and_then(Value::as_str))
                .unwrap_or("no message");
            let robot = match format {
                WebhookFormat::Dingtalk => "the DingTalk robot",
                WebhookFormat::Feishu => "the Feishu robot",
                _ => "the WeCom robot",
            };
            Err(err(
                format!(
                    "{robot} refused the message: error {code} ({message}); check its secret, keywords and IP list"
                ),
                false,
            ))
        }
    }
}

fn hmac_raw(key: &[u8], message: &[u8]) -> Vec<u8> {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else { return Vec::new() };
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// Delivers the run's summary to the `index`-th webhook.
pub(super) async fn deliver(
    ws: &Workspace,
    pipeline: &Pipeline,
    run: &PublishedRun<'_>,
    spec: &WebhookSpec,
    index: usize,
    markers: &Markers<'_>,
    env: Env<'_>,
) -> DeliveryRecord {
    let clock = &markers.options.clock;
    let place = format!("deliver.webhooks[{index}]");
    let unresolved = Delivery {
        channel: "webhook",
        report: "summary".into(),
        recipient: shown(&spec.url, &place),
        identity: String::new(),
    };
    let url = match resolve(&spec.url, env, &format!("{place}.url")) {
        Ok(text) => match url::Url::parse(&text) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => u,
            _ => {
                let e = DeliverError::Webhook {
                    host: unresolved.recipient.clone(),
                    message: format!("{place}.url is not an http(s) URL"),
                    transient: false,
                };
                return unresolved.failed(&e, 0, clock);
            }
        },
        Err(e) => return unresolved.failed(&e, 0, clock),
    };
    let host = host_of(&url);
    let d = Delivery { recipient: host.clone(), identity: url.to_string(), ..unresolved };
    let secret = match &spec.secret {
        None => None,
        Some(s) => match resolve(s, env, &format!("{place}.secret")) {
            Ok(s) => Some(s),
            Err(e) => return d.failed(&e, 0, clock),
        },
    };
    match markers.already_sent(&d).await {
        Ok(true) => return d.record(DeliveryStatus::AlreadySent, 0, None, clock),
        Ok(false) => {}
        Err(e) => return d.failed(&e.into(), 0, clock),
    }
    let locale = locale_of(spec.locale.as_deref(), ws);
    let body = match summary(pipeline, run, locale) {
        Ok(s) => payload(spec.format, &s, locale),
        Err(e) => return d.failed(&e, 0, clock),
    };
    let client = match reqwest::Client::builder().timeout(Duration::from_secs(30)).build() {
        Ok(c) => c,
        Err(e) => {
            let e = DeliverError::Webhook { host, message: e.to_string(), transient: false };
            return d.failed(&e, 0, clock);
        }
    };
    let what = format!("webhook {host}");
    let (result, attempts) = with_retry(markers.options.retry, &what, |_| {
        let (url, body) = signed(spec.format, &url, &body, secret.as_deref(), clock);
        let (client, host, secret) = (&client, &host, secret.as_deref());
        async move { post(client, spec.format, url, &body, secret, host).await }
    })
    .await;
    match result {
        Ok(()) => markers.sent(&d, attempts).await,
        Err(e) => d.failed(&e, attempts, clock),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deliver::body::tests::{findings, kpis, links};
    use crate::period::Period;

    /// The test vectors of the robots' documentation (reproduced with Python's hmac).
    #[test]
    fn signatures_match_the_known_vectors() {
        assert_eq!(dingtalk_sign(1_700_000_000_000, "SECtest"), "aZLLrriXgn05YbwaGR7knYsLeJADjr9NwLaNNKpxh4g=");
        assert_eq!(feishu_sign(1_700_000_000, "test"), "eSJQnOl8XqPTMPHWz9e5IzeHS/tqoc68g2967ekIPmg=");
        let clock = Clock::Fixed(chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap());
        let url = url::Url::parse("https://oapi.dingtalk.com/robot/send?access_token=T").unwrap();
        let (signed_url, _) = signed(WebhookFormat::Dingtalk, &url, &json!({}), Some("SECtest"), &clock);
        assert_eq!(
            signed_url.as_str(),
            "https://oapi.dingtalk.com/robot/send?access_token=T&timestamp=1700000000000\
             &sign=aZLLrriXgn05YbwaGR7knYsLeJADjr9NwLaNNKpxh4g%3D"
        );
        let (_, body) = signed(WebhookFormat::Feishu, &url, &json!({"msg_type": "interactive"}), Some("test"), &clock);
        assert_eq!(body["timestamp"], "1700000000");
        assert_eq!(body["sign"], "eSJQnOl8XqPTMPHWz9e5IzeHS/tqoc68g2967ekIPmg=");
    }

    fn sample_summary(locale: Locale) -> Summary {
        let period = Period::month(2026, 10).unwrap();
        let k = kpis();
        let rows = scorecard(&k, &period, locale);
        Summary {
            pipeline: "monthly_review".into(),
            period: "2026-10".into(),
            period_label: crate::report::i18n::period_label(&period, locale),
            run_id: "20261105T080000Z-1a2b3c4d".into(),
            as_of: "2026-10-31".into(),
            locale: locale.code().into(),
            title: "Monthly KPI Review".into(),
            on_track: 1,
            at_risk: 1,
            off_track: 1,
            kpis: kpi_summaries(&k, &rows),
            findings: findings().iter().map(|f| f.en.clone()).collect(),
            reports: links(),
        }
    }

    #[test]
    fn robot_messages_have_each_robots_shape() {
        let s = sample_summary(Locale::En);
        insta::assert_json_snapshot!("webhook_json", payload(WebhookFormat::Json, &s, Locale::En));
        insta::assert_json_snapshot!("webhook_dingtalk", payload(WebhookFormat::Dingtalk, &s, Locale::En));
        insta::assert_json_snapshot!("webhook_feishu", payload(WebhookFormat::Feishu, &s, Locale::En));
        insta::assert_json_snapshot!(
            "webhook_wecom_zh",
            payload(WebhookFormat::Wecom, &sample_summary(Locale::ZhCn), Locale::ZhCn)
        );
    }

    #[test]
    fn wecom_messages_fit_in_4096_bytes_and_keep_the_link() {
        let mut s = sample_summary(Locale::ZhCn);
        let one = s.kpis[0].clone();
        s.kpis =
            (0..120).map(|i| KpiSummary { id: format!("k{i}"), label: format!("指标{i}号"), ..one.clone() }).collect();
        s.findings = vec!["很长的发现。".repeat(40); 5];
        let body = wecom(&s, Locale::ZhCn);
        let text = body["markdown"]["content"].as_str().unwrap();
        assert!(text.len() <= WECOM_MAX_BYTES, "{} bytes", text.len());
        assert!(text.contains("项指标见报告"), "{text}");
        assert!(text.ends_with(&md_link(&s.reports[0])), "{text}");
        assert!(!text.contains("很长的发现"));
    }

    #[test]
    fn links_that_are_not_web_addresses_are_shown_not_linked() {
        let l = ReportLink {
            name: "r".into(),
            title: "Review".into(),
            format: "pdf".into(),
            url: "s3://bucket/r/2026-10/r.en.pdf".into(),
        };
        assert_eq!(md_link(&l), "Review (PDF): s3://bucket/r/2026-10/r.en.pdf");
    }
}
