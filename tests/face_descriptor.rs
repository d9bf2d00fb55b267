//! The ported face descriptor against face-api itself, on checked-in aligned chips.
//!
//! `tests/data/face_descriptor/` holds 150x150 chips cut by `face_chip` from the
//! public-domain corpus portraits and `reference.json`, the descriptors face-api
//! 1.7.15 (tfjs 4.22.0, wasm backend) computes for them with
//! `tools/face-descriptor/reference.js`. No corpus needed.

use std::path::Path;

use headshot::faces::descriptor::{FaceDescriber, FaceDescriptor};
use serde::Deserialize;

/// Largest allowed distance between the port's descriptor and face-api's for one chip.
/// Measured: 0.000014 (float rounding); different people are 0.6 or more apart.
const MAX_PORT_DISTANCE: f32 = 0.001;

#[derive(Deserialize)]
struct Reference {
    descriptors: std::collections::BTreeMap<String, FaceDescriptor>,
}

#[test]
fn port_matches_face_api_on_reference_chips() {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/face_descriptor");
    let text = std::fs::read_to_string(folder.join("reference.json")).expect("reference.json");
    let reference: Reference = serde_json::from_str(&text).expect("reference.json parses");
    assert!(reference.descriptors.len() >= 4);
    let describer = FaceDescriber::new().expect("embedded model loads");
    let mut worst_distance = 0.0f32;
    let mut worst_component = 0.0f32;
    for (file, expected) in &reference.descriptors {
        let chip = image::open(folder.join(file))
            .unwrap_or_else(|e| panic!("{file}: {e}"))
            .to_rgb8();
        let ported = describer.describe_chip(&chip).expect("descriptor runs");
        let distance = ported.distance(expected);
        let component = ported
            .0
            .iter()
            .zip(&expected.0)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        eprintln!("{file}: distance {distance:.6}, max component difference {component:.6}");
        worst_distance = worst_distance.max(distance);
        worst_component = worst_component.max(component);
    }
    eprintln!("worst: distance {worst_distance:.6}, component {worst_component:.6}");
    assert!(
        worst_distance < MAX_PORT_DISTANCE,
        "port differs from face-api by {worst_distance}"
    );
    // The chips are of different people: the reference itself must tell them apart.
    let all: Vec<&FaceDescriptor> = reference.descriptors.values().collect();
    assert!(all[0].distance(all[1]) > 0.5);
}
