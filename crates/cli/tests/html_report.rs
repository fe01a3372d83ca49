//! `report/index.html` of a demo-shaped sweep, checked on its content and in a real browser.
//!
//! The sweep (2 generated checkpoints × sentiment, coref and coref + CDA) writes the page; then
//! `multiberts report` must write the same bytes; the bias picture must hold one dot per
//! occupation and variant at its value. Then headless Chromium renders the page: the
//! screenshot must not be blank, every figure must have a non-zero size, and the console must
//! log no error (a probe script injected into a copy of the page records sizes and errors into
//! the DOM that `--dump-dom` prints, and proves it listens by logging one sentinel error).
//!
//! The browser is `MULTIBERTS_CHROMIUM`, else `chromium` or `chromium-browser` on PATH. Without
//! one the browser part says it is skipped, except under `CI`, where it fails (`.ci/run`
//! installs Debian's `chromium`).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{multiberts, ok, text};

/// The demo's shape, shrunk: 2 checkpoints x (sentiment, coref, coref + CDA) x 1 rate x 1 seed.
const MANIFEST: &str = r#"name = "page"
description = "The demo's shape, shrunk"

[defaults]
max_seq_len = 32
batch_size = 16
eval_batch_size = 64
epochs = 2
learning_rates = [1e-3]
finetune_seeds = [0]
max_train_examples = 192

[[checkpoints]]
init = { config = "tiny" }
seeds = [0, 1]

[[tasks]]
name = "demo-sentiment"

[[tasks]]
name = "demo-coref"

[[tasks]]
name = "demo-coref"
variant = "cda"
augment = "cda"

[[analyses]]
name = "coref-cda-accuracy"
kind = "paired"
task = "demo-coref"
metric = "accuracy"
base = "variant="
experiment = "variant=cda"
nboot = 200
"#;

/// The Chromium binary, or `None` (with a message) when the browser checks are skipped.
fn chromium() -> Option<PathBuf> {
    let in_ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty());
    let explicit = std::env::var_os("MULTIBERTS_CHROMIUM").filter(|v| !v.is_empty());
    let found = explicit.map(PathBuf::from).or_else(|| {
        ["chromium", "chromium-browser"].iter().find_map(|name| {
            let ok = Command::new(name)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success());
            ok.then(|| PathBuf::from(name))
        })
    });
    match found {
        Some(c) => Some(c),
        None if in_ci => panic!(
            "CI is set but no Chromium was found: install Debian's `chromium` (.ci/run does) or \
             set MULTIBERTS_CHROMIUM"
        ),
        None => {
            eprintln!("skipped the browser checks: install chromium or set MULTIBERTS_CHROMIUM");
            None
        }
    }
}

/// The SVG documents inline in `html`.
fn svgs(html: &str) -> Vec<&str> {
    html.match_indices("<svg")
        .map(|(start, _)| {
            let end = html[start..].find("</svg>").expect("closed svg") + start + 6;
            &html[start..end]
        })
        .collect()
}

/// The pixel of `v` along `axis` in a panel group, from its data attributes.
fn px(group: roxmltree::Node, axis: &str, v: f64) -> f64 {
    let nums = |name: String| -> Vec<f64> {
        group
            .attribute(name.as_str())
            .unwrap()
            .split(' ')
            .map(|s| s.parse().unwrap())
            .collect()
    };
    let (p, r) = (
        nums(format!("data-{axis}px")),
        nums(format!("data-{axis}range")),
    );
    p[0] + (v - r[0]) / (r[1] - r[0]) * (p[1] - p[0])
}

/// Checks the bias picture: per variant one dot per occupation, each at its value.
fn check_bias_figure(html: &str, occupations: usize) {
    let doc = svgs(html)
        .into_iter()
        .find(|s| s.contains("bias by occupation"))
        .expect("a bias figure for demo-coref");
    let xml = roxmltree::Document::parse(doc).unwrap();
    let plot = xml
        .descendants()
        .find(|n| n.attribute("class") == Some("plot"))
        .unwrap();
    let variants: Vec<_> = plot
        .children()
        .filter(|n| n.attribute("class") == Some("variant"))
        .collect();
    assert_eq!(variants.len(), 2, "base and cda");
    for v in variants {
        let dots: Vec<_> = v
            .children()
            .filter(|n| n.attribute("class") == Some("occupation"))
            .collect();
        assert_eq!(dots.len(), occupations);
        for d in dots {
            let value: f64 = d.attribute("data-value").unwrap().parse().unwrap();
            let cy: f64 = d.attribute("cy").unwrap().parse().unwrap();
            assert!((cy - px(plot, "y", value)).abs() < 0.01);
        }
        let fits: Vec<_> = v
            .children()
            .filter(|n| n.attribute("class") == Some("fit"))
            .collect();
        assert_eq!(fits.len(), 1);
        // The fitted line stays inside the plot, and its stroke is clipped to it.
        let edges = |axis: &str| -> (f64, f64) {
            let p: Vec<f64> = plot
                .attribute(format!("data-{axis}px").as_str())
                .unwrap()
                .split(' ')
                .map(|s| s.parse().unwrap())
                .collect();
            (p[0].min(p[1]), p[0].max(p[1]))
        };
        let ((x0, x1), (y0, y1)) = (edges("x"), edges("y"));
        let at = |name: &str| -> f64 { fits[0].attribute(name).unwrap().parse().unwrap() };
        for (x, y) in [(at("x1"), at("y1")), (at("x2"), at("y2"))] {
            assert!(
                x0 <= x && x <= x1 && y0 <= y && y <= y1,
                "({x}, {y}) outside the plot"
            );
        }
        let clip = fits[0].attribute("clip-path").unwrap();
        let id = clip.trim_start_matches("url(#").trim_end_matches(')');
        assert!(
            xml.descendants()
                .any(|n| n.has_tag_name("clipPath") && n.attribute("id") == Some(id)),
            "{clip}"
        );
    }
}

/// Records every figure's rendered size and every console error or failed load into
/// `<pre id="probe">` once the page has loaded, after logging one sentinel error.
const PROBE: &str = r#"<script>
(function () {
  var errors = [];
  var original = console.error;
  console.error = function () { errors.push(Array.prototype.join.call(arguments, " ")); original.apply(console, arguments); };
  addEventListener("error", function (e) { errors.push("error event: " + (e.message || (e.target && e.target.outerHTML))); }, true);
  console.error("probe-sentinel");
  addEventListener("load", function () {
    var sizes = Array.prototype.map.call(document.querySelectorAll("figure svg"), function (s) {
      var b = s.getBoundingClientRect(); return Math.round(b.width) + "x" + Math.round(b.height);
    });
    var pre = document.createElement("pre");
    pre.id = "probe";
    pre.textContent = JSON.stringify({ sizes: sizes, errors: errors });
    document.body.appendChild(pre);
  });
})();
</script>"#;

/// Runs Chromium headless on `page` with `args`; returns stdout and stderr.
fn headless(chromium: &Path, page: &Path, args: &[&str]) -> (String, String) {
    let url = format!("file://{}", page.display());
    let out = Command::new(chromium)
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
        ])
        .args([
            "--window-size=1280,2400",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .args(args)
        .arg(&url)
        .output()
        .expect("chromium starts");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "chromium failed on {url}:\n{stderr}");
    (String::from_utf8_lossy(&out.stdout).into_owned(), stderr)
}

/// The browser checks: figure sizes and console errors via the probe, then the screenshot.
fn check_in_browser(chromium: &Path, index: &Path, figures: usize) {
    let html = std::fs::read_to_string(index).unwrap();
    let probe = index.with_file_name("probe.html");
    std::fs::write(
        &probe,
        html.replacen("<head>", &format!("<head>\n{PROBE}"), 1),
    )
    .unwrap();
    let (dom, stderr) = headless(
        chromium,
        &probe,
        &["--dump-dom", "--virtual-time-budget=5000"],
    );
    let start = dom.find("<pre id=\"probe\">").expect("the probe ran") + 16;
    let end = start + dom[start..].find("</pre>").unwrap();
    let json = dom[start..end]
        .replace("&quot;", "\"")
        .replace("&amp;", "&");
    let probed: serde_json::Value = serde_json::from_str(&json).unwrap();
    let errors: Vec<&str> = probed["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert_eq!(errors, ["probe-sentinel"], "console errors on the page");
    let console: Vec<&str> = stderr.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(
        console.iter().all(|l| l.contains("probe-sentinel")),
        "console lines beyond the sentinel: {console:?}"
    );
    let sizes = probed["sizes"].as_array().unwrap();
    assert_eq!(sizes.len(), figures, "every figure is rendered");
    for s in sizes {
        let (w, h) = s.as_str().unwrap().split_once('x').unwrap();
        let (w, h): (u32, u32) = (w.parse().unwrap(), h.parse().unwrap());
        assert!(w > 100 && h > 100, "a figure rendered at {w}x{h}");
    }
    let shot = index.with_file_name("screenshot.png");
    let arg = format!("--screenshot={}", shot.display());
    headless(chromium, index, &[arg.as_str()]);
    assert_not_blank(&shot);
}

/// The PNG at `path` has many distinct colours and both light and dark pixels.
fn assert_not_blank(path: &Path) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let pixels: Vec<&[u8]> = buf[..info.buffer_size()].chunks(channels).collect();
    let mut distinct: Vec<[u8; 3]> = pixels.iter().map(|p| [p[0], p[1], p[2]]).collect();
    distinct.sort_unstable();
    distinct.dedup();
    let dark = pixels
        .iter()
        .filter(|p| p[..3].iter().all(|&c| c < 80))
        .count();
    let light = pixels
        .iter()
        .filter(|p| p[..3].iter().all(|&c| c > 240))
        .count();
    assert!(
        distinct.len() > 50 && dark > 1000 && light > pixels.len() / 4,
        "{}: a blank-looking screenshot ({} colours, {dark} dark pixels)",
        path.display(),
        distinct.len()
    );
}

#[test]
fn the_demo_page_shows_every_table_and_figure_in_a_browser() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("m.toml"), MANIFEST).unwrap();
    let out = multiberts(
        dir.path(),
        &["sweep", "m.toml", "--results-dir", "r", "--jobs", "2"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let report = dir.path().join("r/page/report");
    let index = report.join("index.html");
    assert!(
        text(&out).contains("report page: r/page/report/index.html"),
        "{}",
        text(&out)
    );
    let html = std::fs::read_to_string(&index).unwrap();

    // `report` writes the same page from the consolidated tables.
    ok(multiberts(
        dir.path(),
        &["report", "m.toml", "--results-dir", "r"],
    ));
    assert_eq!(
        std::fs::read_to_string(&index).unwrap(),
        html,
        "collect and report differ"
    );

    let stats = dir
        .path()
        .join("r/page/upstream/coref/demo-coref/occupations-stats.tsv");
    let occupations = std::fs::read_to_string(stats).unwrap().lines().count() - 1;
    check_bias_figure(&html, occupations);
    // 3 per-task figures, 3 per-seed ones, the bias picture and the forest plot.
    let figures = html.matches("<figure>").count();
    assert_eq!(figures, 8, "figures on the page");
    assert!(!html.contains("http:") && !html.contains("https:"));

    if let Some(chromium) = chromium() {
        check_in_browser(&chromium, &index, figures);
    }
}
