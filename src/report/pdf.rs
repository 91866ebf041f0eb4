//! PDF rendering.
