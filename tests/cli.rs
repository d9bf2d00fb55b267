//! The command line around the runs: `--version`, shell completions, the man page, examples.

mod common;

use std::process::Command;

use common::*;

fn stdout_of(args: &[&str]) -> String {
    let output = headshot(args);
    assert!(
        output.status.success(),
        "headshot {args:?}: exit {:?}\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

/// `--version` says whether libjpeg's SIMD is in, and agrees with the linked library.
#[test]
fn version_tells_whether_libjpeg_has_simd() {
    let version = stdout_of(&["--version"]);
    assert!(
        version.starts_with(concat!("headshot ", env!("CARGO_PKG_VERSION"))),
        "{version}"
    );
    let built_in = headshot::decode::jpeg_simd_built_in();
    let expected = if built_in {
        "libjpeg SIMD: yes"
    } else {
        "libjpeg SIMD: no"
    };
    assert!(version.contains(expected), "{version}");
    // CI installs nasm before the first build, so an x86 CI build without SIMD means
    // mozjpeg-sys missed nasm or the check is wrong; either must be looked at.
    let nasm_present = Command::new("nasm").arg("-v").output().is_ok();
    if cfg!(target_arch = "x86_64")
        && nasm_present
        && std::env::var("HEADSHOT_REQUIRE_TOOLS").as_deref() == Ok("1")
    {
        assert!(built_in, "nasm is installed but libjpeg has no SIMD");
    }
}

/// Completion scripts for bash, zsh and fish come from the clap definitions.
#[test]
fn completions_cover_every_subcommand() {
    for shell in ["bash", "zsh", "fish"] {
        let script = stdout_of(&["completions", shell]);
        assert!(script.len() > 1000, "{shell}: {} bytes", script.len());
        // Flags as each shell spells them: `--export` in bash and zsh, `-l export` in fish.
        for word in ["run", "inspect", "slates", "export", "roster"] {
            assert!(script.contains(word), "{shell} completions lack {word}");
        }
    }
    let refused = headshot(&["completions", "tcsh"]);
    assert_eq!(refused.status.code(), Some(2));
}

/// `headshot man` prints a roff man page naming the subcommands.
#[test]
fn man_page_names_the_subcommands() {
    let page = stdout_of(&["man"]);
    assert!(
        page.contains(".TH headshot 1"),
        "{}",
        &page[..page.len().min(300)]
    );
    for word in ["run", "inspect", "slates", "completions"] {
        assert!(page.contains(word), "man page lacks {word}");
    }
}

/// Every subcommand's `--help` ends with a one-line example.
#[test]
fn every_subcommand_help_has_an_example() {
    for args in [
        &["run"][..],
        &["presets"],
        &["presets", "list"],
        &["presets", "show"],
        &["inspect"],
        &["slates"],
        &["completions"],
        &["man"],
    ] {
        let mut with_help = args.to_vec();
        with_help.push("--help");
        let help = stdout_of(&with_help);
        let last = help.trim_end().lines().last().unwrap_or_default();
        assert!(
            last.starts_with("Example: headshot "),
            "{args:?}: last line {last:?}"
        );
    }
}
