//! headshot: turn a conference headshot shoot into a named, gallery-ready set of photos.
//!
//! The library does all the work; `main.rs` only parses flags and reports.
//! A photo flows one way through the stages below; see ARCHITECTURE.md.

pub mod analyse;
pub mod clock_code;
pub mod clock_server;
pub mod clocks;
pub mod colour;
pub mod config;
pub mod corrections;
pub mod crop;
pub mod decide;
pub mod decode;
pub mod develop;
pub mod discover;
pub mod encode;
pub mod error;
pub mod exif_info;
pub mod face_overlay;
pub mod faces;
pub mod fingerprint;
pub mod finish;
pub mod gallery;
pub mod identity;
pub mod inspect;
pub mod lock;
pub mod manifest;
pub mod metadata;
pub mod names;
pub mod naming;
pub mod orient;
pub mod output;
pub mod pipeline;
pub mod pixel_pool;
pub mod plan;
pub mod presets;
pub mod render;
pub mod rerun;
pub mod resize;
pub mod serve;
pub mod shoot_files;
pub mod timing;
pub mod tone;
