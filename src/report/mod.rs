//! Reports: the model ([`model`]) built once from a run's results, charts rendered once as
//! SVG ([`chart`]), then HTML ([`html`]) and PDF ([`pdf`]) renderers.

pub mod chart;
pub mod model;
pub mod pdf;
