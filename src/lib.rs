//! headshot: turn a conference headshot shoot into a named, gallery-ready set of photos.
//!
//! The library does all the work; `main.rs` only parses flags and reports.
//! A photo flows one way through the stages below; see ARCHITECTURE.md.

pub mod colour;
pub mod crop;
pub mod decode;
pub mod discover;
pub mod encode;
pub mod error;
pub mod exif_info;
pub mod face_overlay;
pub mod faces;
pub mod gallery;
pub mod inspect;
pub mod lock;
pub mod manifest;
pub mod metadata;
pub mod names;
pub mod naming;
pub mod orient;
pub mod output;
pub mod pipeline;
pub mod presets;
pub mod rerun;
pub mod resize;
pub mod tone;
