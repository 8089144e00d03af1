//! No credential-looking value from any connection or property ever appears in a package, a
//! report (every format), a log line or an error message.

use crate::common;

use std::io::Read;

use common::*;

const SECRETS: [&str; 5] = [
    "s3cr3t-sandbox-value",
    "AKIA-EXAMPLE-DO-NOT-SHIP",
    "prod-password-9f8e7d",
    "sk_live_prod_token_123",
    "sandbox-prop-token-456",
];

fn add_secrets(path: &std::path::Path, pairs: &[(&str, &str)]) {
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    for (k, val) in pairs {
        v[*k] = serde_json::Value::from(*val);
    }
    std::fs::write(path, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
}

#[test]
fn secrets_never_leave_connections_or_properties() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = dir.path().join("sandbox");
    let prod = dir.path().join("production");
    copy_tree(&testdata("sandbox"), &sandbox);
    copy_tree(&testdata("production"), &prod);
    add_secrets(
        &sandbox.join("account_properties.properties.json"),
        &[("api_token", "sandbox-prop-token-456")],
    );
    add_secrets(
        &prod.join("Workspace Connections/salesforce_account.connection.json"),
        &[("password", "prod-password-9f8e7d")],
    );
    add_secrets(
        &prod.join("account_properties.properties.json"),
        &[("stripe_secret", "sk_live_prod_token_123")],
    );
    // A recipe uses the secret property so that it travels.
    let recipe = sandbox.join("orders/sync_orders.recipe.json");
    let text = std::fs::read_to_string(&recipe).unwrap();
    std::fs::write(&recipe, text.replacen("\"description\": \"", "\"description\": \"#{_dp('{\\\"pill_type\\\":\\\"account_property\\\",\\\"property_name\\\":\\\"api_token\\\"}')} ", 1)).unwrap();
    let (s, p) = (sandbox.to_str().unwrap(), prod.to_str().unwrap());
    ok(&run(&["init", s, "--id", "1100000001"]));
    ok(&run(&["init", p, "--id", "2200000002"]));
    let pkg = dir.path().join("p.zip");
    let pkg_s = pkg.to_str().unwrap();
    let mut outputs = Vec::new();
    let mut go = |args: Vec<&str>| {
        let out = run(&args);
        outputs.push((format!("{args:?}"), stdout(&out) + &stderr(&out)));
    };
    for fmt in ["human", "json"] {
        go(vec![
            "export",
            "--env",
            s,
            "--folder",
            "",
            "--include-property-values",
            "-o",
            pkg_s,
            "--format",
            fmt,
        ]);
    }
    for fmt in ["human", "json", "markdown"] {
        go(vec!["plan", pkg_s, "--env", p, "--format", fmt]);
        go(vec![
            "plan",
            pkg_s,
            "--env",
            p,
            "--format",
            fmt,
            "--force",
            "--restart-recipes",
        ]);
        go(vec![
            "impact",
            "Workspace Connections/salesforce_account.connection.json",
            "--env",
            p,
            "--format",
            fmt,
        ]);
    }
    for fmt in ["human", "json"] {
        go(vec!["inspect", s, "--format", fmt]);
        go(vec!["inspect", p, "--format", fmt]);
        go(vec!["inspect", pkg_s, "--format", fmt]);
        go(vec!["check", "--env", p, "--format", fmt]);
        go(vec!["verify", pkg_s, "--format", fmt]);
    }
    for fmt in ["dot", "mermaid", "json"] {
        go(vec!["graph", p, "--format", fmt]);
    }
    go(vec![
        "import",
        pkg_s,
        "--env",
        p,
        "--force",
        "--restart-recipes",
        "--format",
        "json",
    ]);
    go(vec!["history", "--env", p]);
    // An error message about a damaged connection does not quote it.
    let broken = prod.join("Workspace Connections/warehouse_api.connection.json");
    std::fs::write(
        &broken,
        "{\"name\": \"Warehouse API\", \"password\": \"prod-password-9f8e7d\", ",
    )
    .unwrap();
    go(vec!["check", "--env", p]);
    go(vec!["plan", pkg_s, "--env", p]);
    for (what, text) in &outputs {
        for secret in SECRETS {
            assert!(
                !text.contains(secret),
                "{secret} appears in the output of {what}:\n{text}"
            );
        }
    }
    // Nor in the package.
    let mut a = zip::ZipArchive::new(std::fs::File::open(&pkg).unwrap()).unwrap();
    for i in 0..a.len() {
        let mut f = a.by_index(i).unwrap();
        let mut b = Vec::new();
        f.read_to_end(&mut b).unwrap();
        let text = String::from_utf8_lossy(&b);
        for secret in SECRETS {
            assert!(!text.contains(secret), "{secret} in package entry {}", f.name());
        }
    }
    // The placeholder connection created in production carries no credential.
    let created =
        std::fs::read_to_string(prod.join("Workspace Connections/slack_ops_bot.connection.json")).unwrap();
    assert!(
        !created.contains("password") && !created.contains("token"),
        "{created}"
    );
}
