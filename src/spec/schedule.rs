//! The `schedule:`, `deliver:` and `owners:` blocks of a pipeline: when the daemon runs it,
//! and to whom the published reports (or, when a run fails, the failure notice) go.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::raw::{RawLabel, Text};
use super::report::Label;

/// `schedule:` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSchedule {
    /// Five fields (minute first) or six (second first).
    pub cron: Text,
    #[serde(default)]
    pub timezone: Option<Text>,
    #[serde(default)]
    pub period: Option<Text>,
    #[serde(default)]
    pub catch_up: Option<Text>,
    #[serde(default)]
    pub timeout: Option<Text>,
    #[serde(default)]
    pub retries: Option<Spanned<u32>>,
    #[serde(default)]
    pub backoff: Option<Text>,
}

/// `deliver:` as written.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawDeliver {
    #[serde(default)]
    pub email: Option<RawEmail>,
    #[serde(default)]
    pub webhooks: Vec<Spanned<RawWebhook>>,
    #[serde(default)]
    pub burst: Option<RawBurst>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEmail {
    pub to: Vec<Text>,
    #[serde(default)]
    pub cc: Vec<Text>,
    #[serde(default)]
    pub subject: Option<RawLabel>,
    /// The language of the body and of the attached PDFs; the workspace's when omitted.
    #[serde(default)]
    pub locale: Option<Text>,
    /// Reports whose PDF is attached; every report with a PDF when omitted.
    #[serde(default)]
    pub reports: Option<Vec<Text>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWebhook {
    /// May be `${VAR}`, resolved when delivering: robot URLs carry their access token.
    pub url: Text,
    #[serde(default)]
    pub format: Option<Text>,
    /// Signing secret of a DingTalk or Feishu robot; may be `${VAR}`.
    #[serde(default)]
    pub secret: Option<Text>,
    #[serde(default)]
    pub locale: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBurst {
    pub table: Text,
    pub owner_column: Text,
    /// Owner value (e.g. `am03`) → email address.
    pub recipients: BTreeMap<String, Text>,
    #[serde(default)]
    pub subject: Option<RawLabel>,
    #[serde(default)]
    pub locale: Option<Text>,
}

/// Which period a scheduled run reports on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodChoice {
    /// The last closed period of the pipeline's grain at fire time.
    Previous,
    /// The period the fire time falls in (to date).
    Current,
}

/// What the daemon does about fire times it missed while it was not running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CatchUp {
    /// Run the most recent missed fire only; record the older ones as skipped.
    Latest,
    /// Run every missed fire, oldest first (one run per period).
    All,
    /// Run none; record them as skipped.
    None,
}

/// A checked `schedule:` block.
#[derive(Debug, Clone)]
pub struct ScheduleSpec {
    /// The expression as written.
    pub cron: String,
    /// Six fields, seconds first: what tokio-cron-scheduler reads.
    pub cron6: String,
    pub pattern: croner::Cron,
    /// `None`: the workspace's time zone.
    pub timezone: Option<chrono_tz::Tz>,
    pub period: PeriodChoice,
    pub catch_up: CatchUp,
    /// Longest a run may take before it is stopped and recorded as failed.
    pub timeout: Duration,
    /// Further attempts after a transient failure (object store, SMTP, webhook).
    pub retries: u32,
    /// Wait before the first retry; doubled for each further one.
    pub backoff: Duration,
}

/// The format of a webhook's POST body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebhookFormat {
    /// sextant's own JSON summary.
    Json,
    /// DingTalk (钉钉) custom group robot, markdown message.
    Dingtalk,
    /// Feishu / Lark (飞书) custom bot, interactive card.
    Feishu,
    /// WeCom (企业微信) group robot, markdown message.
    Wecom,
}

impl WebhookFormat {
    pub const NAMES: [&'static str; 4] = ["json", "dingtalk", "feishu", "wecom"];
}

#[derive(Debug, Clone)]
pub struct EmailSpec {
    pub to: Vec<String>,
    pub cc: Vec<String>,
    /// A handlebars template; `{{pipeline}}`, `{{period}}` and `{{title}}` are filled in.
    pub subject: Label,
    pub locale: Option<String>,
    /// Report names whose PDFs are attached.
    pub reports: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct WebhookSpec {
    pub url: String,
    pub format: WebhookFormat,
    pub secret: Option<String>,
    pub locale: Option<String>,
}

/// Per-owner delivery: each owner gets the rows of `table` whose `owner_column` is theirs.
#[derive(Debug, Clone)]
pub struct BurstSpec {
    pub table: String,
    pub owner_column: String,
    pub recipients: BTreeMap<String, String>,
    pub subject: Label,
    pub locale: Option<String>,
}

/// A checked `deliver:` block.
#[derive(Debug, Clone, Default)]
pub struct DeliverSpec {
    pub email: Option<EmailSpec>,
    pub webhooks: Vec<WebhookSpec>,
    pub burst: Option<BurstSpec>,
}

impl DeliverSpec {
    pub fn is_empty(&self) -> bool {
        self.email.is_none() && self.webhooks.is_empty() && self.burst.is_none()
    }
}

/// Parses `30s`, `15m`, `2h`, `1h30m`: whole numbers with a unit each.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let mut total = 0u64;
    let mut digits = String::new();
    let mut any = false;
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let n: u64 = digits.parse().ok()?;
        digits.clear();
        total += n * match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return None,
        };
        any = true;
    }
    (digits.is_empty() && any).then(|| Duration::from_secs(total))
}

/// Parses a cron expression of five (minute first) or six (second first) fields, and gives
/// it back with six fields.
///
/// # Errors
/// The parser's message when the expression is not valid.
pub fn parse_cron(text: &str) -> Result<(croner::Cron, String), String> {
    let fields = text.split_whitespace().count();
    let cron6 = match fields {
        5 => format!("0 {}", text.trim()),
        6 => text.split_whitespace().collect::<Vec<_>>().join(" "),
        n => return Err(format!("has {n} fields; write 5 (minute hour day month weekday) or 6 (second first)")),
    };
    let parser = croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Required)
        .year(croner::parser::Year::Disallowed)
        .build();
    parser.parse(&cron6).map(|c| (c, cron6)).map_err(|e| e.to_string())
}

use super::compile::{Compiler, quoted_list, text_place};

impl Compiler {
    /// Email addresses, each checked; `${VAR}` is resolved when delivering.
    pub(super) fn addresses(&mut self, list: &[Text]) -> Vec<String> {
        list.iter()
            .filter(|a| {
                let ok = a.value.contains("${") || a.value.parse::<lettre::Address>().is_ok();
                if !ok {
                    self.error(
                        "spec::email-address",
                        text_place(a),
                        format!("`{}` is not an email address", a.value),
                        "write it as name@example.com",
                    );
                }
                ok
            })
            .map(|a| a.value.clone())
            .collect()
    }

    fn locale(&mut self, t: &Option<Text>) -> Option<String> {
        let t = t.as_ref()?;
        if t.value == "en" || t.value == "zh-CN" {
            Some(t.value.clone())
        } else {
            self.error("spec::locale", text_place(t), format!("unknown locale `{}`", t.value), "use `en` or `zh-CN`");
            None
        }
    }

    fn duration(&mut self, t: &Option<Text>, default: Duration) -> Duration {
        match t {
            None => default,
            Some(t) => parse_duration(&t.value).unwrap_or_else(|| {
                self.error(
                    "spec::duration",
                    text_place(t),
                    format!("`{}` is not a duration", t.value),
                    "write a number with a unit: `45s`, `30m`, `2h` or `1h30m`",
                );
                default
            }),
        }
    }

    fn choice<T: Copy>(&mut self, t: &Option<Text>, options: &[(&str, T)], default: T, what: &str) -> T {
        let Some(t) = t else { return default };
        match options.iter().find(|(name, _)| *name == t.value) {
            Some((_, v)) => *v,
            None => {
                let names = options.iter().map(|(n, _)| *n);
                let hint = match crate::diag::did_you_mean(&t.value, names.clone()) {
                    Some(best) => format!("did you mean `{best}`?"),
                    None => format!("use {}", quoted_list(names)),
                };
                self.error("spec::schedule", text_place(t), format!("unknown {what} `{}`", t.value), hint);
                default
            }
        }
    }

    pub(super) fn schedule(&mut self, s: &RawSchedule) -> ScheduleSpec {
        let (pattern, cron6) = parse_cron(&s.cron.value).unwrap_or_else(|e| {
            self.error(
                "spec::cron",
                text_place(&s.cron),
                format!("`{}` is not a cron expression: {e}", s.cron.value),
                "e.g. `0 7 1 * *` is 07:00 on the 1st of every month; `*/30 * * * * *` every 30 seconds",
            );
            parse_cron("0 0 1 1 *").unwrap_or_else(|_| unreachable!("a constant expression"))
        });
        let timezone = s.timezone.as_ref().and_then(|t| {
            t.value
                .parse::<chrono_tz::Tz>()
                .map_err(|_| {
                    let hint =
                        match crate::diag::did_you_mean(&t.value, chrono_tz::TZ_VARIANTS.iter().map(|z| z.name())) {
                            Some(best) => format!("did you mean `{best}`?"),
                            None => "use an IANA name such as `Asia/Shanghai` or `Europe/Berlin`".into(),
                        };
                    self.error("spec::timezone", text_place(t), format!("unknown time zone `{}`", t.value), hint);
                })
                .ok()
        });
        let period = self.choice(
            &s.period,
            &[("previous", PeriodChoice::Previous), ("current", PeriodChoice::Current)],
            PeriodChoice::Previous,
            "period",
        );
        let catch_up = self.choice(
            &s.catch_up,
            &[("latest", CatchUp::Latest), ("all", CatchUp::All), ("none", CatchUp::None)],
            CatchUp::Latest,
            "catch_up",
        );
        let timeout = self.duration(&s.timeout, Duration::from_secs(3600));
        let backoff = self.duration(&s.backoff, Duration::from_secs(30));
        let retries = s.retries.as_ref().map_or(3, |r| r.value);
        ScheduleSpec {
            cron: s.cron.value.clone(),
            cron6,
            pattern,
            timezone,
            period,
            catch_up,
            timeout,
            retries,
            backoff,
        }
    }

    pub(super) fn deliver(&mut self, d: &RawDeliver, tables: &[String], reports: &[&str]) -> DeliverSpec {
        let email = d.email.as_ref().map(|e| {
            if e.to.is_empty() {
                self.error(
                    "spec::deliver",
                    crate::diag::Place { line: 0, column: 0, len: 0 },
                    "`deliver.email.to` is empty".into(),
                    "list at least one recipient",
                );
            }
            let chosen = match &e.reports {
                None => reports.iter().map(|r| r.to_string()).collect(),
                Some(list) => list
                    .iter()
                    .filter(|r| {
                        let ok = reports.contains(&r.value.as_str());
                        if !ok {
                            self.error(
                                "spec::deliver",
                                text_place(r),
                                format!("no report named `{}` in this pipeline", r.value),
                                format!("reports here: {}", quoted_list(reports.iter().copied())),
                            );
                        }
                        ok
                    })
                    .map(|r| r.value.clone())
                    .collect(),
            };
            EmailSpec {
                to: self.addresses(&e.to),
                cc: self.addresses(&e.cc),
                subject: e.subject.as_ref().map_or_else(default_subject, Label::from),
                locale: self.locale(&e.locale),
                reports: chosen,
            }
        });
        let webhooks = d
            .webhooks
            .iter()
            .map(|w| {
                let w = &w.value;
                let format = match &w.format {
                    None => WebhookFormat::Json,
                    Some(f) => {
                        let options: Vec<(&str, WebhookFormat)> = WebhookFormat::NAMES
                            .iter()
                            .copied()
                            .zip([
                                WebhookFormat::Json,
                                WebhookFormat::Dingtalk,
                                WebhookFormat::Feishu,
                                WebhookFormat::Wecom,
                            ])
                            .collect();
                        self.choice(&Some(f.clone()), &options, WebhookFormat::Json, "webhook format")
                    }
                };
                if !w.url.value.contains("${") && url::Url::parse(&w.url.value).is_err() {
                    self.error(
                        "spec::webhook",
                        text_place(&w.url),
                        format!("`{}` is not a URL", w.url.value),
                        "write the robot's full https:// address, or `${VAR}` to read it from the environment",
                    );
                }
                WebhookSpec {
                    url: w.url.value.clone(),
                    format,
                    secret: w.secret.as_ref().map(|s| s.value.clone()),
                    locale: self.locale(&w.locale),
                }
            })
            .collect();
        let burst = d.burst.as_ref().map(|b| {
            self.known_table(&b.table, tables);
            let recipients: Vec<Text> = b.recipients.values().cloned().collect();
            self.addresses(&recipients);
            BurstSpec {
                table: b.table.value.clone(),
                owner_column: b.owner_column.value.clone(),
                recipients: b.recipients.iter().map(|(k, v)| (k.clone(), v.value.clone())).collect(),
                subject: b.subject.as_ref().map_or_else(burst_subject, Label::from),
                locale: self.locale(&b.locale),
            }
        });
        DeliverSpec { email, webhooks, burst }
    }
}

fn default_subject() -> Label {
    Label { en: "{{title}}: {{period}}".into(), zh_cn: "{{title}}：{{period}}".into() }
}

fn burst_subject() -> Label {
    Label {
        en: "Your customers to look after: {{period}}".into(), zh_cn: "您负责的客户预警：{{period}}".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("2d"), Some(Duration::from_secs(172_800)));
        assert_eq!(parse_duration("30"), None);
        assert_eq!(parse_duration("5 minutes"), None);
        assert_eq!(parse_duration(""), None);
    }

    #[test]
    fn cron_fields() {
        assert_eq!(parse_cron("0 7 1 * *").unwrap().1, "0 0 7 1 * *");
        assert_eq!(parse_cron("*/5  * * * * *").unwrap().1, "*/5 * * * * *");
        assert!(parse_cron("0 7 1 *").unwrap_err().contains("4 fields"));
        assert!(parse_cron("0 25 1 * *").is_err());
    }
}
