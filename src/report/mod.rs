//! Reports: the model ([`model`]) built once from a run's results, charts rendered once as
//! SVG ([`chart`]), then HTML ([`html`]) and PDF ([`pdf`]) renderers.

pub mod build;
pub mod chart;
pub mod fonts;
pub mod html;
pub mod i18n;
pub mod model;
pub mod pdf;
pub mod render;
