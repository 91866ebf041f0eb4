//! The HTML renderer: handlebars templates in `report-templates/` (a layout and one partial
//! per section kind), in strict mode so a missing field is an error naming the template and
//! line. Every data value goes through `{{…}}` and is escaped; only the SVG that the chart
//! module produced (and escaped itself) is inserted raw. The page is one self-contained file:
//! inline CSS and SVG, nothing fetched from the network.

use handlebars::Handlebars;

use super::chart;
use super::model::{ChartSpec, Locale, Report, SectionBody};

/// Why HTML could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum HtmlError {
    #[error("report template {template}: {message}")]
    Template { template: String, message: String },
}

const LAYOUT: &str = include_str!("../../report-templates/layout.hbs");
const CSS: &str = include_str!("../../report-templates/report.css");
const PARTIALS: [(&str, &str); 6] = [
    ("cover", include_str!("../../report-templates/partials/cover.hbs")),
    ("scorecard", include_str!("../../report-templates/partials/scorecard.hbs")),
    ("chart", include_str!("../../report-templates/partials/chart.hbs")),
    ("table", include_str!("../../report-templates/partials/table.hbs")),
    ("findings", include_str!("../../report-templates/partials/findings.hbs")),
    ("text", include_str!("../../report-templates/partials/text.hbs")),
];

fn registry() -> Result<Handlebars<'static>, HtmlError> {
    let mut hb = Handlebars::new();
    hb.set_strict_mode(true);
    let err = |template: &str| {
        let template = template.to_string();
        move |e: handlebars::TemplateError| HtmlError::Template { template: template.clone(), message: e.to_string() }
    };
    hb.register_template_string("layout.hbs", LAYOUT).map_err(err("layout.hbs"))?;
    for (name, text) in PARTIALS {
        hb.register_partial(name, text).map_err(err(&format!("partials/{name}.hbs")))?;
    }
    Ok(hb)
}

/// Renders `report` as one self-contained HTML page.
///
/// # Errors
/// A template error (a missing field in strict mode, a syntax error) with the template's
/// name and line.
pub fn render(report: &Report) -> Result<String, HtmlError> {
    let hb = registry()?;
    let mut model = serde_json::to_value(report)
        .map_err(|e| HtmlError::Template { template: "layout.hbs".into(), message: e.to_string() })?;
    // The scorecard's sparklines are drawn by the chart module, like every other chart.
    if let Some(sections) = model.get_mut("sections").and_then(|s| s.as_array_mut()) {
        for (section, source) in sections.iter_mut().zip(&report.sections) {
            let SectionBody::Scorecard { cards } = &source.body else { continue };
            let Some(json_cards) = section.pointer_mut("/body/cards").and_then(|c| c.as_array_mut()) else { continue };
            for (json_card, card) in json_cards.iter_mut().zip(cards) {
                let svg = chart::render_svg(
                    &format!("spark-{}", card.id),
                    &card.label,
                    &ChartSpec::Sparkline { values: card.sparkline.clone() },
                    200.0,
                    28.0,
                    &report.theme,
                    report.locale,
                );
                json_card["sparkline_svg"] = serde_json::Value::String(svg);
            }
        }
    }
    let t = &report.theme;
    let data = serde_json::json!({
        "report": model,
        "css": CSS,
        "version": env!("CARGO_PKG_VERSION"),
        "locale": match report.locale { Locale::En => "en", Locale::ZhCn => "zh-CN" },
        "theme": {
            "primary": t.primary.hex(), "accent": t.accent.hex(), "text": t.text.hex(), "muted": t.muted.hex(),
            "on_track": t.on_track.hex(), "at_risk": t.at_risk.hex(), "off_track": t.off_track.hex(), "neutral": t.neutral.hex(),
        },
    });
    hb.render("layout.hbs", &data).map_err(|e| HtmlError::Template {
        template: e.template_name.clone().unwrap_or_else(|| "layout.hbs".into()),
        message: match e.line_no {
            Some(line) => format!("line {line}: {}", e.reason()),
            None => e.reason().to_string(),
        },
    })
}
