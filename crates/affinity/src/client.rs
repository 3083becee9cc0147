//! Commands that talk to a running server over its HTTP API.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Subcommand;
use serde_json::{Value, json};

/// Where the server is and how to reach it as the master.
#[derive(clap::Args)]
pub struct Server {
    /// Base URL of the server.
    #[arg(long, env = "AFFINITY_URL", default_value = "http://127.0.0.1:7700")]
    url: String,
    /// The master key; without it, read from <data-dir>/master.key.
    #[arg(long, env = "AFFINITY_MASTER_KEY", hide_env_values = true)]
    master_key: Option<String>,
    /// The server's data directory, where master.key is looked up.
    #[arg(long, env = "AFFINITY_DATA_DIR", default_value = "./data")]
    data_dir: PathBuf,
}

impl Server {
    fn master_key(&self) -> anyhow::Result<String> {
        if let Some(k) = &self.master_key {
            return Ok(k.clone());
        }
        let path = self.data_dir.join(affinity_server::MASTER_KEY_FILE);
        let key = std::fs::read_to_string(&path)
            .with_context(|| format!("no --master-key given and {} cannot be read", path.display()))?;
        Ok(key.trim().to_string())
    }
}

#[derive(Subcommand)]
pub enum ProjectCommand {
    /// Create a project; prints its id, name and first two keys (shown only once).
    Create {
        /// Project id: [A-Za-z0-9_-]{1,64}.
        id: String,
        /// Display name (defaults to the id).
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        server: Server,
    },
    /// List projects.
    List {
        #[command(flatten)]
        server: Server,
    },
}

pub async fn project(cmd: ProjectCommand) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let (request, server) = match &cmd {
        ProjectCommand::Create { id, name, server } => {
            let mut body = json!({ "id": id });
            if let Some(n) = name {
                body["name"] = json!(n);
            }
            (client.post(format!("{}/v1/projects", server.url.trim_end_matches('/'))).json(&body), server)
        }
        ProjectCommand::List { server } => {
            (client.get(format!("{}/v1/projects", server.url.trim_end_matches('/'))), server)
        }
    };
    let response = request
        .header("x-api-key", server.master_key()?)
        .send()
        .await
        .with_context(|| format!("cannot reach the server at {}; is `affinity serve` running?", server.url))?;
    let status = response.status();
    let body: Value = response.json().await.context("reading the server's answer")?;
    if !status.is_success() {
        bail!("the server answered {status}: {body}");
    }
    println!("{}", serde_json::to_string_pretty(&body)?);
    Ok(())
}
