//! The bundled runtime clients, written out once per server start.

use std::path::{Path, PathBuf};

use crate::RuntimeFamily;

/// The Python runtime client.
pub const PYTHON_CLIENT: &str = include_str!("clients/python_client.py");
/// The Node runtime client (CommonJS; loads ES module handlers with `import()`).
pub const NODE_CLIENT: &str = include_str!("clients/node_client.cjs");

const PYTHON_FILE: &str = "nimbus_python_client.py";
const NODE_FILE: &str = "nimbus_node_client.cjs";

pub(crate) fn install(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join(PYTHON_FILE), PYTHON_CLIENT)?;
    std::fs::write(dir.join(NODE_FILE), NODE_CLIENT)?;
    Ok(())
}

pub(crate) fn path(dir: &Path, family: RuntimeFamily) -> Option<PathBuf> {
    match family {
        RuntimeFamily::Python => Some(dir.join(PYTHON_FILE)),
        RuntimeFamily::Node => Some(dir.join(NODE_FILE)),
        RuntimeFamily::Provided => None,
    }
}
