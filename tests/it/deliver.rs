//! Delivery against real servers on 127.0.0.1: aiosmtpd with a Maildir for email, and a
//! small HTTP receiver for the webhooks. The review is run once on the bundled sample
//! (`tests/fixtures/pipelines/deliver_review.yaml`) and each test delivers a copy of it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde::Deserialize;
use sextant::config::{Overrides, Workspace};
use sextant::deliver::{DeliverOptions, deliver_run_with, dingtalk_sign, feishu_sign};
use sextant::period::Period;
use sextant::retry::RetryPolicy;
use sextant::run::{RunOutcome, run_pipeline};
use sextant::spec::Pipeline;
use sextant::store::OutputStore;
use sextant::store::manifest::{DeliveryRecord, DeliveryStatus, RunManifest};

use crate::common::{clock, render, repo};
use crate::servers;

const PERIOD: &str = "2026-10";
const PUBLIC_URL: &str = "https://reports.example.test/sextant";

fn fixture() -> Pipeline {
    sextant::spec::load(&repo().join("tests/fixtures/pipelines/deliver_review.yaml"))
        .unwrap_or_else(|d| panic!("{}", render(&d)))
}

fn workspace(out: &Path) -> Workspace {
    let overrides = Overrides {
        data_root: Some(repo().join("data/sample").display().to_string()),
        output_root: Some(out.display().to_string()),
    };
    let config = format!("timezone: Asia/Shanghai\nlocale: en\npublic_url: {PUBLIC_URL}\n");
    Workspace::from_str(&repo(), &repo().join("config/sextant.yaml"), &config, &overrides, &|_| None).unwrap()
}

/// The review published once for all tests (a run takes seconds), in a folder kept for
/// the whole test process.
fn published_once() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        std::thread::spawn(|| {
            let dir = tempfile::tempdir().unwrap().keep();
            let runtime = tokio::runtime::Runtime::new().unwrap();
            let p = fixture();
            let period = Period::parse(PERIOD, p.grain, p.fiscal_year_start, clock().today("UTC")).unwrap();
            match runtime.block_on(run_pipeline(&workspace(&dir), Arc::new(p), period, &clock(), &|_| {})).unwrap() {
                RunOutcome::Succeeded(_) => dir,
                RunOutcome::Failed(_, d) => panic!("the delivery fixture failed:\n{}", render(&d)),
            }
        })
        .join()
        .unwrap()
    })
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A fresh copy of the published review, with its delivery markers of its own.
struct Published {
    dir: tempfile::TempDir,
    ws: Workspace,
    store: OutputStore,
    manifest: RunManifest,
}

impl Published {
    async fn new() -> Published {
        let source = published_once();
        let dir = tempfile::tempdir().unwrap();
        copy_dir(source, dir.path());
        let ws = workspace(dir.path());
        let store = OutputStore::open(&ws.output_root).unwrap();
        let manifest = sextant::store::ledger::published(&store, "deliver_review", PERIOD).await.unwrap().unwrap();
        Published { dir, ws, store, manifest }
    }

    fn run_dir(&self) -> PathBuf {
        self.dir.path().join("deliver_review").join(PERIOD)
    }

    async fn deliver(&self, p: &Pipeline, env: &Env, resend: bool) -> Vec<DeliveryRecord> {
        let options = DeliverOptions { resend, retry: fast_retry(), clock: clock() };
        let lookup = |name: &str| env.get(name).cloned();
        deliver_run_with(&self.ws, p, &self.store, &self.manifest, &options, &lookup).await
    }
}

fn fast_retry() -> RetryPolicy {
    RetryPolicy { retries: 8, backoff: Duration::from_millis(200), max_backoff: Duration::from_millis(800) }
}

pub(crate) type Env = HashMap<String, String>;

fn env(vars: &[(&str, &str)]) -> Env {
    vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

pub(crate) fn smtp_env(port: u16) -> Env {
    env(&[
        ("SEXTANT_SMTP_HOST", "127.0.0.1"),
        ("SEXTANT_SMTP_PORT", &port.to_string()),
        ("SEXTANT_SMTP_TLS", "none"),
        ("SEXTANT_SMTP_FROM", "Sextant <reports@example.test>"),
        ("TEST_CHIEF", "chief@example.test"),
    ])
}

/// The fixture with only some of its `deliver:` block.
fn only(email: bool, webhooks: bool, burst: bool) -> Pipeline {
    let mut p = fixture();
    if !email {
        p.deliver.email = None;
    }
    if !webhooks {
        p.deliver.webhooks.clear();
    }
    if !burst {
        p.deliver.burst = None;
    }
    p
}

fn statuses(records: &[DeliveryRecord]) -> Vec<(String, DeliveryStatus)> {
    records.iter().map(|r| (r.recipient.clone(), r.status)).collect()
}

/// A message as `tests/fixtures/mail/read_maildir.py` reads it.
#[derive(Debug, Deserialize)]
pub(crate) struct Mail {
    pub(crate) subject: String,
    pub(crate) from: String,
    pub(crate) to: String,
    pub(crate) cc: String,
    /// The envelope recipients, as the server received them.
    pub(crate) rcpt: String,
    pub(crate) text: Option<String>,
    pub(crate) html: Option<String>,
    pub(crate) attachments: Vec<Attached>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Attached {
    pub(crate) filename: String,
    pub(crate) content_type: String,
    pub(crate) size: u64,
    pub(crate) sha256: String,
}

pub(crate) fn mails(maildir: &Path) -> Vec<Mail> {
    if !maildir.join("new").is_dir() {
        return Vec::new();
    }
    let script = repo().join("tests/fixtures/mail/read_maildir.py");
    let out = Command::new("python3").arg(script).arg(maildir).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn sha256_file(path: &Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

#[tokio::test]
async fn the_report_email_arrives_with_the_pdf_intact_once_unless_resent() {
    let run = Published::new().await;
    let maildir = tempfile::tempdir().unwrap();
    let smtp = servers::smtp(&maildir.path().join("mail"));
    let p = only(true, false, false);
    let vars = smtp_env(smtp.port);

    let records = run.deliver(&p, &vars, false).await;
    assert_eq!(
        statuses(&records),
        [
            ("leadership@example.test".to_string(), DeliveryStatus::Sent),
            ("chief@example.test".to_string(), DeliveryStatus::Sent),
            ("sales-ops@example.test".to_string(), DeliveryStatus::Sent),
        ],
        "{records:#?}"
    );
    assert!(records.iter().all(|r| r.channel == "email" && r.report == "review" && r.attempts == 1));
    let got = mails(&maildir.path().join("mail"));
    assert_eq!(got.len(), 1, "one message for every recipient");
    let m = &got[0];
    assert_eq!(m.subject, "Monthly KPI Review: October 2026");
    assert_eq!(m.from, "Sextant <reports@example.test>");
    assert!(m.to.contains("leadership@example.test") && m.to.contains("chief@example.test"), "{}", m.to);
    assert_eq!(m.cc, "sales-ops@example.test");
    // The PDF arrives byte for byte as published.
    assert_eq!(m.attachments.len(), 1);
    let a = &m.attachments[0];
    assert_eq!((a.filename.as_str(), a.content_type.as_str()), ("review.en.pdf", "application/pdf"));
    let pdf = run.run_dir().join("review.en.pdf");
    assert_eq!((a.size, a.sha256.clone()), (std::fs::metadata(&pdf).unwrap().len(), sha256_file(&pdf)));
    // The scorecard: every KPI of kpis.json, with its figures as the report writes them.
    let kpis: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.run_dir().join("kpis.json")).unwrap()).unwrap();
    let html = m.html.as_deref().unwrap();
    let text = m.text.as_deref().unwrap();
    for k in kpis["kpis"].as_array().unwrap() {
        let label = k["labels"]["en"].as_str().unwrap();
        assert!(html.contains(&format!(">{label}</td>")), "{label} missing from the HTML body");
        assert!(text.contains(&format!("- {label}: ")), "{label} missing from the text body");
    }
    assert!(text.contains("- Revenue: 3,267,515 (target 3,359,000, 97.3%) — At risk"), "{text}");
    assert!(html.contains("background-color:#b45309;color:#ffffff;") && html.contains(">At risk</span>"));
    assert!(html.contains(&format!("href=\"{PUBLIC_URL}/deliver_review/2026-10/review.en.html\"")));
    let run_id = run.manifest.run_id.clone();
    insta::with_settings!({ filters => vec![(run_id.as_str(), "[run id]"), (r"sextant \d+\.\d+\.\d+", "sextant [version]")] }, {
        insta::assert_snapshot!("report_email_text", text);
    });

    // Delivered before: nothing is sent again.
    let again = run.deliver(&p, &vars, false).await;
    assert!(again.iter().all(|r| r.status == DeliveryStatus::AlreadySent && r.attempts == 0), "{again:#?}");
    assert_eq!(mails(&maildir.path().join("mail")).len(), 1);
    // Unless it is resent.
    let resent = run.deliver(&p, &vars, true).await;
    assert!(resent.iter().all(|r| r.status == DeliveryStatus::Sent), "{resent:#?}");
    assert_eq!(mails(&maildir.path().join("mail")).len(), 2);
    // A recipient added later gets it; the others are not sent it twice.
    let mut wider = p.clone();
    if let Some(e) = wider.deliver.email.as_mut() {
        e.to.push("new-vp@example.test".into());
    }
    let later = run.deliver(&wider, &vars, false).await;
    assert_eq!(later.iter().filter(|r| r.status == DeliveryStatus::Sent).count(), 1, "{later:#?}");
    let got = mails(&maildir.path().join("mail"));
    assert_eq!(got.len(), 3);
    assert!(
        got.iter().any(|m| m.rcpt == "new-vp@example.test"),
        "{:?}",
        got.iter().map(|m| &m.rcpt).collect::<Vec<_>>()
    );
}

/// The customers of each account manager in the published warnings.
fn warnings_by_manager(run_dir: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut reader = csv::Reader::from_path(run_dir.join("tables/warnings.csv")).unwrap();
    let headers = reader.headers().unwrap().clone();
    let (c, am) = (
        headers.iter().position(|h| h == "customer_id").unwrap(),
        headers.iter().position(|h| h == "account_manager").unwrap(),
    );
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for row in reader.records() {
        let row = row.unwrap();
        out.entry(row[am].to_string()).or_default().insert(row[c].to_string());
    }
    out
}

#[tokio::test]
async fn each_account_manager_gets_only_their_own_warnings() {
    let run = Published::new().await;
    let maildir = tempfile::tempdir().unwrap();
    let smtp = servers::smtp(&maildir.path().join("mail"));
    let mut p = only(false, false, true);
    let expected = warnings_by_manager(&run.run_dir());
    assert!(expected.len() >= 3, "the sample should warn several account managers: {expected:?}");
    // One manager with warnings has no address.
    let (unlisted, _) = expected.iter().next_back().unwrap();
    if let Some(b) = p.deliver.burst.as_mut() {
        b.recipients.remove(unlisted);
    }

    let records = run.deliver(&p, &smtp_env(smtp.port), false).await;
    let sent: BTreeSet<String> =
        records.iter().filter(|r| r.status == DeliveryStatus::Sent).map(|r| r.recipient.clone()).collect();
    let wanted: BTreeSet<String> =
        expected.keys().filter(|am| *am != unlisted).map(|am| format!("{am}@example.test")).collect();
    assert_eq!(sent, wanted, "{records:#?}");
    let failed: Vec<&DeliveryRecord> = records.iter().filter(|r| r.status == DeliveryStatus::Failed).collect();
    assert_eq!(failed.len(), 1, "{records:#?}");
    assert_eq!(
        failed[0].error.as_deref(),
        Some(format!("no address for account manager {unlisted}; add it to deliver.burst.recipients").as_str())
    );
    // Managers without warnings get nothing, and no record.
    assert!(!records.iter().any(|r| r.recipient.starts_with("am06")), "{records:#?}");

    let got = mails(&maildir.path().join("mail"));
    assert_eq!(got.len(), wanted.len());
    let all: BTreeSet<&String> = expected.values().flatten().collect();
    for (am, customers) in expected.iter().filter(|(am, _)| *am != unlisted).take(2) {
        let m = got.iter().find(|m| m.rcpt == format!("{am}@example.test")).unwrap();
        assert_eq!(m.subject, "您负责的客户预警：2026年10月");
        let html = m.html.as_deref().unwrap();
        for c in &all {
            assert_eq!(html.contains(&format!(">{c}</td>")), customers.contains(*c), "{am} and customer {c}");
        }
        let text = m.text.as_deref().unwrap();
        assert_eq!(text.matches("- 客户：").count(), customers.len(), "{text}");
        assert!(html.contains("预警类型") && !html.contains(">account_manager<"));
    }
    // Sent once per manager and period.
    let again = run.deliver(&p, &smtp_env(smtp.port), false).await;
    assert_eq!(again.iter().filter(|r| r.status == DeliveryStatus::AlreadySent).count(), wanted.len());
    assert_eq!(mails(&maildir.path().join("mail")).len(), wanted.len());
}

#[tokio::test]
async fn a_transient_smtp_failure_is_retried_until_the_server_is_up() {
    let run = Published::new().await;
    let maildir = tempfile::tempdir().unwrap();
    let port = servers::free_port();
    let mut p = only(true, false, false);
    if let Some(e) = p.deliver.email.as_mut() {
        e.to.truncate(1);
        e.cc.clear();
    }
    // Nobody listens yet: the first attempts are refused.
    let dir = maildir.path().join("mail");
    let starter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(600));
        smtp_on(port, &dir)
    });
    let records = run.deliver(&p, &smtp_env(port), false).await;
    let _server = starter.join().unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].status, DeliveryStatus::Sent, "{records:#?}");
    assert!(records[0].attempts > 1, "{records:#?}");
    assert_eq!(mails(&maildir.path().join("mail")).len(), 1);
}

/// aiosmtpd on a given port (the servers module picks its own).
struct Smtp(Child);

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn smtp_on(port: u16, maildir: &Path) -> Smtp {
    let listen = format!("127.0.0.1:{port}");
    let child = Command::new("python3")
        .args(["-m", "aiosmtpd", "-n", "-l", &listen, "-c", "aiosmtpd.handlers.Mailbox"])
        .arg(maildir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Smtp(child)
}

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Posted {
    /// Path and query.
    target: String,
    headers: HashMap<String, String>,
    body: serde_json::Value,
}

/// A tiny HTTP receiver: records every request, and answers with `answer(target, n)` (n
/// counts the requests to that path, from 0).
struct Receiver {
    port: u16,
    posted: Arc<Mutex<Vec<Posted>>>,
}

impl Receiver {
    fn start(answer: impl Fn(&str, usize) -> (u16, String) + Send + 'static) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let posted: Arc<Mutex<Vec<Posted>>> = Arc::default();
        let log = Arc::clone(&posted);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let target = line.split_whitespace().nth(1).unwrap_or("").to_string();
                let mut headers = HashMap::new();
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.split_once(':') {
                        headers.insert(k.trim().to_lowercase(), v.trim().to_string());
                    }
                }
                let length: usize = headers.get("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                let path = target.split('?').next().unwrap_or("").to_string();
                let n = {
                    let mut log = log.lock().unwrap();
                    let n = log.iter().filter(|p: &&Posted| p.target.split('?').next() == Some(path.as_str())).count();
                    log.push(Posted {
                        target: target.clone(),
                        headers,
                        body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
                    });
                    n
                };
                let (status, text) = answer(&path, n);
                let response = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                    text.len()
                );
                let _ = stream.write_all(response.as_bytes());
            }
        });
        Receiver { port, posted }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn posted(&self) -> Vec<Posted> {
        self.posted.lock().unwrap().clone()
    }

    fn to(&self, path: &str) -> Vec<Posted> {
        self.posted().into_iter().filter(|p| p.target.starts_with(path)).collect()
    }
}

/// What the robots answer when they take a message.
fn robots_accept(path: &str, _: usize) -> (u16, String) {
    match path {
        "/json" => (204, String::new()),
        p if p.starts_with("/open-apis") => (200, r#"{"code":0,"msg":"success","data":{}}"#.into()),
        _ => (200, r#"{"errcode":0,"errmsg":"ok"}"#.into()),
    }
}

fn hook_env(receiver: &Receiver) -> Env {
    env(&[("TEST_HOOK", &receiver.url()), ("TEST_DINGTALK_SECRET", "SECtest"), ("TEST_FEISHU_SECRET", "test")])
}

#[tokio::test]
async fn webhooks_post_each_format_signed_and_once() {
    let run = Published::new().await;
    let receiver = Receiver::start(robots_accept);
    let p = only(false, true, false);
    let records = run.deliver(&p, &hook_env(&receiver), false).await;
    let host = format!("127.0.0.1:{}", receiver.port);
    assert_eq!(records.len(), 4);
    for r in &records {
        assert_eq!(
            (r.channel.as_str(), r.recipient.as_str(), r.status, r.attempts),
            ("webhook", host.as_str(), DeliveryStatus::Sent, 1)
        );
    }
    let kpis: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.run_dir().join("kpis.json")).unwrap()).unwrap();
    let n_kpis = kpis["kpis"].as_array().unwrap().len();

    // sextant's JSON: every KPI with its figures and status, and the links to the reports.
    let json = &receiver.to("/json")[0].body;
    assert_eq!((json["pipeline"].as_str(), json["period"].as_str()), (Some("deliver_review"), Some(PERIOD)));
    assert_eq!(json["run_id"], run.manifest.run_id.as_str());
    assert_eq!(json["kpis"].as_array().unwrap().len(), n_kpis);
    let revenue = &json["kpis"][0];
    assert_eq!(revenue["id"], "revenue");
    assert_eq!(revenue["value"], kpis["kpis"][0]["value"]);
    assert_eq!(revenue["target"], kpis["kpis"][0]["target"]);
    assert_eq!(revenue["attainment"], kpis["kpis"][0]["attainment"]);
    assert_eq!((revenue["status"].as_str(), revenue["label"].as_str()), (Some("at_risk"), Some("Revenue")));
    assert_eq!(json["reports"][0]["url"], format!("{PUBLIC_URL}/deliver_review/2026-10/review.en.html"));

    // DingTalk: markdown, signed in the query with the time in milliseconds.
    let ding = &receiver.to("/robot/send")[0];
    let ts = clock().now().timestamp_millis();
    let sign: String = url::form_urlencoded::byte_serialize(dingtalk_sign(ts, "SECtest").as_bytes()).collect();
    assert_eq!(ding.target, format!("/robot/send?access_token=dingtalk-token&timestamp={ts}&sign={sign}"));
    assert_eq!(ding.headers["content-type"], "application/json; charset=utf-8");
    assert_eq!(ding.body["msgtype"], "markdown");
    let text = ding.body["markdown"]["text"].as_str().unwrap();
    assert!(text.starts_with("#### Monthly KPI Review · October 2026\n"), "{text}");
    assert!(text.contains("- 🟡 **Revenue** 3,267,515 · target 3,359,000 · 97.3%\n"), "{text}");
    assert!(text.contains(&format!("[Monthly KPI Review (HTML)]({PUBLIC_URL}/deliver_review/2026-10/review.en.html)")));

    // Feishu: an interactive card, signed in the body with the time in seconds; in Chinese.
    let feishu = &receiver.to("/open-apis/bot/v2/hook/feishu-token")[0].body;
    let ts = clock().now().timestamp();
    assert_eq!(feishu["timestamp"], ts.to_string());
    assert_eq!(feishu["sign"], feishu_sign(ts, "test"));
    assert_eq!(feishu["msg_type"], "interactive");
    assert_eq!(feishu["card"]["header"]["title"]["content"], "月度KPI经营分析 · 2026年10月");
    let card = feishu["card"]["elements"].to_string();
    assert!(
        card.contains("**销售额** 3,267,515 · 目标 3,359,000 · 97.3% <font color='orange'>有风险</font>"),
        "{card}"
    );
    assert!(card.contains(&format!("\"url\":\"{PUBLIC_URL}/deliver_review/2026-10/review.zh-CN.html\"")), "{card}");

    // WeCom: markdown within 4096 bytes, no signing.
    let wecom = &receiver.to("/cgi-bin/webhook/send")[0];
    assert_eq!(wecom.target, "/cgi-bin/webhook/send?key=wecom-token");
    let content = wecom.body["markdown"]["content"].as_str().unwrap();
    assert!(content.len() <= 4096 && content.contains("<font color=\"warning\">有风险</font>"), "{content}");

    // The records and markers name the host only, never a token.
    let ledger = serde_json::to_string(&records).unwrap();
    let markers: String = walk(&run.dir.path().join("deliver_review/.deliveries"))
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect();
    assert_eq!(markers.matches("\"channel\": \"webhook\"").count(), 4, "{markers}");
    for secret in ["token", "SECtest"] {
        assert!(!ledger.contains(secret) && !markers.contains(secret), "{secret} leaked");
    }

    // Sent once per period and webhook.
    let again = run.deliver(&p, &hook_env(&receiver), false).await;
    assert!(again.iter().all(|r| r.status == DeliveryStatus::AlreadySent), "{again:#?}");
    assert_eq!(receiver.posted().len(), 4);
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.path().is_dir() {
            files.extend(walk(&entry.path()));
        } else {
            files.push(entry.path());
        }
    }
    files
}

#[tokio::test]
async fn a_busy_receiver_is_retried_and_a_refusal_is_not() {
    let run = Published::new().await;
    // The JSON receiver is busy once; the DingTalk robot refuses the signature.
    let receiver = Receiver::start(|path, n| match path {
        "/json" if n == 0 => (503, "busy".into()),
        "/robot/send" => (200, r#"{"errcode":310000,"errmsg":"sign not match"}"#.into()),
        p => robots_accept(p, n),
    });
    let mut p = only(false, true, false);
    p.deliver.webhooks.truncate(2);
    let records = run.deliver(&p, &hook_env(&receiver), false).await;
    assert_eq!((records[0].status, records[0].attempts), (DeliveryStatus::Sent, 2), "{records:#?}");
    assert_eq!((records[1].status, records[1].attempts), (DeliveryStatus::Failed, 1), "{records:#?}");
    let error = records[1].error.as_deref().unwrap();
    assert!(error.contains("the DingTalk robot refused the message: error 310000 (sign not match)"), "{error}");
    // A refused message is not recorded as delivered: the next delivery tries again.
    let again = run.deliver(&p, &hook_env(&receiver), false).await;
    assert_eq!(
        statuses(&again).iter().map(|s| s.1).collect::<Vec<_>>(),
        [DeliveryStatus::AlreadySent, DeliveryStatus::Failed]
    );
}

#[tokio::test]
async fn missing_settings_are_failed_records_that_say_what_to_set() {
    let run = Published::new().await;
    let p = fixture();
    // No SMTP settings, no TEST_CHIEF, no TEST_HOOK.
    let records = run.deliver(&p, &Env::new(), false).await;
    let by =
        |recipient: &str| records.iter().find(|r| r.recipient == recipient).unwrap_or_else(|| panic!("{records:#?}"));
    assert_eq!(
        by("${TEST_CHIEF}").error.as_deref(),
        Some("environment variable `TEST_CHIEF` is not set (used in deliver.email.to); export it before delivering")
    );
    assert_eq!(
        by("leadership@example.test").error.as_deref(),
        Some("no SMTP server configured; set SEXTANT_SMTP_HOST")
    );
    let hooks: Vec<&DeliveryRecord> = records.iter().filter(|r| r.channel == "webhook").collect();
    assert_eq!(hooks.len(), 4);
    assert!(hooks.iter().all(|r| r.error.as_deref().unwrap_or("").contains("`TEST_HOOK` is not set")), "{hooks:#?}");
    assert!(records.iter().all(|r| r.status == DeliveryStatus::Failed), "{records:#?}");
    assert!(records.iter().any(|r| r.channel == "burst"));
}

fn sextant() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sextant"));
    c.current_dir(repo()).env("NO_COLOR", "1").env("SEXTANT_NOW", "2026-11-05T08:00:00Z");
    c.env_remove("SEXTANT_DATA_ROOT").env_remove("SEXTANT_OUTPUT_ROOT").env_remove("RUST_LOG");
    c
}

#[test]
fn a_failing_error_check_sends_no_report_and_the_owners_get_the_notice() {
    let out = tempfile::tempdir().unwrap();
    let maildir = tempfile::tempdir().unwrap();
    let smtp = servers::smtp(&maildir.path().join("mail"));
    let result = sextant()
        .args(["run", "tests/fixtures/pipelines/deliver_gate.yaml", "--period", PERIOD, "--deliver"])
        .args(["--data-root", "tests/fixtures/checks", "--out"])
        .arg(out.path())
        .envs(smtp_env(smtp.port))
        .env("TEST_OWNER", "lead-analyst@example.test")
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&result.stdout), String::from_utf8_lossy(&result.stderr));
    assert_eq!(result.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(!out.path().join("deliver_gate/2026-10/run.json").exists());
    let got = mails(&maildir.path().join("mail"));
    assert_eq!(got.len(), 1, "the notice only, no report");
    let m = &got[0];
    assert_eq!(m.subject, "sextant: deliver_gate 2026-10 failed — report not sent");
    assert_eq!(m.to, "sales-ops@example.test, lead-analyst@example.test");
    assert!(!m.rcpt.contains("leadership"), "{}", m.rcpt);
    assert!(m.attachments.is_empty());
    let text = m.text.as_deref().unwrap();
    assert!(text.contains("Failed checks\n- unique(orders: order_id, product_id): "), "{text}");
    assert!(m.html.as_deref().unwrap().contains("unique(orders: order_id, product_id)"));
    assert!(stdout.contains("✔ failure_notice sales-ops@example.test"), "{stdout}");
    // The notice is in the failed attempt's ledger record.
    let ledger = walk(&out.path().join("deliver_gate/.runs"));
    assert_eq!(ledger.len(), 1);
    let record: RunManifest = serde_json::from_slice(&std::fs::read(&ledger[0]).unwrap()).unwrap();
    assert_eq!(record.deliveries.len(), 2);
    assert!(record.deliveries.iter().all(|d| d.channel == "failure_notice" && d.status == DeliveryStatus::Sent));
}

#[tokio::test]
async fn the_deliver_command_records_every_delivery_and_exits_1_when_one_fails() {
    let run = Published::new().await;
    let maildir = tempfile::tempdir().unwrap();
    let smtp = servers::smtp(&maildir.path().join("mail"));
    let receiver = Receiver::start(robots_accept);
    let mut vars = smtp_env(smtp.port);
    vars.extend(hook_env(&receiver));
    vars.remove("TEST_CHIEF");
    let deliver = |resend: bool| {
        let mut c = sextant();
        c.args(["deliver", "tests/fixtures/pipelines/deliver_review.yaml", "--period", PERIOD, "--out"])
            .arg(run.dir.path())
            .envs(&vars);
        if resend {
            c.arg("--resend");
        }
        c.output().unwrap()
    };
    let result = deliver(false);
    let stdout = String::from_utf8_lossy(&result.stdout).to_string();
    assert_eq!(result.status.code(), Some(1), "{stdout}\n{}", String::from_utf8_lossy(&result.stderr));
    assert!(stdout.contains("✘ email          ${TEST_CHIEF}"), "{stdout}");
    assert!(stdout.contains("✔ email          leadership@example.test"), "{stdout}");
    assert!(stdout.contains("✔ webhook"), "{stdout}");
    assert!(stdout.contains("✔ burst          am01@example.test"), "{stdout}");
    let ledger_key = run.dir.path().join(format!("deliver_review/.runs/{PERIOD}/{}.json", run.manifest.run_id));
    let record: RunManifest = serde_json::from_slice(&std::fs::read(&ledger_key).unwrap()).unwrap();
    let lines = stdout.lines().filter(|l| !l.trim().is_empty()).count();
    assert_eq!(record.deliveries.len(), lines);
    let first_mails = mails(&maildir.path().join("mail")).len();

    // Again: what went out is not sent twice; the failed one is tried again (and fails).
    let result = deliver(false);
    let stdout = String::from_utf8_lossy(&result.stdout).to_string();
    assert_eq!(result.status.code(), Some(1));
    assert_eq!(stdout.matches("already sent").count(), lines - 1, "{stdout}");
    assert_eq!(mails(&maildir.path().join("mail")).len(), first_mails);
    let record: RunManifest = serde_json::from_slice(&std::fs::read(&ledger_key).unwrap()).unwrap();
    assert_eq!(record.deliveries.len(), 2 * lines, "each attempt is recorded");
}
